"""What holds for every enabled channel: docs, samples, contract and garbage resistance."""

import importlib
import json
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.settings import load_settings
from schemas.events import ContributionPaid, PaymentReversed
from tests.channels.kit import (
    DOCS,
    ChannelDriver,
    Sample,
    World,
    http_examples,
    samples,
    world,
)

ENABLED = sorted(
    slug for slug, options in load_settings().channels.items() if options.get("enabled", True)
)


def driver(slug: str) -> ChannelDriver:
    return importlib.import_module(f"tests.channels.{slug}.driver").DRIVER  # type: ignore[no-any-return]


def test_all_seven_partner_channels_are_enabled_in_the_test_config() -> None:
    assert ENABLED == ["alfamart", "bank", "bni46", "brilink", "indomaret", "perisai", "pos"]


@pytest.mark.parametrize("slug", ENABLED)
def test_each_channel_has_its_page_its_driver_and_samples(slug: str) -> None:
    assert (DOCS / f"{slug}.md").is_file()
    assert driver(slug).slug == slug
    operations = {s.operation for s in samples(slug)}
    assert {"registration", "payment"} <= operations


@pytest.mark.parametrize("slug", ENABLED)
async def test_each_channel_answers_its_samples_with_the_expected_partner_codes(
    slug: str,
) -> None:
    channel = driver(slug)
    async with world() as w:
        for sample in samples(slug):
            answer = await channel.send(w, sample.operation, sample.wire)
            assert answer.code == sample.expect_code, (sample.path.name, answer)


_CODE_FIELD = {
    "alfamart": "response_code",
    "bank": "responseCode",
    "bni46": "response_code",
    "brilink": "responseCode",
    "indomaret": "RC",
    "pos": "kodeRespon",
}
"""Where each partner reads the answer's code (the channel pages say so)."""
_ALL_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")


def _partner_paths(w: World, slug: str) -> list[tuple[str, frozenset[str]]]:
    """The channel's routes: (path, methods)."""
    router = w.channels[slug].router()
    assert router is not None
    return [
        (route.path, frozenset(route.methods or ()))
        for route in router.routes
        if isinstance(route, APIRoute)
    ]


@pytest.mark.parametrize("slug", sorted(_CODE_FIELD))
async def test_a_wrong_method_or_unknown_path_under_a_channel_prefix_is_answered_in_its_shape(
    slug: str,
) -> None:
    channel = driver(slug)
    async with world() as w:
        routes = _partner_paths(w, slug)
        assert routes, slug
        prefixes = {"/".join(path.split("/")[:3]) for path, _ in routes}
        asks = [("POST", f"{prefix}/no-such-operation") for prefix in prefixes]
        asks += [("GET", f"{prefix}/") for prefix in prefixes]
        for path, methods in routes:
            concrete = path.replace("{", "").replace("}", "")
            asks += [(m, concrete) for m in _ALL_METHODS if m not in methods][:2]
        for method, path in asks:
            response = await w.client.request(method, path, content=b"{}")
            body = response.json()
            assert set(body) != {"detail"}, (method, path, body)
            assert body.get(_CODE_FIELD[slug]) in channel.error_codes, (method, path, body)
            assert response.status_code < 500, (method, path)


def _examples(content: dict[str, Any]) -> list[Any]:
    return [
        example["value"]
        for media in content.values()
        for example in media.get("examples", {}).values()
    ]


@pytest.mark.parametrize("slug", sorted(_CODE_FIELD))
async def test_openapi_gives_every_channel_operation_its_pages_examples_and_its_refusals(
    slug: str,
) -> None:
    channel = driver(slug)
    documented = http_examples(slug)
    async with world() as w:
        spec = (await w.client.get("/openapi.json")).json()
        routes = _partner_paths(w, slug)
    for path, methods in routes:
        for method in methods:
            where = f"{method} {path}"
            operation = spec["paths"][path][method.lower()]
            answers = [
                value
                for response in operation["responses"].values()
                for value in _examples(response.get("content", {}))
            ]
            codes = {a.get(_CODE_FIELD[slug]) for a in answers if isinstance(a, dict)}
            assert codes & channel.success_codes, f"{where}: no example of an answer"
            assert codes & channel.error_codes, f"{where}: no refusal in the partner's shape"
            if method == "GET":
                continue
            requests = _examples(operation.get("requestBody", {}).get("content", {}))
            assert requests, f"{where}: no request example"
            from_page = [
                e.body.decode()
                if e.headers.get("Content-Type", "").startswith("text/")
                else json.loads(e.body)
                for e in documented
                if e.method == method and e.path == path and e.body
            ]
            assert from_page, f"{where}: the page {slug}.md shows no request"
            assert all(r in from_page for r in requests), f"{where}: an example not from the page"


