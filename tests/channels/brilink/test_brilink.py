"""Agen BRILink: BRI's signed host-to-host JSON, its flows and its response codes."""

import base64
import dataclasses
import hashlib
import hmac
import json
import logging
import re
from datetime import date, timedelta
from typing import Any

import msgspec
import pytest

from adapters.brilink.wire import DESCRIPTION, HTTP_STATUS, ResponseCode
from schemas.events import ContributionPaid, PaymentReversed, RegistrationSubmitted
from tests.channels.brilink.driver import PATHS, SECRET, bri_signature, post, signed_headers
from tests.channels.brilink.examples import NEW_MEMBER_NIK, PAYMENT, REGISTRATION
from tests.channels.kit import (
    DOCS,
    SARI,
    SARI_PAYMENT_CODE,
    WORLD_NOW,
    World,
    http_examples,
    replay_page,
    world,
)
from tests.unit.fakes import BALI_WOMAN_NIK

INQUIRY = {"nik": BALI_WOMAN_NIK, "months": 1}
REVERSAL = {
    "journalSeq": "BRL-REV-0001",
    "origJournalSeq": PAYMENT["journalSeq"],
    "remark": "cash returned to customer",
}


def events(w: World) -> list[Any]:
    return [p.envelope for p in w.publisher.published]


async def raw_post(w: World, path: str, body: bytes, headers: dict[str, str]) -> Any:
    response = await w.client.post(path, content=body, headers=headers)
    return response.status_code, response.json()


# --- signature and replay window ---------------------------------------------------


async def test_a_request_signed_with_the_bri_secret_is_approved() -> None:
    async with world() as w:
        answer = await post(w.client, "inquiry", INQUIRY, WORLD_NOW)
    assert (answer.code, answer.http_status) == ("00", 200)
    assert answer.body["data"]["amount"] == 16_800


async def test_a_request_signed_with_another_secret_is_refused_as_unauthorised() -> None:
    async with world() as w:
        answer = await post(w.client, "payment", PAYMENT, WORLD_NOW, secret="bni-secret")
        assert events(w) == []
    assert (answer.code, answer.http_status) == ("63", 401)
    assert answer.body["responseDescription"] == "Unauthorized"


async def test_a_body_changed_after_signing_is_refused() -> None:
    path = PATHS["payment"]
    signed = json.dumps(PAYMENT).encode()
    tampered = json.dumps({**PAYMENT, "months": 3, "amount": 50_400}).encode()
    async with world() as w:
        status, body = await raw_post(w, path, tampered, signed_headers(path, signed, WORLD_NOW))
        assert events(w) == []
    assert (status, body["responseCode"]) == (401, "63")


async def test_a_signature_made_for_another_path_is_refused() -> None:
    body = json.dumps(INQUIRY).encode()
    headers = signed_headers(PATHS["inquiry"], body, WORLD_NOW)
    async with world() as w:
        status, answer = await raw_post(w, PATHS["payment_status"], body, headers)
    assert (status, answer["responseCode"]) == (401, "63")


@pytest.mark.parametrize("dropped", ["BRI-Client-Id", "BRI-Timestamp", "BRI-Signature"])
async def test_a_request_without_each_signature_header_is_refused(dropped: str) -> None:
    body = json.dumps(INQUIRY).encode()
    headers = signed_headers(PATHS["inquiry"], body, WORLD_NOW)
    del headers[dropped]
    async with world() as w:
        status, answer = await raw_post(w, PATHS["inquiry"], body, headers)
    assert (status, answer["responseCode"]) == (401, "63")
    assert dropped in answer["errorMessage"]


@pytest.mark.parametrize(
    ("client_id", "secret"),
    [("indomaret", "indomaret-secret"), ("demo", "demo-secret"), ("nobody", "bri-secret")],
)
async def test_a_partner_of_another_channel_is_unknown_here(client_id: str, secret: str) -> None:
    async with world() as w:
        answer = await post(
            w.client, "payment", PAYMENT, WORLD_NOW, client_id=client_id, secret=secret
        )
        assert events(w) == []
    assert (answer.code, answer.body["errorMessage"]) == ("63", "unknown BRI-Client-Id")


