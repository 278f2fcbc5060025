"""The stored event's JSON: the bytes the contract's own writer gives, for any valid values.

One fixed known answer, written out by hand; then, for generated envelopes of every event
type (times in and out of UTC, with and without microseconds, free text with quotes,
backslashes and non-ASCII, with and without an agent), the same text as
``EventEnvelope.model_dump_json()``, which intake used before.
"""

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from hub.intake.event_json import envelope_json
from hub.intake.model import Partner
from schemas.events import (
    ContributionPaid,
    EventEnvelope,
    EventPayload,
    PaymentReversed,
    RegistrationSubmitted,
)

WIB = ZoneInfo("Asia/Jakarta")


def test_a_registration_by_an_agent_is_written_as_the_contract_spells_it() -> None:
    payload = RegistrationSubmitted.model_construct(
        nik="5171044506900002",
        full_name="NI KADEK AYU",
        birth_date=date(1990, 6, 5),
        sex="F",
        phone="+6281298765432",
        address='Jl. "Melati" 7\\B, Denpasar, Bali',
        occupation="Pedagang",
        declared_income=1_500_000,
        programmes=("JKK", "JKM"),
        outlet_id=None,
    )
    written = envelope_json(
        Partner("perisai-bali", "perisai", agent_id="agen-0042"),
        UUID("0b6f1e2a-3c4d-5e6f-8a9b-0c1d2e3f4a5b"),
        "PRS-0001",
        datetime(2026, 3, 10, 8, 59, 30, tzinfo=WIB),
        datetime(2026, 3, 10, 1, 59, 30, 250000, tzinfo=UTC),
        payload,
    )
    assert written == (
        '{"event_id":"0b6f1e2a-3c4d-5e6f-8a9b-0c1d2e3f4a5b","event_type":"RegistrationSubmitted",'
        '"schema_version":1,"channel":"perisai","partner_id":"perisai-bali",'
        '"partner_ref":"PRS-0001","occurred_at":"2026-03-10T08:59:30+07:00",'
        '"received_at":"2026-03-10T01:59:30.250000Z","member_key":"5171044506900002",'
        '"payload":{"nik":"5171044506900002","full_name":"NI KADEK AYU",'
        '"birth_date":"1990-06-05","sex":"F","phone":"+6281298765432",'
        '"address":"Jl. \\"Melati\\" 7\\\\B, Denpasar, Bali","occupation":"Pedagang",'
        '"declared_income":1500000,"programmes":["JKK","JKM"],"outlet_id":null,'
        '"event_type":"RegistrationSubmitted"},"agent_id":"agen-0042"}'
    )


def test_an_event_without_an_agent_has_no_agent_field() -> None:
    at = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
    payload = ContributionPaid.model_construct(
        nik="5171044506900002",
        months=1,
        amount=16_800,
        paid_at=at,
        outlet_id="KIOS-7",
    )
    written = envelope_json(Partner("pos", "pos"), UUID(int=1), "PAY-1", at, at, payload)
    assert written.endswith(
        '"payload":{"event_type":"ContributionPaid","nik":"5171044506900002","months":1,'
        '"amount":16800,"paid_at":"2026-03-10T02:00:00Z","outlet_id":"KIOS-7"}}'
    )


ZONES = st.sampled_from(
    [
        UTC,
        WIB,
        ZoneInfo("Asia/Makassar"),
        timezone(timedelta(0)),
        timezone(timedelta(hours=7)),
        timezone(-timedelta(hours=3, minutes=30)),
    ]
)
MOMENTS = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=ZONES
) | st.datetimes(timezones=ZONES).map(lambda at: at.replace(microsecond=0))
TEXT = st.text(
    st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from('"\\/<>&\u2028é'),
    min_size=1,
    max_size=40,
)
SLUG = st.from_regex(r"[a-z0-9][a-z0-9_\-]{0,31}", fullmatch=True)
NIK = st.from_regex(r"[0-9]{16}", fullmatch=True)


@st.composite
def payloads(draw: st.DrawFn) -> EventPayload:
    nik = draw(NIK)
    outlet = draw(st.none() | TEXT)
    kind = draw(st.sampled_from(["registration", "payment", "reversal"]))
    if kind == "registration":
        return RegistrationSubmitted.model_construct(
            nik=nik,
            full_name=draw(st.from_regex(r"[A-Z][A-Z .,'\-]{0,40}", fullmatch=True)),
            birth_date=draw(st.dates(date(1940, 1, 1), date(2010, 12, 31))),
            sex=draw(st.sampled_from(["M", "F"])),
            phone=draw(st.from_regex(r"\+62[1-9][0-9]{7,11}", fullmatch=True)),
            address=draw(TEXT),
            occupation=draw(TEXT),
            declared_income=draw(st.integers(0, 10_000_000_000)),
            programmes=tuple(
                draw(st.lists(st.sampled_from(["JKK", "JKM", "JHT"]), max_size=3, unique=True))
            ),
            outlet_id=outlet,
        )
    if kind == "payment":
        return ContributionPaid.model_construct(
            nik=nik,
            months=draw(st.sampled_from([1, 3, 6, 12])),
            amount=draw(st.integers(0, 10_000_000_000)),
            paid_at=draw(MOMENTS),
            outlet_id=outlet,
        )
    return PaymentReversed.model_construct(
        nik=nik, original_partner_ref=draw(TEXT), reason=draw(TEXT), reversed_at=draw(MOMENTS)
    )


PARTNERS = st.builds(Partner, partner_id=SLUG, channel=SLUG, agent_id=st.none() | SLUG)
ENVELOPES = st.fixed_dictionaries(
    {
        "partner": PARTNERS,
        "event_id": st.uuids(),
        "partner_ref": TEXT,
        "occurred_at": MOMENTS,
        "received_at": MOMENTS,
        "payload": payloads(),
    }
)
"""``envelope_json``'s arguments, by name."""


def contract_json(values: dict[str, Any]) -> str:
    """What intake wrote before: the contract's envelope of ``values``, built and dumped."""
    partner, payload = values["partner"], values["payload"]
    return EventEnvelope.model_construct(
        event_id=values["event_id"],
        event_type=payload.event_type,
        channel=partner.channel,
        partner_id=partner.partner_id,
        partner_ref=values["partner_ref"],
        occurred_at=values["occurred_at"],
        received_at=values["received_at"],
        member_key=payload.nik,
        payload=payload,
        agent_id=partner.agent_id,
    ).model_dump_json()


@settings(max_examples=400, deadline=None)
@given(ENVELOPES)
def test_the_json_is_byte_for_byte_what_the_contract_writes(values: dict[str, Any]) -> None:
    assert envelope_json(**values) == contract_json(values)


def test_a_time_in_local_mean_time_is_written_as_the_contract_writes_it() -> None:
    # Makassar kept +07:57:36 until 1932: an offset that is not whole minutes.
    at = datetime(1920, 1, 1, 10, 0, tzinfo=ZoneInfo("Asia/Makassar"))
    payload = ContributionPaid.model_construct(
        nik="5171044506900002", months=1, amount=16_800, paid_at=at, outlet_id=None
    )
    values = {
        "partner": Partner("pos", "pos"),
        "event_id": UUID(int=2),
        "partner_ref": "PAY-1920",
        "occurred_at": at,
        "received_at": datetime(2026, 3, 10, 2, 0, tzinfo=UTC),
        "payload": payload,
    }
    assert envelope_json(**values) == contract_json(values)
