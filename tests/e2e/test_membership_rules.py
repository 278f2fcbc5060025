"""Membership rules through the running hub: ordering, one member per NIK, reversals, callbacks."""

import asyncio
import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from hub.membership.coverage import default_rules
from tests.e2e.conftest import CALLME_SECRET
from tests.e2e.polling import wait_for_status
from tests.support.callback_server import CallbackServer
from tests.support.hubproc import hub_command
from tests.support.partner import SignedClient
from tests.support.people import applicant
from tests.support.store import fetch_rows


async def _pay(client: SignedClient, nik: str, reference: str, months: int) -> dict[str, Any]:
    inquiry = await client.post("/v1/payments/inquiry", {"nik": nik, "months": months})
    assert inquiry.status_code == 200, inquiry.text
    body = {
        "reference": reference,
        "nik": nik,
        "months": months,
        "amount": inquiry.json()["amount_due"],
        "paid_at": datetime.now(UTC).isoformat(),
    }
    response = await client.post("/v1/payments", body)
    assert response.status_code == 202, response.text
    status, _ = await wait_for_status(client, f"/v1/payments/{reference}", "recorded", 5.0)
    return status


async def _registered(client: SignedClient) -> dict[str, Any]:
    """A new person, registered through ``client``: accepted, perhaps not yet recorded."""
    person = applicant()
    assert (await client.post("/v1/registrations", person)).status_code == 202
    return person


async def _paid_through(database_url: str, nik: str) -> Any:
    """The member's ``paid_through`` as the store holds it."""
    (row,) = await fetch_rows(database_url, "SELECT paid_through FROM members WHERE nik = $1", nik)
    return row["paid_through"]


async def _member_rows(
    database_url: str, nik: str, table: str, columns: str
) -> list[asyncpg.Record]:
    """``columns`` of the member's rows in ``table`` (as ``t``), oldest first, with the
    member's own ``paid_through`` and ``phone`` beside each."""
    return await fetch_rows(
        database_url,
        f"SELECT {columns}, m.paid_through, m.phone FROM {table} t "
        "JOIN members m ON m.id = t.member_id WHERE m.nik = $1 ORDER BY t.id",
        nik,
    )


async def test_payment_sent_right_after_its_registration_is_applied(
    demo: SignedClient, database_url: str
) -> None:
    person = await _registered(demo)
    # No waiting: the registration is accepted, not yet recorded; the payment queues behind it.
    await _pay(demo, person["nik"], f"PAY-{person['reference']}", months=3)

    rows = await _member_rows(database_url, person["nik"], "contributions", "t.months, t.amount")
    assert len(rows) == 1
    assert rows[0]["months"] == 3
    assert rows[0]["amount"] == 3 * 16_800


async def test_second_registration_from_another_partner_gets_the_first_kpj_and_waits_for_review(
    demo: SignedClient, other: SignedClient, database_url: str
) -> None:
    person = await _registered(demo)
    first, _ = await wait_for_status(
        demo, f"/v1/registrations/{person['reference']}", "recorded", 5.0
    )

    again = {**person, "reference": f"OTHER-{person['reference']}", "phone": "081299998888"}
    accepted = await other.post("/v1/registrations", again)
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["kpj"] == first["kpj"]
    second, _ = await wait_for_status(
        other, f"/v1/registrations/{again['reference']}", "recorded", 5.0
    )
    assert second["kpj"] == first["kpj"]

    members = await fetch_rows(
        database_url, "SELECT phone FROM members WHERE nik = $1", person["nik"]
    )
    assert len(members) == 1
    original_phone = members[0]["phone"]
    assert original_phone != "+6281299998888"
    changes = await _member_rows(
        database_url, person["nik"], "member_changes", "t.id, t.field, t.proposed_value, t.status"
    )
    assert [(c["field"], c["proposed_value"], c["status"]) for c in changes] == [
        ("phone", "+6281299998888", "pending")
    ]

    # An operator approves it: the member changes, and the change is a history row.
    approve = ["changes", "approve", str(changes[0]["id"]), "--by", "ops-1"]
    code, output = await hub_command({"HUB_DATABASE_URL": database_url}, *approve)
    assert code == 0, output
    history = await _member_rows(
        database_url, person["nik"], "member_history", "t.field, t.old_value, t.new_value, t.source"
    )
    assert [(h["field"], h["old_value"], h["new_value"]) for h in history] == [
        ("phone", original_phone, "+6281299998888")
    ]
    assert history[0]["phone"] == "+6281299998888"
    assert "approved by ops-1" in history[0]["source"]


