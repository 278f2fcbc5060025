"""Alfamart's host at the counter: inquiry, payment, advice, reversal, registration, status."""

import dataclasses
import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from hub.intake.model import Partner
from hub.intake.requests import PaymentRequest
from hub.membership.kpj import kpj_for
from schemas.events import ContributionPaid, PaymentReversed, RegistrationSubmitted
from tests.channels.alfamart.driver import post, signature, signed_headers
from tests.channels.alfamart.examples import NEW_MEMBER_NIK, PAGE, REGISTRATION
from tests.channels.kit import (
    BUDI,
    BUDI_PAYMENT_CODE,
    SARI,
    SARI_PAYMENT_CODE,
    UNKNOWN_NIK,
    WireAnswer,
    World,
    http_examples,
    replay_page,
    world,
)
from tests.unit.fakes import JAKARTA_MAN_NIK

PAYMENT = {
    "trx_id": "ALF-T-0001",
    "store_code": "A0456",
    "payment_code": SARI_PAYMENT_CODE,
    "months": 1,
    "amount": 16800,
    "datetime": "2026-03-10T09:59:30+08:00",
}
REVERSAL = {"trx_id": "ALF-R-0001", "original_trx_id": "ALF-T-0001", "amount": 16800}


async def send(w: World, operation: str, wire: Any, **signing: str) -> WireAnswer:
    return await post(w.client, operation, wire, w.clock(), **signing)


def events(w: World) -> list[str]:
    return [p.envelope.event_type for p in w.publisher.published]


async def test_every_documented_example_is_answered_exactly_as_shown() -> None:
    assert len(await replay_page("alfamart")) >= 15


def test_the_worked_signature_is_the_first_documented_request() -> None:
    first = http_examples("alfamart")[0]
    timestamp = first.headers["X-Alfa-Timestamp"]
    expected = signature("alfamart-secret", first.path, timestamp, first.body)
    assert first.headers["Authorization"] == f"ALFA alfamart:{expected}"
    page = PAGE.read_text()
    assert f"`{first.body.decode()}`" in page
    assert f"`{expected}`" in page


async def test_inquiry_by_payment_code_shows_the_masked_name_months_and_amount() -> None:
    async with world() as w:
        answer = await send(w, "inquiry", {"payment_code": SARI_PAYMENT_CODE, "months": 3})
    assert (answer.http_status, answer.code) == (200, "0000")
    assert answer.body["customer_name"] == "N* M*** S***"
    assert answer.body["kpj"] == SARI.kpj
    assert (answer.body["period_from"], answer.body["period_to"]) == ("2026-03", "2026-05")
    assert (answer.body["monthly_amount"], answer.body["amount"]) == (16800, 3 * 16800)
    assert SARI.nik not in json.dumps(answer.body)


async def test_inquiry_by_nik_names_the_members_payment_code_for_the_receipt() -> None:
    async with world() as w:
        answer = await send(w, "inquiry", {"payment_code": JAKARTA_MAN_NIK})
    assert answer.code == "0000"
    assert answer.body["member_payment_code"] == BUDI_PAYMENT_CODE
    assert (answer.body["months"], answer.body["amount"]) == (1, 66800)
    assert answer.body["member_status"] == "INACTIVE"


async def test_a_new_registration_can_be_priced_and_paid_by_nik_before_it_has_a_kpj() -> None:
    async with world() as w:
        assert (await send(w, "registration", REGISTRATION)).code == "0000"
        bill = await send(w, "inquiry", {"payment_code": NEW_MEMBER_NIK})
        paid = await send(
            w,
            "payment",
            {**PAYMENT, "trx_id": "ALF-T-NEW", "payment_code": NEW_MEMBER_NIK, "amount": 51800},
        )
    assert (bill.code, bill.body["member_status"], bill.body["amount"]) == (
        "0000",
        "PENDING",
        51800,
    )
    assert paid.code == "0000"