@pytest.mark.parametrize(
    ("offset_s", "code"),
    [(-300, "00"), (300, "00"), (-301, "63"), (301, "63"), (-86_400, "63")],
)
async def test_a_timestamp_is_accepted_up_to_300_seconds_off_the_hubs_clock(
    offset_s: int, code: str
) -> None:
    async with world() as w:
        answer = await post(w.client, "inquiry", INQUIRY, WORLD_NOW + timedelta(seconds=offset_s))
    assert answer.code == code


@pytest.mark.parametrize(
    "timestamp", ["2026-03-10T02:00:00", "1773108000", "10/03/2026 09:00", "2026-03-10T02:00Zoo"]
)
async def test_a_timestamp_without_a_zone_or_not_iso_8601_is_refused(timestamp: str) -> None:
    body = json.dumps(INQUIRY).encode()
    headers = signed_headers(PATHS["inquiry"], body, WORLD_NOW)
    headers["BRI-Timestamp"] = timestamp  # signed over the bad value: only the format is wrong
    headers["BRI-Signature"] = bri_signature(
        "bri-secret", PATHS["inquiry"], "POST", "bri", timestamp, body
    )
    async with world() as w:
        status, answer = await raw_post(w, PATHS["inquiry"], body, headers)
    assert (status, answer["responseCode"]) == (401, "63")
    assert "BRI-Timestamp" in answer["errorMessage"]


async def test_the_same_instant_in_wib_is_accepted() -> None:
    body = json.dumps(INQUIRY).encode()
    timestamp = "2026-03-10T09:00:00+07:00"
    headers = {
        "BRI-Client-Id": "bri",
        "BRI-Timestamp": timestamp,
        "BRI-Signature": bri_signature(
            "bri-secret", PATHS["inquiry"], "POST", "bri", timestamp, body
        ),
        "Content-Type": "application/json",
    }
    async with world() as w:
        status, answer = await raw_post(w, PATHS["inquiry"], body, headers)
    assert (status, answer["responseCode"]) == (200, "00")


# --- registration -------------------------------------------------------------------


async def test_a_registration_becomes_a_canonical_event_in_the_hubs_terms() -> None:
    async with world() as w:
        answer = await post(w.client, "registration", REGISTRATION, WORLD_NOW)
        (event,) = events(w)
    assert answer.code == "00"
    assert answer.body["data"]["journalSeq"] == REGISTRATION["journalSeq"]
    assert answer.body["data"]["hubReference"].startswith("REG-")
    assert (event.channel, event.partner_id, event.partner_ref) == (
        "brilink",
        "bri",
        REGISTRATION["journalSeq"],
    )
    payload = event.payload
    assert isinstance(payload, RegistrationSubmitted)
    assert (payload.nik, payload.full_name, payload.sex) == (NEW_MEMBER_NIK, "SITI RAHMAWATI", "F")
    assert (payload.birth_date, payload.phone) == (date(1992, 6, 15), "+6281234567891")
    assert (payload.declared_income, payload.programmes) == (1_000_000, ("JKK", "JKM"))
    assert payload.outlet_id == REGISTRATION["agentId"]


async def test_a_registration_status_shows_the_kpj_and_briva_no_once_recorded() -> None:
    async with world() as w:
        await post(w.client, "registration", REGISTRATION, WORLD_NOW)
        status = {"journalSeq": REGISTRATION["journalSeq"]}
        before = await post(w.client, "registration_status", status, WORLD_NOW)
        key = ("bri", "registration", REGISTRATION["journalSeq"])
        w.ledger.requests[key] = msgspec.structs.replace(
            w.ledger.requests[key], status="recorded", kpj="00000000034"
        )
        after = await post(w.client, "registration_status", status, WORLD_NOW)
    assert (before.body["data"]["status"], before.body["data"]["kpj"]) == ("ACCEPTED", None)
    assert after.body["data"]["status"] == "RECORDED"
    assert (after.body["data"]["kpj"], after.body["data"]["brivaNo"]) == (
        "00000000034",
        "886600000000034",
    )


