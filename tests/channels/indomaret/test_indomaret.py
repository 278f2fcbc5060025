"""Indomaret's host at the counter: inquiry, payment, advice, reversal, registration, status."""

import dataclasses
import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from hub.intake.model import Partner
from hub.intake.requests import PaymentRequest
from hub.membership.kpj import kpj_for
from schemas.events import ContributionPaid, PaymentReversed, RegistrationSubmitted
from tests.channels.indomaret.driver import post, signature
from tests.channels.indomaret.examples import NEW_MEMBER_NIK, PAGE, REGISTRATION
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
    "NoTransaksi": "IDM-T-0001",
    "KodeBayar": SARI_PAYMENT_CODE,
    "KodeToko": "TDPS07",
    "JumlahBulan": 1,
    "Nominal": 16800,
    "TglTransaksi": "20260310085930",
}
REVERSAL = {"NoTransaksi": "IDM-T-0001", "KodeToko": "TDPS07", "Nominal": 16800}


async def send(w: World, operation: str, wire: Any, **signing: str) -> WireAnswer:
    return await post(w.client, operation, wire, w.clock(), **signing)


def events(w: World) -> list[str]:
    return [p.envelope.event_type for p in w.publisher.published]


async def test_every_documented_example_is_answered_exactly_as_shown() -> None:
    assert len(await replay_page("indomaret")) >= 15


def test_the_worked_signature_is_the_first_documented_request() -> None:
    first = http_examples("indomaret")[0]
    timestamp = first.headers["X-Indomaret-Timestamp"]
    expected = signature("indomaret-secret", first.body, timestamp)
    assert first.headers["X-Indomaret-Signature"] == expected
    page = PAGE.read_text()
    assert f"`{first.body.decode()}{timestamp}`" in page
    assert f"`{expected}`" in page


async def test_inquiry_by_payment_code_shows_the_masked_name_months_and_amount() -> None:
    async with world() as w:
        answer = await send(w, "inquiry", {"KodeBayar": SARI_PAYMENT_CODE, "JumlahBulan": 3})
    assert answer.code == "00"
    assert answer.body["NamaPeserta"] == "N* M*** S***"
    assert answer.body["NoKPJ"] == SARI.kpj
    assert (answer.body["PeriodeAwal"], answer.body["PeriodeAkhir"]) == ("2026-03", "2026-05")
    assert (answer.body["IuranPerBulan"], answer.body["Nominal"]) == (16800, 3 * 16800)
    assert SARI.nik not in json.dumps(answer.body)


async def test_inquiry_by_nik_names_the_members_payment_code_for_the_receipt() -> None:
    async with world() as w:
        answer = await send(w, "inquiry", {"KodeBayar": JAKARTA_MAN_NIK})
    assert answer.code == "00"
    assert answer.body["KodeBayarPeserta"] == BUDI_PAYMENT_CODE
    assert answer.body["JumlahBulan"] == 1
    assert answer.body["Nominal"] == 66800
    assert answer.body["StatusPeserta"] == "TIDAK AKTIF"


async def test_a_new_registration_can_be_priced_and_paid_by_nik_before_it_has_a_kpj() -> None:
    async with world() as w:
        assert (await send(w, "registration", REGISTRATION)).code == "00"
        bill = await send(w, "inquiry", {"KodeBayar": NEW_MEMBER_NIK})
        paid = await send(
            w,
            "payment",
            {**PAYMENT, "NoTransaksi": "IDM-T-NEW", "KodeBayar": NEW_MEMBER_NIK},
        )
    assert (bill.code, bill.body["StatusPeserta"], bill.body["NoKPJ"]) == ("00", "MENUNGGU", None)
    assert paid.code == "00"