async def test_the_hub_apis_hmac_scheme_is_a_security_scheme_of_every_hub_api_operation() -> None:
    async with world() as w:
        spec = (await w.client.get("/openapi.json")).json()
    schemes = spec["components"]["securitySchemes"]
    assert {s["name"] for s in schemes.values()} == {"X-Partner-Id", "X-Timestamp", "X-Signature"}
    assert "HMAC-SHA256" in schemes["signature"]["description"]
    hub_api = [
        operation
        for path, operations in spec["paths"].items()
        if path.startswith("/v1/")
        for operation in operations.values()
    ]
    assert hub_api
    for operation in hub_api:
        assert operation["security"] == [{"partnerId": [], "timestamp": [], "signature": []}]


_GARBAGE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True),
    st.text(max_size=40),
    st.text(min_size=2_000, max_size=5_000),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


@dataclass(frozen=True, slots=True)
class Mutation:
    """What was done to a valid payload: where (the field path) and how."""

    how: str
    path: tuple[str, ...]
    value: Any = None


def _mutate(wire: Any, data: st.DataObject, path: tuple[str, ...] = ()) -> tuple[Any, Mutation]:
    """A valid wire payload with one field dropped, replaced by garbage, or one field added."""
    if not isinstance(wire, dict) or not wire:
        value = data.draw(_GARBAGE)
        return value, Mutation("whole", path, value)
    mutated = dict(wire)
    key = data.draw(st.sampled_from(sorted(mutated)))
    how = data.draw(st.sampled_from(["drop", "garbage", "nested", "extra"]))
    if how == "drop":
        del mutated[key]
        return mutated, Mutation("drop", (*path, key))
    if how == "garbage":
        mutated[key] = data.draw(_GARBAGE)
        return mutated, Mutation("garbage", (*path, key), mutated[key])
    if how == "nested" and isinstance(mutated[key], dict):
        mutated[key], inner = _mutate(mutated[key], data, (*path, key))
        return mutated, inner
    extra = data.draw(st.text(min_size=1, max_size=10))
    if extra in mutated:
        return mutated, Mutation("none", path)
    mutated[extra] = data.draw(_GARBAGE)
    return mutated, Mutation("extra", (*path, extra), mutated[extra])


_LONGEST_FIELD = 1_000
"""No field of any channel holds more characters than this."""


