"""A retail chain's host at the counter, Indomaret and Alfamart each in its own words.

Every rule here holds for both chains and is proved for each with the codes, fields
and statuses its page documents (``tests/channels/retail.py``); what only one chain
does is in its own ``test_<slug>.py``.
"""

import dataclasses
import json
from datetime import UTC, date, datetime
from typing import Any

import msgspec
import pytest

from hub.intake.model import Partner
from hub.intake.requests import PaymentRequest
from hub.membership.kpj import kpj_for
from schemas.events import ContributionPaid, PaymentReversed, RegistrationSubmitted
from tests.channels.kit import (
    BUDI,
    BUDI_PAYMENT_CODE,
    SARI,
    SARI_PAYMENT_CODE,
    UNKNOWN_NIK,
    World,
    replay_page,
    world,
)
from tests.channels.retail import ALFAMART, CHAINS, INDOMARET, Chain
from tests.unit.fakes import JAKARTA_MAN_NIK

each_chain = pytest.mark.parametrize("chain", CHAINS, ids=lambda chain: chain.slug)


def events(w: World) -> list[str]:
    return [p.envelope.event_type for p in w.publisher.published]


def other(chain: Chain) -> Chain:
    return ALFAMART if chain is INDOMARET else INDOMARET


@each_chain
async def test_every_documented_example_is_answered_exactly_as_shown(chain: Chain) -> None:
    assert len(await replay_page(chain.slug)) >= 15


@each_chain
async def test_inquiry_by_payment_code_shows_the_masked_name_months_and_amount(
    chain: Chain,
) -> None:
    async with world() as w:
        answer = await chain.send(w, "inquiry", chain.inquiry(SARI_PAYMENT_CODE, 3))
    said = chain.word
    assert (answer.http_status, answer.code) == (200, chain.code("ok"))
    assert answer.body[said("masked_name")] == "N* M*** S***"
    assert answer.body[said("kpj")] == SARI.kpj
    assert (answer.body[said("period_from")], answer.body[said("period_to")]) == (
        "2026-03",
        "2026-05",
    )
    assert (answer.body[said("monthly_amount")], answer.body[said("amount")]) == (16800, 50400)
    assert SARI.nik not in json.dumps(answer.body)


@each_chain
async def test_inquiry_by_nik_names_the_members_payment_code_for_the_receipt(
    chain: Chain,
) -> None:
    async with world() as w:
        answer = await chain.send(w, "inquiry", chain.inquiry(JAKARTA_MAN_NIK))
    said = chain.word
    assert answer.code == chain.code("ok")
    assert answer.body[said("member_payment_code")] == BUDI_PAYMENT_CODE
    assert (answer.body[said("months")], answer.body[said("amount")]) == (1, 66800)
    assert answer.body[said("member_status")] == chain.says["inactive"]


@each_chain
async def test_a_new_registration_can_be_priced_and_paid_by_nik_before_it_has_a_kpj(
    chain: Chain,
) -> None:
    said = chain.word
    nik = chain.registration[said("nik")]
    async with world() as w:
        assert (await chain.send(w, "registration", chain.registration)).code == chain.code("ok")
        bill = await chain.send(w, "inquiry", chain.inquiry(nik))
        payment = {
            **chain.payment,
            said("reference"): chain.payment[said("reference")].replace("0001", "NEW"),
            said("member"): nik,
            said("amount"): chain.new_member_amount,
        }
        paid = await chain.send(w, "payment", payment)
    assert bill.code == chain.code("ok")
    assert bill.body[said("member_status")] == chain.says["pending"]
    assert (bill.body[said("amount")], bill.body[said("kpj")]) == (chain.new_member_amount, None)
    assert paid.code == chain.code("ok")


@each_chain
async def test_registration_is_published_as_the_person_with_the_store_as_outlet(
    chain: Chain,
) -> None:
    async with world() as w:
        answer = await chain.send(w, "registration", chain.registration)
        envelope = w.publisher.published[0].envelope
    assert answer.code == chain.code("ok")
    assert answer.body[chain.word("hub_reference")].startswith("REG-")
    assert (envelope.channel, envelope.partner_id, envelope.partner_ref) == (
        chain.slug,
        chain.slug,
        chain.registration[chain.word("reference")],
    )
    registration = envelope.payload
    assert isinstance(registration, RegistrationSubmitted)
    for name, value in chain.registered.items():
        assert getattr(registration, name) == value, name