async def test_a_missing_registration_field_is_named_in_bri_terms() -> None:
    wire = {k: v for k, v in REGISTRATION.items() if k != "declaredIncome"}
    async with world() as w:
        answer = await post(w.client, "registration", wire, WORLD_NOW)
    assert (answer.code, answer.http_status) == ("31", 400)
    assert answer.body["errorDetails"] == [{"field": "declaredIncome", "reason": "Field required"}]


async def test_an_income_outside_the_brackets_is_invalid_format_named_declared_income() -> None:
    async with world() as w:
        answer = await post(
            w.client, "registration", {**REGISTRATION, "declaredIncome": 1_234_567}, WORLD_NOW
        )
        assert events(w) == []
    assert answer.code == "30"
    assert [d["field"] for d in answer.body["errorDetails"]] == ["declaredIncome"]


async def test_an_unknown_programme_is_named_by_its_place_in_programs() -> None:
    async with world() as w:
        answer = await post(
            w.client, "registration", {**REGISTRATION, "programs": ["JKK", "JP"]}, WORLD_NOW
        )
    assert answer.code == "30"
    assert answer.body["errorDetails"][0]["field"] == "programs.1"


# --- inquiry --------------------------------------------------------------------------


async def test_inquiry_by_nik_and_by_briva_no_give_the_same_bill() -> None:
    async with world() as w:
        by_nik = await post(w.client, "inquiry", {"nik": SARI.nik, "months": 3}, WORLD_NOW)
        by_code = await post(
            w.client, "inquiry", {"brivaNo": SARI_PAYMENT_CODE, "months": 3}, WORLD_NOW
        )
    assert by_nik.body == by_code.body
    data = by_nik.body["data"]
    assert (data["brivaNo"], data["amount"], data["monthlyAmount"]) == (
        SARI_PAYMENT_CODE,
        50_400,
        16_800,
    )
    assert (data["coverFrom"], data["coverThrough"], data["custName"]) == (
        "2026-03",
        "2026-05",
        "N* M*** S***",
    )


async def test_naming_the_member_both_by_nik_and_briva_no_is_invalid_format() -> None:
    wire = {"nik": SARI.nik, "brivaNo": SARI_PAYMENT_CODE, "months": 1}
    async with world() as w:
        answer = await post(w.client, "inquiry", wire, WORLD_NOW)
    assert answer.code == "30"


async def test_an_unknown_briva_no_is_bill_not_found() -> None:
    async with world() as w:
        answer = await post(
            w.client, "inquiry", {"brivaNo": "886600000000000", "months": 1}, WORLD_NOW
        )
    assert (answer.code, answer.http_status) == ("14", 404)


async def test_months_other_than_1_3_6_or_12_are_invalid_format() -> None:
    async with world() as w:
        answer = await post(w.client, "inquiry", {**INQUIRY, "months": 2}, WORLD_NOW)
    assert answer.code == "30"
    assert answer.body["errorDetails"][0]["field"] == "months"


# --- payment --------------------------------------------------------------------------


async def test_a_payment_carries_the_agents_time_in_utc_and_its_agent_id() -> None:
    async with world() as w:
        answer = await post(w.client, "payment", PAYMENT, WORLD_NOW)
        (event,) = events(w)
    assert answer.code == "00"
    assert answer.body["data"]["status"] == "ACCEPTED"
    payload = event.payload
    assert isinstance(payload, ContributionPaid)
    assert (payload.nik, payload.months, payload.amount) == (BALI_WOMAN_NIK, 1, 16_800)
    assert payload.paid_at.isoformat() == "2026-03-10T01:58:30+00:00"
    assert payload.outlet_id == PAYMENT["agentId"]