async def test_reversal_restores_the_previous_coverage_and_cannot_be_repeated(
    demo: SignedClient, database_url: str
) -> None:
    person = await _registered(demo)
    await _pay(demo, person["nik"], f"P1-{person['reference']}", months=1)
    before = await _paid_through(database_url, person["nik"])
    await _pay(demo, person["nik"], f"P3-{person['reference']}", months=3)
    assert await _paid_through(database_url, person["nik"]) > before

    reversal = {
        "reference": f"R-{person['reference']}",
        "payment_reference": f"P3-{person['reference']}",
        "reason": "store host timeout",
    }
    response = await demo.post("/v1/reversals", reversal)
    assert response.status_code == 202, response.text
    path = f"/v1/payments/P3-{person['reference']}"
    await wait_for_status(demo, path, "recorded", 5.0, part="reversal")

    assert await _paid_through(database_url, person["nik"]) == before
    statuses = await fetch_rows(
        database_url,
        "SELECT partner_ref, status FROM contributions WHERE partner_ref LIKE $1 ORDER BY id",
        f"%{person['reference']}",
    )
    assert [s["status"] for s in statuses] == ["applied", "reversed"]

    retried = await demo.post("/v1/reversals", reversal)
    assert retried.status_code == 202
    assert retried.json() == response.json()
    another = await demo.post("/v1/reversals", {**reversal, "reference": "R-second"})
    assert another.status_code == 409
    assert another.json()["error"]["code"] == "already_reversed"
    unknown = await demo.post(
        "/v1/reversals", {**reversal, "reference": "R-x", "payment_reference": "NEVER-SENT"}
    )
    assert unknown.status_code == 404


async def test_a_reversal_reference_reused_for_another_payment_is_409_and_voids_nothing(
    demo: SignedClient, database_url: str
) -> None:
    person = await _registered(demo)
    first, second = f"P1-{person['reference']}", f"P2-{person['reference']}"
    await _pay(demo, person["nik"], first, months=1)
    await _pay(demo, person["nik"], second, months=1)
    reversal = {"reference": f"R-{person['reference']}", "payment_reference": first}
    assert (await demo.post("/v1/reversals", reversal)).status_code == 202

    reused = await demo.post("/v1/reversals", {**reversal, "payment_reference": second})

    assert reused.status_code == 409, reused.text
    assert reused.json()["error"]["code"] == "reference_conflict"
    assert (await demo.get(f"/v1/payments/{second}")).json()["reversal"] is None
    await wait_for_status(demo, f"/v1/payments/{first}", "recorded", 5.0, part="reversal")
    statuses = await fetch_rows(
        database_url,
        "SELECT partner_ref, status FROM contributions WHERE partner_ref = ANY($1) ORDER BY id",
        [first, second],
    )
    assert [(s["partner_ref"], s["status"]) for s in statuses] == [
        (first, "reversed"),
        (second, "applied"),
    ]


async def test_wrong_amount_for_a_payment_by_payment_code_is_refused_with_the_amount_due(
    demo: SignedClient,
) -> None:
    person = await _registered(demo)
    await wait_for_status(demo, f"/v1/registrations/{person['reference']}", "recorded", 5.0)
    inquiry = await demo.post("/v1/payments/inquiry", {"nik": person["nik"], "months": 1})
    code = inquiry.json()["payment_code"]
    assert code and code.startswith("8866")

    by_code = await demo.post("/v1/payments/inquiry", {"payment_code": code, "months": 6})
    assert by_code.status_code == 200
    assert by_code.json()["amount_due"] == 6 * 16_800
    wrong = await demo.post(
        "/v1/payments",
        {
            "reference": f"PAY-{person['reference']}",
            "payment_code": code,
            "months": 6,
            "amount": 16_800,
            "paid_at": datetime.now(UTC).isoformat(),
        },
    )
    assert wrong.status_code == 422
    assert wrong.json()["error"]["code"] == "amount_mismatch"
    assert "100800" in wrong.json()["error"]["message"]


async def test_recorded_registration_is_called_back_signed_with_its_kpj(
    callme: SignedClient, partner_callbacks: CallbackServer
) -> None:
    person = await _registered(callme)
    status, _ = await wait_for_status(
        callme, f"/v1/registrations/{person['reference']}", "recorded", 5.0
    )
    delivered = await _delivered(callme, person["reference"])

    (received,) = partner_callbacks.for_reference(person["reference"])
    assert received.json["event"] == "registration.recorded"
    assert received.json["kpj"] == status["kpj"]
    assert received.headers["x-notification-id"] == received.json["notification_id"]
    # Version 2, computed here from its definition (docs/security.md), not with the hub's code.
    assert received.headers["x-signature-version"] == "2"
    assert received.headers["x-nonce"] == received.json["notification_id"]
    string_to_sign = "\n".join(
        [
            "BPU-HMAC-SHA256-V2",
            "POST",
            "/bpu/callbacks",
            received.headers["x-partner-id"],
            received.headers["x-timestamp"],
            received.headers["x-nonce"],
            hashlib.sha256(received.body).hexdigest(),
        ]
    )
    expected = hmac.new(CALLME_SECRET.encode(), string_to_sign.encode(), hashlib.sha256)
    assert received.headers["x-signature"] == expected.hexdigest()
    assert [a["http_status"] for a in delivered["attempts"]] == [204]