@each_chain
async def test_registration_status_shows_the_kpj_and_payment_code_once_recorded(
    chain: Chain,
) -> None:
    said = chain.word
    reference = chain.registration[said("reference")]
    async with world() as w:
        await chain.send(w, "registration", chain.registration)
        ask = chain.ask_status("registration", reference)
        before = await chain.send(w, "status", ask)
        key = (chain.slug, "registration", reference)
        w.ledger.requests[key] = msgspec.structs.replace(
            w.ledger.requests[key], status="recorded", kpj=kpj_for(3)
        )
        after = await chain.send(w, "status", ask)
    assert (before.body[said("status")], before.body[said("kpj")]) == (
        chain.says["accepted"],
        None,
    )
    assert (after.body[said("status")], after.body[said("kpj")]) == (
        chain.says["recorded"],
        kpj_for(3),
    )
    assert after.body[said("member_payment_code")] == "8866" + kpj_for(3)


@each_chain
async def test_payment_is_published_with_the_store_time_in_utc_and_the_store(
    chain: Chain,
) -> None:
    async with world() as w:
        answer = await chain.send(w, "payment", chain.payment)
        payment = w.publisher.published[0].envelope.payload
    assert answer.code == chain.code("ok")
    assert isinstance(payment, ContributionPaid)
    assert payment.nik == SARI.nik
    assert payment.paid_at == datetime(2026, 3, 10, 1, 59, 30, tzinfo=UTC)
    store = {"indomaret": "TDPS07", "alfamart": "A0456"}[chain.slug]
    assert (payment.amount, payment.months, payment.outlet_id) == (16800, 1, store)


@each_chain
@pytest.mark.parametrize("retry", ["payment", "advice"])
async def test_payment_retried_after_a_timeout_answers_the_original_reference_and_applies_once(
    chain: Chain, retry: str
) -> None:
    async with world() as w:
        first = await chain.send(w, "payment", chain.payment)
        again = await chain.send(w, retry, chain.payment)
        assert events(w) == ["ContributionPaid"]
    assert first.code == again.code == chain.code("ok")
    assert again.body == first.body
    reference = chain.word("reference")
    assert again.body[reference] == chain.payment[reference]


@each_chain
async def test_payment_not_acknowledged_is_a_retry_and_its_advice_applies_it_once(
    chain: Chain,
) -> None:
    async with world() as w:
        w.publisher.down = True
        refused = await chain.send(w, "payment", chain.payment)
        w.publisher.down = False
        advised = await chain.send(w, "advice", chain.payment)
        again = await chain.send(w, "advice", chain.payment)
        assert events(w) == ["ContributionPaid"]
    assert (refused.http_status, refused.code) == chain.answer("retry")
    assert refused.headers["Retry-After"] == "7"
    assert advised.code == again.code == chain.code("ok")
    assert advised.body == again.body


@each_chain
async def test_reversal_takes_the_payment_back_and_a_repeat_gets_the_same_answer(
    chain: Chain,
) -> None:
    said = chain.word
    reversal = {**chain.reversal, said("reason"): chain.says["reason"]}
    paid_ref = chain.payment[said("reference")]
    async with world() as w:
        await chain.send(w, "payment", chain.payment)
        first = await chain.send(w, "reversal", reversal)
        again = await chain.send(w, "reversal", reversal)
        status = await chain.send(w, "status", chain.ask_status("payment", paid_ref))
        assert events(w) == ["ContributionPaid", "PaymentReversed"]
        envelope = w.publisher.published[1].envelope
    reversed_payment = envelope.payload
    if chain is ALFAMART:
        assert envelope.partner_ref == chain.reversal["trx_id"]
    assert first.code == again.code == chain.code("ok")
    assert first.body == again.body
    assert isinstance(reversed_payment, PaymentReversed)
    assert (reversed_payment.original_partner_ref, reversed_payment.reason) == (
        paid_ref,
        chain.says["reason"],
    )
    reference = said("hub_reference")
    assert status.body[said("reversal")][reference] == first.body[reference]


@each_chain
async def test_reversal_of_a_payment_never_received_is_original_not_found_and_changes_nothing(
    chain: Chain,
) -> None:
    async with world() as w:
        answer = await chain.send(w, "reversal", chain.reversal)
        assert events(w) == []
    assert (answer.http_status, answer.code) == chain.answer("original_not_found")
    assert answer.body[chain.word("text")] == chain.says["original_not_found"]