async def test_registration_is_published_as_the_person_with_the_store_as_outlet() -> None:
    async with world() as w:
        answer = await send(w, "registration", REGISTRATION)
        envelope = w.publisher.published[0].envelope
    assert answer.code == "0000"
    assert answer.body["ref_no"].startswith("REG-")
    assert (envelope.channel, envelope.partner_id, envelope.partner_ref) == (
        "alfamart",
        "alfamart",
        REGISTRATION["trx_id"],
    )
    registration = envelope.payload
    assert isinstance(registration, RegistrationSubmitted)
    assert (registration.sex, registration.birth_date) == ("M", date(1988, 8, 17))
    assert registration.programmes == ("JKK", "JKM", "JHT")
    assert (registration.declared_income, registration.outlet_id) == (1_500_000, "A0123")


async def test_registration_status_shows_the_kpj_and_payment_code_once_recorded() -> None:
    async with world() as w:
        await send(w, "registration", REGISTRATION)
        ask = {"trx_id": REGISTRATION["trx_id"], "trx_type": "registration"}
        before = await send(w, "status", ask)
        key = ("alfamart", "registration", REGISTRATION["trx_id"])
        w.ledger.requests[key] = dataclasses.replace(
            w.ledger.requests[key], status="recorded", kpj=kpj_for(3)
        )
        after = await send(w, "status", ask)
    assert (before.body["status"], before.body["kpj"]) == ("ACCEPTED", None)
    assert (after.body["status"], after.body["kpj"]) == ("RECORDED", kpj_for(3))
    assert after.body["member_payment_code"] == "8866" + kpj_for(3)


async def test_payment_is_published_with_the_store_time_in_utc_and_the_store() -> None:
    async with world() as w:
        answer = await send(w, "payment", PAYMENT)
        payment = w.publisher.published[0].envelope.payload
    assert answer.code == "0000"
    assert isinstance(payment, ContributionPaid)
    assert payment.nik == SARI.nik
    assert payment.paid_at == datetime(2026, 3, 10, 1, 59, 30, tzinfo=UTC)
    assert (payment.amount, payment.months, payment.outlet_id) == (16800, 1, "A0456")


@pytest.mark.parametrize("retry", ["payment", "advice"])
async def test_payment_retried_after_a_timeout_answers_the_original_reference_and_applies_once(
    retry: str,
) -> None:
    async with world() as w:
        first = await send(w, "payment", PAYMENT)
        again = await send(w, retry, PAYMENT)
        assert events(w) == ["ContributionPaid"]
    assert first.code == again.code == "0000"
    assert again.body == first.body
    assert again.body["trx_id"] == PAYMENT["trx_id"]


async def test_payment_not_acknowledged_is_0901_and_its_advice_applies_it_once() -> None:
    async with world() as w:
        w.publisher.down = True
        response = await w.client.post(
            "/alfamart/v1/payment",
            content=json.dumps(PAYMENT).encode(),
            headers=_headers(w, "/alfamart/v1/payment", json.dumps(PAYMENT).encode()),
        )
        w.publisher.down = False
        advised = await send(w, "advice", PAYMENT)
        again = await send(w, "advice", PAYMENT)
        assert events(w) == ["ContributionPaid"]
    assert (response.status_code, response.json()["response_code"]) == (503, "0901")
    assert response.headers["Retry-After"] == "7"
    assert advised.code == again.code == "0000"
    assert advised.body == again.body


async def test_reversal_takes_the_payment_back_and_a_repeat_gets_the_same_answer() -> None:
    async with world() as w:
        await send(w, "payment", PAYMENT)
        first = await send(w, "reversal", {**REVERSAL, "reason": "store timeout"})
        again = await send(w, "reversal", {**REVERSAL, "reason": "store timeout"})
        status = await send(w, "status", {"trx_id": PAYMENT["trx_id"], "trx_type": "payment"})
        assert events(w) == ["ContributionPaid", "PaymentReversed"]
        reversal = w.publisher.published[1].envelope
    assert first.code == again.code == "0000"
    assert first.body == again.body
    assert isinstance(reversal.payload, PaymentReversed)
    assert reversal.partner_ref == REVERSAL["trx_id"]
    assert reversal.payload.original_partner_ref == PAYMENT["trx_id"]
    assert reversal.payload.reason == "store timeout"
    assert status.body["reversal"]["ref_no"] == first.body["ref_no"]


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