def _may_be_valid(value: Any) -> bool:
    """Garbage that some field could legitimately hold: a whole number, or a short text."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    if isinstance(value, float):
        return value.is_integer()
    return isinstance(value, str) and len(value) <= _LONGEST_FIELD


def _may_succeed(mutation: Mutation, channel: ChannelDriver, sample: Sample) -> bool:
    """Whether the partner's page allows this mutated request to be accepted.

    A sample that is refused as it stands (both NIK and payment code, say) may be
    mended by dropping a field; one that is accepted never is.
    """
    optional = channel.optional_fields.get(sample.operation, frozenset())
    if mutation.how == "none" or (mutation.path and mutation.path[0] in optional):
        return True
    if sample.expect_code not in channel.success_codes and (
        mutation.how == "drop" or (mutation.how == "garbage" and mutation.value is None)
    ):
        return True
    if mutation.how == "extra":
        return sample.operation in channel.ignores_unknown_fields
    if mutation.how == "garbage":
        return _may_be_valid(mutation.value)
    return False


@pytest.mark.parametrize("slug", ENABLED)
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
async def test_garbage_missing_and_oversized_fields_get_the_partners_own_error_code(
    slug: str, data: st.DataObject
) -> None:
    channel = driver(slug)
    sample = data.draw(st.sampled_from(samples(slug)))
    wire, mutation = _mutate(sample.wire, data)
    async with world() as w:
        answer = await channel.send(w, sample.operation, wire)
    assert answer.code in channel.success_codes | channel.error_codes, answer
    if answer.code in channel.success_codes:
        assert _may_succeed(mutation, channel, sample), ("garbage accepted", mutation, answer)
    assert answer.code not in channel.system_error_codes, answer
    assert answer.http_status != 500, answer


_ADDRESS_FIELDS = {"alamat", "address", "Alamat", "customer_address"}


@pytest.mark.parametrize("slug", ENABLED)
@pytest.mark.parametrize("bad", ["\u0000", "\u001b", "\u007f"], ids=["NUL", "ESC", "DEL"])
async def test_a_control_character_in_an_address_is_refused_at_the_door_in_the_partners_code(
    slug: str, bad: str
) -> None:
    """The store cannot hold NUL and no KTP field holds a control character: refused before
    anything is acknowledged, in the partner's own invalid-field code, never recorded."""
    channel = driver(slug)
    sample = next(s for s in samples(slug) if s.operation == "registration")
    wire = dict(sample.wire)
    field = next(key for key in wire if key in _ADDRESS_FIELDS)
    wire[field] = f"Jl. Melati{bad}12"
    async with world() as w:
        answer = await channel.send(w, "registration", wire)
        assert w.publisher.published == [], "nothing refused may reach the broker"
    assert answer.code in channel.error_codes, answer
    assert answer.code not in channel.success_codes | channel.system_error_codes, answer


@dataclass(frozen=True)
class _Refusals:
    """A channel's codes from its page, and the payment its first reversal sample names."""

    try_again: str
    """The event store did not acknowledge (or the request is in doubt): send it again."""
    not_found: str
    """A reversal of a payment the hub never received."""
    already_reversed: str
    """A payment already reversed (or named by a reversal before it arrived)."""
    reversed_payment: str


_REFUSALS = {
    "alfamart": _Refusals("0901", "0104", "0106", reversed_payment="ALF-PAY-0001"),
    "bni46": _Refusals("91", "25", "94", reversed_payment="606902000005"),
    "brilink": _Refusals("91", "25", "95", reversed_payment="BRL-PAY-0001"),
    "indomaret": _Refusals("91", "25", "95", reversed_payment="IDM-PAY-0001"),
    "perisai": _Refusals(
        "temporarily_unavailable",
        "not_found",
        "already_reversed",
        reversed_payment="PRS-0001-S-010",
    ),
    "pos": _Refusals("91", "25", "94", reversed_payment="LKT-PAY-0001"),
}


@pytest.mark.parametrize("slug", sorted(_REFUSALS))
async def test_a_payment_answered_try_again_is_never_unknown_to_its_reversal(slug: str) -> None:
    """The broker may take a payment after the hub stopped waiting for it, and the consumer
    would then apply it: its reversal must take it back, not answer "no such payment"."""
    channel = driver(slug)
    replayed = samples(slug)
    first_reversal = next(i for i, s in enumerate(replayed) if s.operation == "reversal")
    reversal = replayed[first_reversal]
    async with world() as w:
        for sample in replayed[:first_reversal]:
            # The payment, and an advice resending it (retail), go unacknowledged.
            w.publisher.down = sample.operation in ("payment", "advice")
            answer = await channel.send(w, sample.operation, sample.wire)
            if w.publisher.down and sample.expect_code == reversal.expect_code:
                assert answer.code == _REFUSALS[slug].try_again, (sample.path.name, answer)
        w.publisher.down = True
        assert (await channel.send(w, "reversal", reversal.wire)).code == _REFUSALS[slug].try_again
        w.publisher.down = False

        answer = await channel.send(w, "reversal", reversal.wire)

        assert answer.code == reversal.expect_code, answer
        paid, reversed_ = (p.envelope for p in w.publisher.published[-2:])
        assert isinstance(paid.payload, ContributionPaid)
        assert isinstance(reversed_.payload, PaymentReversed)
        assert reversed_.payload.original_partner_ref == paid.partner_ref
        assert reversed_.payload.nik == paid.payload.nik