async def test_failing_callback_endpoint_is_retried_until_it_takes_the_notification(
    callme: SignedClient, partner_callbacks: CallbackServer
) -> None:
    person = applicant()
    partner_callbacks.fail(person["reference"], times=2)
    assert (await callme.post("/v1/registrations", person)).status_code == 202

    delivered = await _delivered(callme, person["reference"])

    assert [a["http_status"] for a in delivered["attempts"]] == [500, 500, 204]
    received = partner_callbacks.for_reference(person["reference"])
    assert len(received) == 3
    assert len({r.json["notification_id"] for r in received}) == 1
    gaps = [
        (
            datetime.fromisoformat(b["attempted_at"]) - datetime.fromisoformat(a["attempted_at"])
        ).total_seconds()
        for a, b in zip(delivered["attempts"], delivered["attempts"][1:], strict=False)
    ]
    # The schedule (HUB_CALLBACK_INITIAL_BACKOFF_S=0.2, doubling) is a floor for each gap;
    # a ratio of the gaps themselves is at the mercy of a loaded machine's latency.
    assert gaps[0] >= 0.2 and gaps[1] >= 0.4, f"backoff should grow 0.2 s -> 0.4 s: {gaps}"
    print(f"attempt gaps {gaps}")


async def test_a_payment_and_its_reversal_are_called_back_signed_and_retried(
    callme: SignedClient, partner_callbacks: CallbackServer
) -> None:
    person = await _registered(callme)
    reference = f"PAY-{person['reference']}"
    partner_callbacks.fail(reference, times=1)
    await _pay(callme, person["nik"], reference, months=1)
    reversal = {"reference": f"REV-{person['reference']}", "payment_reference": reference}
    assert (await callme.post("/v1/reversals", reversal)).status_code == 202

    path = f"/v1/payments/{reference}/notifications"
    notifications: list[dict[str, Any]] = []
    for _ in range(200):
        notifications = (await callme.get(path)).json()
        if len(notifications) == 2 and all(n["status"] == "delivered" for n in notifications):
            break
        await asyncio.sleep(0.05)

    assert [n["event"] for n in notifications] == ["payment.recorded", "payment.reversed"]
    # The endpoint fails the first callback it gets under the payment's reference; which of
    # the two notices that is depends on the dispatcher's timing, not on the hub's rules.
    attempts = sorted([a["http_status"] for a in n["attempts"]] for n in notifications)
    assert attempts == [[204], [500, 204]], attempts
    received = partner_callbacks.for_reference(reference)
    # The reversal's notice may arrive while the payment's waits for its retry.
    events = sorted(r.json["event"] for r in received)
    assert events == ["payment.recorded", "payment.recorded", "payment.reversed"]
    for r in received:
        assert r.headers["x-signature"] == _v2_signature(r.headers, r.body)
    (reversed_,) = [r.json for r in received if r.json["event"] == "payment.reversed"]
    assert reversed_["reversal_reference"] == reversal["reference"]
    assert received[0].json["amount"] == 16_800


async def _delivered(client: SignedClient, reference: str) -> dict[str, Any]:
    path = f"/v1/registrations/{reference}/notifications"
    notifications: list[dict[str, Any]] = []
    for _ in range(200):
        response = await client.get(path)
        if response.status_code == 200:
            notifications = response.json()
            if notifications and notifications[0]["status"] == "delivered":
                return notifications[0]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no delivered notification for {reference}: {notifications}")


async def test_reversing_an_earlier_payment_replays_the_later_one_from_its_own_month(
    demo: SignedClient, database_url: str
) -> None:
    person = await _registered(demo)
    now = datetime.now(UTC)
    earlier = {
        "reference": f"EARLY-{person['reference']}",
        "nik": person["nik"],
        "months": 1,
        "amount": 16_800,
        "paid_at": (now - timedelta(days=62)).isoformat(),
    }
    assert (await demo.post("/v1/payments", earlier)).status_code == 202
    await wait_for_status(demo, f"/v1/payments/{earlier['reference']}", "recorded", 5.0)
    later_status = await _pay(demo, person["nik"], f"LATE-{person['reference']}", months=1)
    assert later_status["status"] == "recorded"

    response = await demo.post(
        "/v1/reversals",
        {"reference": f"R-{person['reference']}", "payment_reference": earlier["reference"]},
    )
    assert response.status_code == 202, response.text
    path = f"/v1/payments/{earlier['reference']}"
    await wait_for_status(demo, path, "recorded", 5.0, part="reversal")

    rows = await _member_rows(
        database_url,
        person["nik"],
        "contributions",
        "t.status, t.previous_paid_through, t.covers_through",
    )
    reversed_payment, kept = rows
    assert reversed_payment["status"] == "reversed"
    # As if only the later payment had been made: it covers its own month and nothing before.
    assert kept["previous_paid_through"] is None
    assert kept["paid_through"] == kept["covers_through"]
    assert kept["covers_through"] == default_rules().calendar.month_of(now)


def _v2_signature(headers: dict[str, str], body: bytes) -> str:
    """A callback's version-2 signature, from its definition (docs/security.md)."""
    text = "\n".join(
        [
            "BPU-HMAC-SHA256-V2",
            "POST",
            "/bpu/callbacks",
            headers["x-partner-id"],
            headers["x-timestamp"],
            headers["x-nonce"],
            hashlib.sha256(body).hexdigest(),
        ]
    )
    return hmac.new(CALLME_SECRET.encode(), text.encode(), hashlib.sha256).hexdigest()
