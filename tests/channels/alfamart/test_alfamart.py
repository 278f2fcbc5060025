"""What only Alfamart's host does: its signature, reversals under their own trx_id,
missing and malformed fields told apart. What both chains do is proved for both in
``tests/channels/test_retail_counter.py``."""

import json

from tests.channels.alfamart.driver import signature, signed_headers
from tests.channels.alfamart.examples import PAGE
from tests.channels.kit import WireAnswer, World, http_examples, world
from tests.channels.retail import ALFAMART

PAYMENT = ALFAMART.payment
REVERSAL = ALFAMART.reversal


async def send(w: World, operation: str, wire: object) -> WireAnswer:
    return await ALFAMART.send(w, operation, wire)


def events(w: World) -> list[str]:
    return [p.envelope.event_type for p in w.publisher.published]


def test_the_worked_signature_is_the_first_documented_request() -> None:
    first = http_examples("alfamart")[0]
    timestamp = first.headers["X-Alfa-Timestamp"]
    expected = signature("alfamart-secret", first.path, timestamp, first.body)
    assert first.headers["Authorization"] == f"ALFA alfamart:{expected}"
    page = PAGE.read_text()
    assert f"`{first.body.decode()}`" in page
    assert f"`{expected}`" in page


async def test_the_status_names_the_reversal_by_its_own_trx_id_for_reconciliation() -> None:
    async with world() as w:
        await send(w, "payment", PAYMENT)
        await send(w, "reversal", REVERSAL)
        status = await send(w, "status", {"trx_id": PAYMENT["trx_id"], "trx_type": "payment"})
    assert status.body["trx_id"] == PAYMENT["trx_id"]
    assert status.body["reversal"]["trx_id"] == REVERSAL["trx_id"]


async def test_a_second_reversal_of_a_reversed_payment_is_0106() -> None:
    async with world() as w:
        await send(w, "payment", PAYMENT)
        await send(w, "reversal", REVERSAL)
        answer = await send(w, "reversal", {**REVERSAL, "trx_id": "ALF-R-0002"})
        assert events(w) == ["ContributionPaid", "PaymentReversed"]
    assert (answer.http_status, answer.code) == (409, "0106")


async def test_a_reversal_trx_id_reused_for_another_payment_is_0107_and_voids_nothing() -> None:
    async with world() as w:
        await send(w, "payment", PAYMENT)
        await send(w, "payment", {**PAYMENT, "trx_id": "ALF-T-0002"})
        first = await send(w, "reversal", REVERSAL)
        reused = await send(w, "reversal", {**REVERSAL, "original_trx_id": "ALF-T-0002"})
        status = await send(w, "status", {"trx_id": "ALF-T-0002", "trx_type": "payment"})
        assert events(w) == ["ContributionPaid", "ContributionPaid", "PaymentReversed"]
    assert first.code == "0000"
    assert (reused.http_status, reused.code) == (409, "0107")
    assert status.body["reversal"] is None


async def test_missing_fields_are_0201_and_malformed_ones_0202() -> None:
    async with world() as w:
        missing = await send(w, "payment", {k: v for k, v in PAYMENT.items() if k != "months"})
        malformed = await send(w, "payment", {**PAYMENT, "amount": 16800.0})
        unknown = await send(w, "payment", {**PAYMENT, "note": "x"})
    assert (missing.code, missing.body["errors"][0]["field"]) == ("0201", "months")
    assert (malformed.code, malformed.body["errors"][0]["field"]) == ("0202", "amount")
    assert (unknown.code, unknown.body["errors"][0]["field"]) == ("0202", "note")
    assert missing.http_status == malformed.http_status == 400


async def test_a_signature_for_another_path_is_0301() -> None:
    async with world() as w:
        body = json.dumps({"payment_code": PAYMENT["payment_code"]}).encode()
        response = await w.client.post(
            "/alfamart/v1/inquiry",
            content=body,
            headers=signed_headers("/alfamart/v1/payment", body, w.clock()),
        )
    assert response.json()["response_code"] == "0301"


async def test_stale_or_offsetless_timestamp_is_0301_even_when_correctly_signed() -> None:
    async with world() as w:
        body = b'{"payment_code":"886600000000018"}'
        answers = []
        for stamp in ("2026-03-10T08:54:00+07:00", "2026-03-10T09:00:00"):
            sig = signature("alfamart-secret", "/alfamart/v1/inquiry", stamp, body)
            response = await w.client.post(
                "/alfamart/v1/inquiry",
                content=body,
                headers={"Authorization": f"ALFA alfamart:{sig}", "X-Alfa-Timestamp": stamp},
            )
            answers.append(response.json())
    assert [a["response_code"] for a in answers] == ["0301", "0301"]
    assert all("X-Alfa-Timestamp" in a["detail"] for a in answers)