async def test_a_payment_resent_after_a_timeout_is_approved_with_the_original_reference() -> None:
    async with world() as w:
        first = await post(w.client, "payment", PAYMENT, WORLD_NOW)
        # The agent's timeout fired before it saw the answer; BRI's host resends later.
        resent = await post(w.client, "payment", PAYMENT, WORLD_NOW + timedelta(seconds=40))
        assert len(events(w)) == 1
    assert (resent.code, resent.http_status) == ("00", 200)
    assert resent.body == first.body
    assert resent.body["data"]["journalSeq"] == PAYMENT["journalSeq"]


async def test_a_payment_the_broker_did_not_acknowledge_is_retryable_then_applied_once() -> None:
    async with world() as w:
        w.publisher.down = True
        refused = await post(w.client, "payment", PAYMENT, WORLD_NOW)
        w.publisher.down = False
        resent = await post(w.client, "payment", PAYMENT, WORLD_NOW + timedelta(seconds=10))
        status = await post(
            w.client, "payment_status", {"journalSeq": PAYMENT["journalSeq"]}, WORLD_NOW
        )
        published = events(w)
    assert (refused.code, refused.http_status) == ("91", 503)
    assert refused.body["responseDescription"] == "Temporarily unavailable, please retry"
    assert resent.code == "00"
    assert status.body["data"]["hubReference"] == resent.body["data"]["hubReference"]
    assert len(published) == 1


async def test_the_retry_after_header_tells_how_long_to_wait() -> None:
    async with world() as w:
        w.publisher.down = True
        body = json.dumps(PAYMENT).encode()
        response = await w.client.post(
            PATHS["payment"],
            content=body,
            headers=signed_headers(PATHS["payment"], body, WORLD_NOW),
        )
    assert response.headers["Retry-After"] == "7"


async def test_the_same_journal_seq_for_another_payment_is_a_duplicate() -> None:
    async with world() as w:
        await post(w.client, "payment", PAYMENT, WORLD_NOW)
        answer = await post(
            w.client, "payment", {**PAYMENT, "months": 3, "amount": 50_400}, WORLD_NOW
        )
        assert len(events(w)) == 1
    assert (answer.code, answer.http_status) == ("94", 409)


async def test_a_wrong_amount_is_refused_with_the_amount_due() -> None:
    async with world() as w:
        answer = await post(w.client, "payment", {**PAYMENT, "amount": 16_000}, WORLD_NOW)
        assert events(w) == []
    assert (answer.code, answer.body["data"]) == ("13", {"amount": 16_800})


async def test_an_amount_sent_as_text_or_decimal_is_invalid_format() -> None:
    async with world() as w:
        as_text = await post(w.client, "payment", {**PAYMENT, "amount": "16800"}, WORLD_NOW)
        as_decimal = await post(w.client, "payment", {**PAYMENT, "amount": 16800.5}, WORLD_NOW)
    assert (as_text.code, as_decimal.code) == ("30", "30")


async def test_paying_beyond_the_furthest_month_allowed_ahead_is_bill_already_paid() -> None:
    paid_far_ahead = dataclasses.replace(SARI, paid_through=date(2027, 3, 1))
    async with world(members=(paid_far_ahead,)) as w:
        answer = await post(w.client, "payment", PAYMENT, WORLD_NOW)
        inquiry = await post(w.client, "inquiry", INQUIRY, WORLD_NOW)
    assert (answer.code, inquiry.code) == ("88", "88")
    assert answer.body["responseDescription"] == "Bill already paid"