async def test_registration_is_published_as_the_person_with_the_store_as_outlet() -> None:
    async with world() as w:
        answer = await send(w, "registration", REGISTRATION)
        envelope = w.publisher.published[0].envelope
    assert answer.code == "00"
    assert answer.body["NoReferensi"].startswith("REG-")
    assert (envelope.channel, envelope.partner_id, envelope.partner_ref) == (
        "indomaret",
        "indomaret",
        REGISTRATION["NoTransaksi"],
    )
    registration = envelope.payload
    assert isinstance(registration, RegistrationSubmitted)
    assert registration.sex == "F"
    assert registration.birth_date == date(1992, 6, 15)
    assert registration.full_name == "SITI RAHMAWATI"
    assert registration.phone == "+6281298765432"
    assert registration.programmes == ("JKK", "JKM")
    assert registration.outlet_id == "TJKT01"


async def test_registration_status_shows_the_kpj_and_payment_code_once_recorded() -> None:
    async with world() as w:
        await send(w, "registration", REGISTRATION)
        ask = {"NoTransaksi": REGISTRATION["NoTransaksi"], "JenisTransaksi": "REGISTRASI"}
        before = await send(w, "status", ask)
        key = ("indomaret", "registration", REGISTRATION["NoTransaksi"])
        w.ledger.requests[key] = dataclasses.replace(
            w.ledger.requests[key], status="recorded", kpj=kpj_for(3)
        )
        after = await send(w, "status", ask)
    assert (before.body["Status"], before.body["NoKPJ"]) == ("DITERIMA", None)
    assert (after.body["Status"], after.body["NoKPJ"]) == ("TERCATAT", kpj_for(3))
    assert after.body["KodeBayarPeserta"] == "8866" + kpj_for(3)


async def test_payment_is_published_with_the_host_time_in_utc_and_the_store() -> None:
    async with world() as w:
        answer = await send(w, "payment", PAYMENT)
        envelope = w.publisher.published[0].envelope
    assert answer.code == "00"
    payment = envelope.payload
    assert isinstance(payment, ContributionPaid)
    assert payment.nik == SARI.nik
    assert payment.paid_at == datetime(2026, 3, 10, 1, 59, 30, tzinfo=UTC)
    assert (payment.amount, payment.months, payment.outlet_id) == (16800, 1, "TDPS07")


@pytest.mark.parametrize("retry", ["payment", "advice"])
async def test_payment_retried_after_a_timeout_answers_the_original_reference_and_applies_once(
    retry: str,
) -> None:
    async with world() as w:
        first = await send(w, "payment", PAYMENT)
        again = await send(w, retry, PAYMENT)
        assert events(w) == ["ContributionPaid"]
    assert first.code == again.code == "00"
    assert again.body == first.body
    assert again.body["NoTransaksi"] == PAYMENT["NoTransaksi"]


async def test_payment_not_acknowledged_is_91_and_its_advice_applies_it_once() -> None:
    async with world() as w:
        w.publisher.down = True
        refused = await send(w, "payment", PAYMENT)
        w.publisher.down = False
        advised = await send(w, "advice", PAYMENT)
        again = await send(w, "advice", PAYMENT)
        assert events(w) == ["ContributionPaid"]
    assert refused.code == "91"
    assert refused.http_status == 200
    assert advised.code == again.code == "00"
    assert advised.body == again.body


async def test_reversal_takes_the_payment_back_and_a_repeat_gets_the_same_answer() -> None:
    async with world() as w:
        await send(w, "payment", PAYMENT)
        first = await send(w, "reversal", {**REVERSAL, "Alasan": "timeout di kasir"})
        again = await send(w, "reversal", {**REVERSAL, "Alasan": "timeout di kasir"})
        status = await send(
            w, "status", {"NoTransaksi": PAYMENT["NoTransaksi"], "JenisTransaksi": "PEMBAYARAN"}
        )
        assert events(w) == ["ContributionPaid", "PaymentReversed"]
        reversal = w.publisher.published[1].envelope.payload
    assert first.code == again.code == "00"
    assert first.body == again.body
    assert isinstance(reversal, PaymentReversed)
    assert (reversal.original_partner_ref, reversal.reason) == ("IDM-T-0001", "timeout di kasir")
    assert status.body["Pembatalan"]["NoReferensi"] == first.body["NoReferensi"]