async def test_reversal_of_a_payment_never_received_is_0104_and_changes_nothing() -> None:
    async with world() as w:
        answer = await send(w, "reversal", REVERSAL)
        assert events(w) == []
    assert (answer.http_status, answer.code) == (404, "0104")


async def test_reversal_with_another_amount_is_0103_and_reverses_nothing() -> None:
    async with world() as w:
        await send(w, "payment", PAYMENT)
        answer = await send(w, "reversal", {**REVERSAL, "amount": 33600})
        assert events(w) == ["ContributionPaid"]
    assert answer.code == "0103"
    assert answer.body["original_amount"] == 16800
    assert answer.body["errors"][0]["field"] == "amount"


async def test_reversal_after_the_payments_business_day_is_closed_is_0105() -> None:
    async with world() as w:
        await send(w, "payment", PAYMENT)
        w.ledger.close_day_of("alfamart", PAYMENT["trx_id"])
        answer = await send(w, "reversal", REVERSAL)
    assert answer.code == "0105"
    assert answer.body["errors"] == [{"field": "original_trx_id", "reason": "settled"}]


async def test_wrong_amount_is_0103_with_the_amount_due() -> None:
    async with world() as w:
        answer = await send(
            w, "payment", {**PAYMENT, "payment_code": BUDI_PAYMENT_CODE, "amount": 16800}
        )
        assert events(w) == []
    assert (answer.http_status, answer.code) == (422, "0103")
    assert answer.body["amount_due"] == 66800


async def test_unknown_payment_code_or_nik_is_0101() -> None:
    async with world() as w:
        by_code = await send(w, "inquiry", {"payment_code": "886600000000034"})
        by_nik = await send(w, "inquiry", {"payment_code": UNKNOWN_NIK})
    assert by_code.code == by_nik.code == "0101"


async def test_paying_beyond_the_furthest_month_ahead_is_0102() -> None:
    paid_ahead = dataclasses.replace(SARI, paid_through=date(2027, 1, 1))
    async with world(members=(paid_ahead, BUDI)) as w:
        answer = await send(w, "inquiry", {"payment_code": SARI_PAYMENT_CODE, "months": 3})
    assert (answer.http_status, answer.code) == (422, "0102")


async def test_same_trx_id_for_a_different_payment_is_0107() -> None:
    async with world() as w:
        await send(w, "payment", PAYMENT)
        answer = await send(
            w, "payment", {**PAYMENT, "payment_code": BUDI_PAYMENT_CODE, "amount": 66800}
        )
        assert events(w) == ["ContributionPaid"]
    assert (answer.http_status, answer.code) == (409, "0107")


async def test_missing_fields_are_0201_and_malformed_ones_0202() -> None:
    async with world() as w:
        missing = await send(w, "payment", {k: v for k, v in PAYMENT.items() if k != "months"})
        malformed = await send(w, "payment", {**PAYMENT, "amount": 16800.0})
        unknown = await send(w, "payment", {**PAYMENT, "note": "x"})
    assert (missing.code, missing.body["errors"][0]["field"]) == ("0201", "months")
    assert (malformed.code, malformed.body["errors"][0]["field"]) == ("0202", "amount")
    assert (unknown.code, unknown.body["errors"][0]["field"]) == ("0202", "note")
    assert missing.http_status == malformed.http_status == 400


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"datetime": "2026-03-10T09:59:30"}, "datetime"),
        ({"datetime": "0001-01-01T00:00:00+07:00"}, "datetime"),
        ({"months": 2}, "months"),
        ({"payment_code": "88A6"}, "payment_code"),
        ({"trx_id": ""}, "trx_id"),
        ({"store_code": None}, "store_code"),
    ],
)
async def test_malformed_payment_names_the_partners_field(
    change: dict[str, Any], field: str
) -> None:
    async with world() as w:
        answer = await send(w, "payment", {**PAYMENT, **change})
    assert answer.code == "0202", answer
    assert [e["field"] for e in answer.body["errors"]] == [field]