@each_chain
async def test_reversal_of_a_payment_the_broker_never_acknowledged_takes_it_back(
    chain: Chain,
) -> None:
    # The broker may have taken the payment after the hub stopped waiting (its producer
    # delivers it later) and the consumer would apply it: "original not found" would let
    # the host close the transaction with the payment standing. Until this was found, this
    # test asserted that very answer.
    async with world() as w:
        w.publisher.down = True
        assert (await chain.send(w, "payment", chain.payment)).code == chain.code("retry")
        assert (await chain.send(w, "reversal", chain.reversal)).code == chain.code("retry")
        w.publisher.down = False
        answer = await chain.send(w, "reversal", chain.reversal)
        assert events(w) == ["ContributionPaid", "PaymentReversed"]
    assert answer.code == chain.code("ok")


@each_chain
async def test_reversal_with_another_amount_is_a_wrong_amount_and_reverses_nothing(
    chain: Chain,
) -> None:
    async with world() as w:
        await chain.send(w, "payment", chain.payment)
        other_amount = {**chain.reversal, chain.word("amount"): 33600}
        answer = await chain.send(w, "reversal", other_amount)
        assert events(w) == ["ContributionPaid"]
    assert answer.code == chain.code("wrong_amount")
    assert answer.body[chain.word("original_amount")] == 16800
    if chain is ALFAMART:
        assert answer.body["errors"][0]["field"] == "amount"


@each_chain
async def test_reversal_after_the_payments_business_day_is_closed_is_not_reversible(
    chain: Chain,
) -> None:
    async with world() as w:
        await chain.send(w, "payment", chain.payment)
        w.ledger.close_day_of(chain.slug, chain.payment[chain.word("reference")])
        answer = await chain.send(w, "reversal", chain.reversal)
    assert answer.code == chain.code("not_reversible")
    if chain is ALFAMART:
        assert answer.body["errors"] == [{"field": "original_trx_id", "reason": "settled"}]


@each_chain
async def test_wrong_amount_is_refused_with_the_amount_due(chain: Chain) -> None:
    said = chain.word
    async with world() as w:
        budi = {**chain.payment, said("member"): BUDI_PAYMENT_CODE, said("amount"): 16800}
        answer = await chain.send(w, "payment", budi)
        assert events(w) == []
    assert (answer.http_status, answer.code) == chain.answer("wrong_amount")
    assert answer.body[said("amount_due")] == 66800


@each_chain
async def test_unknown_payment_code_or_nik_is_an_unknown_bill(chain: Chain) -> None:
    async with world() as w:
        by_code = await chain.send(w, "inquiry", chain.inquiry("886600000000034"))
        by_nik = await chain.send(w, "inquiry", chain.inquiry(UNKNOWN_NIK))
        not_ours = await chain.send(w, "inquiry", chain.inquiry("123456789012345"))
    assert by_code.code == by_nik.code == not_ours.code == chain.code("unknown_bill")
    assert by_code.http_status == chain.answer("unknown_bill")[0]


@each_chain
async def test_paying_beyond_the_furthest_month_ahead_is_already_paid(chain: Chain) -> None:
    paid_ahead = dataclasses.replace(SARI, paid_through=date(2027, 1, 1))
    async with world(members=(paid_ahead, BUDI)) as w:
        answer = await chain.send(w, "inquiry", chain.inquiry(SARI_PAYMENT_CODE, 3))
    assert (answer.http_status, answer.code) == chain.answer("already_paid")


@each_chain
async def test_same_reference_for_a_different_payment_is_a_duplicate(chain: Chain) -> None:
    said = chain.word
    async with world() as w:
        await chain.send(w, "payment", chain.payment)
        budi = {**chain.payment, said("member"): BUDI_PAYMENT_CODE, said("amount"): 66800}
        answer = await chain.send(w, "payment", budi)
        assert events(w) == ["ContributionPaid"]
    assert (answer.http_status, answer.code) == chain.answer("duplicate")


MALFORMED_PAYMENTS = [
    (INDOMARET, {"Nominal": "16800"}, "Nominal"),
    (INDOMARET, {"TglTransaksi": "2026-03-10 08:59:30"}, "TglTransaksi"),
    (INDOMARET, {"JumlahBulan": 2}, "JumlahBulan"),
    (INDOMARET, {"KodeBayar": "88A6"}, "KodeBayar"),
    (INDOMARET, {"NoTransaksi": ""}, "NoTransaksi"),
    (INDOMARET, {"Catatan": "x"}, "Catatan"),
    (ALFAMART, {"datetime": "2026-03-10T09:59:30"}, "datetime"),
    (ALFAMART, {"datetime": "0001-01-01T00:00:00+07:00"}, "datetime"),
    (ALFAMART, {"months": 2}, "months"),
    (ALFAMART, {"payment_code": "88A6"}, "payment_code"),
    (ALFAMART, {"trx_id": ""}, "trx_id"),
    (ALFAMART, {"store_code": None}, "store_code"),
]