@pytest.mark.parametrize("slug", sorted(_REFUSALS))
async def test_a_payment_that_arrives_after_its_reversal_is_refused_as_reversed(slug: str) -> None:
    """The partner gave up on a payment and reversed it before the payment reached the hub
    (it was still on its way: another connection, a queue): told "not found", the partner
    closes the transaction, so the payment must not be applied when it does arrive."""
    codes = _REFUSALS[slug]
    channel = driver(slug)
    replayed = samples(slug)
    first_reversal = next(i for i, s in enumerate(replayed) if s.operation == "reversal")
    held_back = [s for s in replayed[:first_reversal] if s.operation in ("payment", "advice")]
    async with world() as w:
        for sample in replayed[:first_reversal]:
            if sample not in held_back:
                await channel.send(w, sample.operation, sample.wire)

        reversed_first = await channel.send(w, "reversal", replayed[first_reversal].wire)
        late = [(await channel.send(w, s.operation, s.wire)).code for s in held_back]

        assert reversed_first.code == codes.not_found, reversed_first
        assert codes.already_reversed in late, late
        paid = [p.envelope for p in w.publisher.published]
        applied = {p.partner_ref for p in paid if isinstance(p.payload, ContributionPaid)}
        assert codes.reversed_payment not in applied


@pytest.mark.parametrize("slug", ["alfamart", "brilink", "indomaret", "perisai", "pos"])
async def test_the_status_of_a_payment_answered_try_again_is_try_again_not_unknown(
    slug: str,
) -> None:
    """A payment the broker did not acknowledge in time may still be applied: its status
    cannot be "not found" (BRILink's page read "nothing was taken"), only "ask again"."""
    channel = driver(slug)
    replayed = samples(slug)
    asked = next(i for i, s in enumerate(replayed) if s.path.name.endswith("_payment_status.json"))
    async with world() as w:
        for sample in replayed[:asked]:
            w.publisher.down = sample.operation in ("payment", "advice")
            await channel.send(w, sample.operation, sample.wire)
        w.publisher.down = False

        status = await channel.send(w, replayed[asked].operation, replayed[asked].wire)

    assert status.code == _REFUSALS[slug].try_again, status
    assert status.headers["Retry-After"] == "1"


@pytest.mark.parametrize("slug", sorted(_REFUSALS))
async def test_a_payment_sent_again_while_its_reversal_is_in_doubt_is_refused_as_reversed(
    slug: str,
) -> None:
    """The reversal was told "try again" (the broker may still have taken it). The payment
    sent again (a retry, an advice) must not be told "paid": the cash would be collected
    while the reversal may yet be applied."""
    codes = _REFUSALS[slug]
    channel = driver(slug)
    replayed = samples(slug)
    first_reversal = next(i for i, s in enumerate(replayed) if s.operation == "reversal")
    named = next(
        s
        for s in replayed[:first_reversal]
        if s.operation == "payment" and codes.reversed_payment in s.wire.values()
    )
    async with world() as w:
        for sample in replayed[:first_reversal]:
            await channel.send(w, sample.operation, sample.wire)
        w.publisher.down = True
        reversal = await channel.send(w, "reversal", replayed[first_reversal].wire)
        assert reversal.code == codes.try_again, reversal
        w.publisher.down = False

        again = await channel.send(w, "payment", named.wire)

        assert again.code == codes.already_reversed, again
        assert isinstance(w.publisher.published[-1].envelope.payload, PaymentReversed)


@pytest.mark.parametrize("slug", ["alfamart", "brilink", "indomaret", "perisai", "pos"])
async def test_the_status_of_a_payment_whose_reversal_is_in_doubt_is_try_again(slug: str) -> None:
    """Not "no reversal": the partner would settle a payment whose reversal may yet apply."""
    codes = _REFUSALS[slug]
    channel = driver(slug)
    replayed = samples(slug)
    first_reversal = next(i for i, s in enumerate(replayed) if s.operation == "reversal")
    asked = next(s for s in replayed if s.path.name.endswith("_payment_status.json"))
    assert codes.reversed_payment in json.dumps(asked.wire)
    async with world() as w:
        for sample in replayed[:first_reversal]:
            await channel.send(w, sample.operation, sample.wire)
        w.publisher.down = True
        await channel.send(w, "reversal", replayed[first_reversal].wire)
        w.publisher.down = False

        status = await channel.send(w, asked.operation, asked.wire)

    assert status.code == codes.try_again, status