async def test_a_payment_for_a_member_registered_moments_ago_is_accepted() -> None:
    wire = {**PAYMENT, "journalSeq": "BRL-PAY-NEW", "nik": NEW_MEMBER_NIK}
    async with world() as w:
        assert (await post(w.client, "registration", REGISTRATION, WORLD_NOW)).code == "00"
        answer = await post(w.client, "payment", wire, WORLD_NOW)
    assert answer.code == "00"


# --- reversal and status --------------------------------------------------------------


async def test_a_reversal_is_published_and_shown_in_the_payment_status() -> None:
    async with world() as w:
        await post(w.client, "payment", PAYMENT, WORLD_NOW)
        answer = await post(w.client, "reversal", REVERSAL, WORLD_NOW)
        status = await post(
            w.client, "payment_status", {"journalSeq": PAYMENT["journalSeq"]}, WORLD_NOW
        )
        _, reversal = events(w)
    assert answer.code == "00"
    assert answer.body["data"]["origJournalSeq"] == PAYMENT["journalSeq"]
    assert isinstance(reversal.payload, PaymentReversed)
    assert reversal.partner_ref == REVERSAL["journalSeq"]
    assert reversal.payload.original_partner_ref == PAYMENT["journalSeq"]
    assert reversal.payload.reason == REVERSAL["remark"]
    assert status.body["data"]["reversal"] == {
        "journalSeq": REVERSAL["journalSeq"],
        "hubReference": answer.body["data"]["hubReference"],
        "status": "ACCEPTED",
        "reason": None,
    }


async def test_a_reversal_of_an_unknown_payment_is_original_transaction_not_found() -> None:
    async with world() as w:
        answer = await post(w.client, "reversal", REVERSAL, WORLD_NOW)
        assert events(w) == []
    assert (answer.code, answer.http_status) == ("25", 404)
    assert answer.body["responseDescription"] == "Original transaction not found"


async def test_a_reversal_of_another_agents_host_payment_is_not_found_either() -> None:
    async with world() as w:
        await post(w.client, "payment", PAYMENT, WORLD_NOW)
        key = ("bri", "payment", PAYMENT["journalSeq"])
        w.ledger.requests[("someone-else", "payment", PAYMENT["journalSeq"])] = (
            w.ledger.requests.pop(key)
        )
        answer = await post(w.client, "reversal", REVERSAL, WORLD_NOW)
    assert answer.code == "25"


async def test_a_second_reversal_is_already_reversed_and_a_resent_one_is_approved() -> None:
    async with world() as w:
        await post(w.client, "payment", PAYMENT, WORLD_NOW)
        first = await post(w.client, "reversal", REVERSAL, WORLD_NOW)
        resent = await post(w.client, "reversal", REVERSAL, WORLD_NOW + timedelta(seconds=30))
        second = await post(
            w.client, "reversal", {**REVERSAL, "journalSeq": "BRL-REV-0002"}, WORLD_NOW
        )
        assert len(events(w)) == 2
    assert (first.code, resent.code) == ("00", "00")
    assert resent.body == first.body
    assert (second.code, second.http_status) == ("95", 409)


async def test_a_journal_seq_reused_to_reverse_another_payment_is_94_and_voids_nothing() -> None:
    other_payment = {**PAYMENT, "journalSeq": "BRL-PAY-0002"}
    async with world() as w:
        await post(w.client, "payment", PAYMENT, WORLD_NOW)
        await post(w.client, "payment", other_payment, WORLD_NOW)
        first = await post(w.client, "reversal", REVERSAL, WORLD_NOW)
        reused = await post(
            w.client, "reversal", {**REVERSAL, "origJournalSeq": "BRL-PAY-0002"}, WORLD_NOW
        )
        status = await post(w.client, "payment_status", {"journalSeq": "BRL-PAY-0002"}, WORLD_NOW)
        assert [e.event_type for e in events(w)] == [
            "ContributionPaid",
            "ContributionPaid",
            "PaymentReversed",
        ]
    assert first.code == "00"
    assert (reused.code, reused.http_status) == ("94", 409)
    assert status.body["data"]["reversal"] is None