@pytest.mark.parametrize(("chain", "change", "field"), MALFORMED_PAYMENTS, ids=str)
async def test_malformed_payment_is_a_format_error_naming_the_partners_field(
    chain: Chain, change: dict[str, Any], field: str
) -> None:
    async with world() as w:
        answer = await chain.send(w, "payment", {**chain.payment, **change})
    assert answer.code == chain.code("format_error"), answer
    assert field in chain.named(answer)
    if chain is ALFAMART:
        assert [e["field"] for e in answer.body["errors"]] == [field]


@each_chain
async def test_registration_whose_nik_contradicts_the_person_is_a_format_error(
    chain: Chain,
) -> None:
    said = chain.word
    async with world() as w:
        sex = {**chain.registration, said("sex"): chain.says["other_sex"]}
        answer = await chain.send(w, "registration", sex)
        income = {**chain.registration, said("income"): 1_234_567}
        bracket = await chain.send(w, "registration", income)
    assert answer.code == bracket.code == chain.code("format_error")
    assert "does not match the NIK" in answer.body[said("detail")]
    assert "not a bracket" in bracket.body[said("detail")]
    if chain is ALFAMART:
        assert bracket.body["errors"][0]["field"] == "income"


@each_chain
async def test_bad_signature_is_refused_as_unauthorised(chain: Chain) -> None:
    async with world() as w:
        answer = await chain.send(w, "inquiry", chain.inquiry(SARI_PAYMENT_CODE), secret="wrong")
    assert (answer.http_status, answer.code) == chain.answer("bad_signature")


@each_chain
async def test_unsigned_request_is_a_401_refused_as_unauthorised(chain: Chain) -> None:
    async with world() as w:
        response = await w.client.post(
            f"/{chain.slug}/v1/inquiry", json={chain.word("member"): "1"}
        )
    code = response.json()[chain.driver.code_field]
    assert (response.status_code, code) == (401, chain.code("bad_signature"))
    if chain is ALFAMART:
        assert response.headers["WWW-Authenticate"] == "ALFA"


@each_chain
@pytest.mark.parametrize("stranger", ["other chain", "demo"])
async def test_a_partner_of_another_channel_is_refused(chain: Chain, stranger: str) -> None:
    partner = other(chain).slug if stranger == "other chain" else "demo"
    async with world() as w:
        answer = await chain.send_as(w, "payment", chain.payment, partner, f"{partner}-secret")
        assert events(w) == []
    assert answer.code == chain.code("bad_signature")


@each_chain
async def test_a_partner_sees_only_its_own_transactions(chain: Chain) -> None:
    reference = chain.payment[chain.word("reference")]
    async with world() as w:
        request = PaymentRequest(
            reference=reference,
            payment_code=SARI_PAYMENT_CODE,
            months=1,
            amount=16800,
            paid_at=w.clock(),
        )
        stranger = other(chain).slug
        await w.intake.submit_payment(Partner(stranger, stranger), request)
        status = await chain.send(w, "status", chain.ask_status("payment", reference))
        reversal = await chain.send(w, "reversal", chain.reversal)
    assert status.code == reversal.code == chain.code("original_not_found")


@each_chain
async def test_an_unexpected_failure_is_a_system_error_in_the_chains_terms(
    chain: Chain, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with world() as w:

        async def broken(*_: object) -> None:
            raise RuntimeError("disk on fire")

        monkeypatch.setattr(w.intake, "inquiry", broken)
        answer = await chain.send(w, "inquiry", chain.inquiry(SARI_PAYMENT_CODE))
    assert (answer.http_status, answer.code) == chain.answer("system_error")
    assert "disk" not in json.dumps(answer.body)


@each_chain
async def test_status_of_a_malformed_reference_is_a_format_error_and_of_an_unknown_one_not_found(
    chain: Chain,
) -> None:
    async with world() as w:
        bad = await chain.send(w, "status", chain.ask_status("payment", "x" * 65))
        unknown = [
            await chain.send(w, "status", chain.ask_status(kind, "X-UNKNOWN"))
            for kind in ("payment", "registration")
        ]
    assert bad.code == chain.code("format_error")
    assert [u.code for u in unknown] == [chain.code("original_not_found")] * 2
    assert chain.word("reference") in chain.named(bad)
    if chain is ALFAMART:
        assert [e["field"] for e in bad.body["errors"]] == ["trx_id"]