@pytest.mark.parametrize("retry", ["advice", "payment"])
async def test_an_advice_after_the_reversal_is_rc_95_already_reversed_not_a_new_notransaksi(
    retry: str,
) -> None:
    async with world() as w:
        await send(w, "payment", PAYMENT)
        await send(w, "reversal", REVERSAL)
        advised = await send(w, retry, PAYMENT)
        assert events(w) == ["ContributionPaid", "PaymentReversed"]
    assert (advised.code, advised.body["Keterangan"]) == (
        "95",
        "Transaksi sudah dibatalkan, jangan terima uang",
    )


async def test_reversal_of_a_payment_never_received_is_25_and_changes_nothing() -> None:
    async with world() as w:
        answer = await send(w, "reversal", REVERSAL)
        assert events(w) == []
    assert answer.code == "25"
    assert answer.body["Keterangan"] == "Transaksi asal tidak ditemukan"


async def test_reversal_of_a_payment_the_broker_never_acknowledged_is_25() -> None:
    async with world() as w:
        w.publisher.down = True
        assert (await send(w, "payment", PAYMENT)).code == "91"
        w.publisher.down = False
        answer = await send(w, "reversal", REVERSAL)
        assert events(w) == []
    assert answer.code == "25"


async def test_reversal_with_another_amount_is_13_and_reverses_nothing() -> None:
    async with world() as w:
        await send(w, "payment", PAYMENT)
        answer = await send(w, "reversal", {**REVERSAL, "Nominal": 33600})
        assert events(w) == ["ContributionPaid"]
    assert answer.code == "13"
    assert answer.body["NominalTransaksiAsal"] == 16800


async def test_reversal_after_the_payments_business_day_is_closed_is_12() -> None:
    async with world() as w:
        await send(w, "payment", PAYMENT)
        w.ledger.close_day_of("indomaret", PAYMENT["NoTransaksi"])
        answer = await send(w, "reversal", REVERSAL)
    assert answer.code == "12"


async def test_wrong_amount_is_13_with_the_amount_due() -> None:
    async with world() as w:
        answer = await send(
            w, "payment", {**PAYMENT, "KodeBayar": BUDI_PAYMENT_CODE, "Nominal": 16800}
        )
        assert events(w) == []
    assert answer.code == "13"
    assert answer.body["NominalTagihan"] == 66800


async def test_unknown_payment_code_or_nik_is_14() -> None:
    async with world() as w:
        by_code = await send(w, "inquiry", {"KodeBayar": "886600000000034"})
        by_nik = await send(w, "inquiry", {"KodeBayar": UNKNOWN_NIK})
        not_ours = await send(w, "inquiry", {"KodeBayar": "123456789012345"})
    assert by_code.code == by_nik.code == not_ours.code == "14"


async def test_paying_beyond_the_furthest_month_ahead_is_88() -> None:
    paid_ahead = dataclasses.replace(SARI, paid_through=date(2027, 1, 1))
    async with world(members=(paid_ahead, BUDI)) as w:
        answer = await send(w, "inquiry", {"KodeBayar": SARI_PAYMENT_CODE, "JumlahBulan": 3})
    assert answer.code == "88"


async def test_same_notransaksi_for_a_different_payment_is_94() -> None:
    async with world() as w:
        await send(w, "payment", PAYMENT)
        answer = await send(
            w, "payment", {**PAYMENT, "KodeBayar": BUDI_PAYMENT_CODE, "Nominal": 66800}
        )
        assert events(w) == ["ContributionPaid"]
    assert answer.code == "94"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"Nominal": "16800"}, "Nominal"),
        ({"TglTransaksi": "2026-03-10 08:59:30"}, "TglTransaksi"),
        ({"JumlahBulan": 2}, "JumlahBulan"),
        ({"KodeBayar": "88A6"}, "KodeBayar"),
        ({"NoTransaksi": ""}, "NoTransaksi"),
        ({"Catatan": "x"}, "Catatan"),
    ],
)
async def test_malformed_payment_is_30_naming_the_partners_field(
    change: dict[str, Any], field: str
) -> None:
    async with world() as w:
        answer = await send(w, "payment", {**PAYMENT, **change})
    assert answer.code == "30", answer
    assert field in answer.body["Detail"]