async def test_registration_whose_nik_contradicts_the_person_is_0202() -> None:
    async with world() as w:
        answer = await send(w, "registration", {**REGISTRATION, "gender": "F"})
        income = await send(w, "registration", {**REGISTRATION, "income": 1_234_567})
    assert answer.code == income.code == "0202"
    assert "does not match the NIK" in answer.body["detail"]
    assert income.body["errors"][0]["field"] == "income"


async def test_bad_signature_is_0301() -> None:
    async with world() as w:
        answer = await send(w, "inquiry", {"payment_code": SARI_PAYMENT_CODE}, secret="wrong")
    assert (answer.http_status, answer.code) == (401, "0301")


async def test_a_signature_for_another_path_is_0301() -> None:
    async with world() as w:
        body = json.dumps({"payment_code": SARI_PAYMENT_CODE}).encode()
        response = await w.client.post(
            "/alfamart/v1/inquiry", content=body, headers=_headers(w, "/alfamart/v1/payment", body)
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


async def test_unsigned_request_is_0301() -> None:
    async with world() as w:
        response = await w.client.post("/alfamart/v1/inquiry", json={"payment_code": "1"})
    assert (response.status_code, response.json()["response_code"]) == (401, "0301")
    assert response.headers["WWW-Authenticate"] == "ALFA"


@pytest.mark.parametrize(
    ("partner_id", "secret"), [("indomaret", "indomaret-secret"), ("demo", "demo-secret")]
)
async def test_a_partner_of_another_channel_is_refused_on_alfamart(
    partner_id: str, secret: str
) -> None:
    async with world() as w:
        answer = await send(w, "payment", PAYMENT, partner_id=partner_id, secret=secret)
        assert events(w) == []
    assert answer.code == "0301"


async def test_a_partner_sees_only_its_own_transactions() -> None:
    async with world() as w:
        request = PaymentRequest(
            reference="ALF-T-0001",
            payment_code=SARI_PAYMENT_CODE,
            months=1,
            amount=16800,
            paid_at=w.clock(),
        )
        await w.intake.submit_payment(Partner("indomaret", "indomaret"), request)
        status = await send(w, "status", {"trx_id": "ALF-T-0001", "trx_type": "payment"})
        reversal = await send(w, "reversal", REVERSAL)
    assert status.code == reversal.code == "0104"


async def test_an_unexpected_failure_is_0999_in_alfamarts_terms(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with world() as w:

        async def broken(*_: object) -> None:
            raise RuntimeError("disk on fire")

        monkeypatch.setattr(w.intake, "inquiry", broken)
        answer = await send(w, "inquiry", {"payment_code": SARI_PAYMENT_CODE})
    assert (answer.http_status, answer.code) == (500, "0999")
    assert "disk" not in json.dumps(answer.body)


def _headers(w: World, path: str, body: bytes) -> dict[str, str]:
    return signed_headers(path, body, w.clock())


async def test_status_of_a_malformed_trx_id_is_0202_and_of_an_unknown_one_0104() -> None:
    async with world() as w:
        bad = await send(w, "status", {"trx_id": "x" * 65, "trx_type": "payment"})
        unknown = await send(w, "status", {"trx_id": "ALF-X", "trx_type": "registration"})
    assert (bad.code, unknown.code) == ("0202", "0104")
    assert [e["field"] for e in bad.body["errors"]] == ["trx_id"]