async def test_a_reversal_after_the_business_day_is_closed_is_not_reversible() -> None:
    async with world() as w:
        await post(w.client, "payment", PAYMENT, WORLD_NOW)
        w.ledger.close_day_of("bri", PAYMENT["journalSeq"])
        answer = await post(w.client, "reversal", REVERSAL, WORLD_NOW)
    assert (answer.code, answer.http_status) == ("12", 400)
    assert answer.body["errorDetails"] == [{"field": "origJournalSeq", "reason": "settled"}]


async def test_a_reversal_of_a_payment_the_store_rejected_is_not_reversible() -> None:
    async with world() as w:
        await post(w.client, "payment", PAYMENT, WORLD_NOW)
        key = ("bri", "payment", PAYMENT["journalSeq"])
        w.ledger.requests[key] = msgspec.structs.replace(
            w.ledger.requests[key], status="rejected", reason="member unknown"
        )
        answer = await post(w.client, "reversal", REVERSAL, WORLD_NOW)
    assert answer.code == "12"


async def test_the_status_of_an_unknown_journal_seq_is_original_transaction_not_found() -> None:
    async with world() as w:
        payment = await post(w.client, "payment_status", {"journalSeq": "NOPE"}, WORLD_NOW)
        registration = await post(
            w.client, "registration_status", {"journalSeq": "NOPE"}, WORLD_NOW
        )
    assert (payment.code, registration.code) == ("25", "25")


# --- malformed messages and the unexpected ---------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b"[1, 2]", b'{"nik": "5171044508900001", "months": 1, "jornalSeq": "x"}'],
)
async def test_bodies_that_are_not_a_brilink_message_are_invalid_format(body: bytes) -> None:
    async with world() as w:
        status, answer = await raw_post(
            w, PATHS["inquiry"], body, signed_headers(PATHS["inquiry"], body, WORLD_NOW)
        )
    assert (status, answer["responseCode"]) == (400, "30")


async def test_an_unexpected_failure_is_a_general_error_and_is_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*_: Any) -> Any:
        raise RuntimeError("disk on fire")

    async with world() as w:
        monkeypatch.setattr(w.intake, "inquiry", broken)
        with caplog.at_level(logging.ERROR, logger="hub.channels"):
            answer = await post(w.client, "inquiry", INQUIRY, WORLD_NOW)
    assert (answer.code, answer.http_status) == ("96", 500)
    assert "disk on fire" not in json.dumps(answer.body)
    assert any("brilink" in r.getMessage() for r in caplog.records)


# --- the partner-facing page -----------------------------------------------------------


async def test_every_documented_example_is_answered_exactly_as_documented() -> None:
    assert len(await replay_page("brilink")) >= 15


def test_the_documented_examples_show_every_operation_and_the_main_refusals() -> None:
    examples = http_examples("brilink")
    assert {e.path for e in examples} == set(PATHS.values())
    codes = {e.response_body["responseCode"] for e in examples}
    assert {"00", "13", "14", "25", "30", "31", "63", "94", "95"} <= codes


def test_the_worked_signature_on_the_page_is_right() -> None:
    page = (DOCS / "brilink.md").read_text()
    section = page.split("### Worked example", 1)[1]
    to_sign, signature = re.findall(r"^~~~text\n(.*?)\n~~~", section, re.M | re.S)[:2]
    expected = hmac.new(SECRET.encode(), to_sign.encode(), hashlib.sha256).digest()
    assert base64.b64encode(expected).decode() == signature
    assert signature in {e.headers["BRI-Signature"] for e in http_examples("brilink")}


def test_the_page_lists_every_response_code_with_its_description_and_http_status() -> None:
    page = (DOCS / "brilink.md").read_text()
    for code in ResponseCode:
        row = f"| `{code.value}` | {DESCRIPTION[code]} | {HTTP_STATUS[code]} |"
        assert row in page, row