async def test_registration_whose_nik_contradicts_the_person_is_30() -> None:
    async with world() as w:
        answer = await send(w, "registration", {**REGISTRATION, "JenisKelamin": "L"})
        income = await send(w, "registration", {**REGISTRATION, "Penghasilan": 1_234_567})
    assert answer.code == income.code == "30"
    assert "does not match the NIK" in answer.body["Detail"]
    assert "not a bracket" in income.body["Detail"]


async def test_bad_signature_is_63() -> None:
    async with world() as w:
        answer = await send(w, "inquiry", {"KodeBayar": SARI_PAYMENT_CODE}, secret="wrong")
    assert answer.code == "63"


async def test_stale_timestamp_is_63_even_when_correctly_signed() -> None:
    async with world() as w:
        body = b'{"KodeBayar":"886600000000018"}'
        stale = "20260310085400"
        response = await w.client.post(
            "/indomaret/v1/inquiry",
            content=body,
            headers={
                "X-Indomaret-Client-Id": "indomaret",
                "X-Indomaret-Timestamp": stale,
                "X-Indomaret-Signature": signature("indomaret-secret", body, stale),
            },
        )
    assert response.json()["RC"] == "63"
    assert "X-Indomaret-Timestamp" in response.json()["Detail"]


async def test_unsigned_request_is_a_401_with_rc_63() -> None:
    async with world() as w:
        response = await w.client.post("/indomaret/v1/inquiry", json={"KodeBayar": "1"})
    assert (response.status_code, response.json()["RC"]) == (401, "63")


@pytest.mark.parametrize(
    ("client_id", "secret"), [("alfamart", "alfamart-secret"), ("demo", "demo-secret")]
)
async def test_a_partner_of_another_channel_is_refused_on_indomaret(
    client_id: str, secret: str
) -> None:
    async with world() as w:
        answer = await send(w, "payment", PAYMENT, client_id=client_id, secret=secret)
        assert events(w) == []
    assert answer.code == "63"


async def test_a_partner_sees_only_its_own_transactions() -> None:
    async with world() as w:
        await w.intake.submit_payment(*_alfamart_payment(w, "IDM-T-0001"))
        status = await send(
            w, "status", {"NoTransaksi": "IDM-T-0001", "JenisTransaksi": "PEMBAYARAN"}
        )
        reversal = await send(w, "reversal", REVERSAL)
    assert status.code == reversal.code == "25"


async def test_an_unexpected_failure_is_96_in_indomarets_terms(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with world() as w:

        async def broken(*_: object) -> None:
            raise RuntimeError("disk on fire")

        monkeypatch.setattr(w.intake, "inquiry", broken)
        answer = await send(w, "inquiry", {"KodeBayar": SARI_PAYMENT_CODE})
    assert (answer.http_status, answer.code) == (200, "96")
    assert "disk" not in json.dumps(answer.body)


def _alfamart_payment(w: World, reference: str) -> tuple[Partner, PaymentRequest]:
    request = PaymentRequest(
        reference=reference,
        payment_code=SARI_PAYMENT_CODE,
        months=1,
        amount=16800,
        paid_at=w.clock(),
    )
    return Partner("alfamart", "alfamart"), request


async def test_status_of_a_malformed_notransaksi_is_30_and_of_an_unknown_one_25() -> None:
    async with world() as w:
        bad = await send(w, "status", {"NoTransaksi": "x" * 65, "JenisTransaksi": "PEMBAYARAN"})
        unknown = await send(w, "status", {"NoTransaksi": "IDM-X", "JenisTransaksi": "PEMBAYARAN"})
    assert (bad.code, unknown.code) == ("30", "25")
    assert "NoTransaksi" in bad.body["Detail"]
