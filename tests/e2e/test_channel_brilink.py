"""BRI's host drives the running hub over real HTTP; the outcome is checked in PostgreSQL."""

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest

from tests.channels.brilink.driver import post
from tests.channels.kit import WireAnswer
from tests.e2e.partner_forms import in_terms
from tests.support.people import applicant


@pytest.fixture
async def bri(hub_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=hub_url, timeout=30) as client:
        yield client


async def send(client: httpx.AsyncClient, operation: str, wire: dict[str, Any]) -> WireAnswer:
    """Signed now, as BRI's host signs each message when it sends it."""
    return await post(client, operation, wire, datetime.now(UTC))


def registration_message(person: dict[str, Any]) -> dict[str, Any]:
    """An applicant (hub field names) as BRI's host sends the form."""
    return in_terms(person, "brilink", agentId="BRILINK-E2E-0001")


async def wait_for(
    client: httpx.AsyncClient, operation: str, journal_seq: str, wanted: str, within_s: float = 5.0
) -> dict[str, Any]:
    """Ask for a journalSeq's status until it is ``wanted``; the answer's ``data``."""
    deadline = time.monotonic() + within_s
    last: Any = None
    while time.monotonic() < deadline:
        answer = await send(client, operation, {"journalSeq": journal_seq})
        last = answer.body
        if answer.code == "00" and answer.body["data"]["status"] == wanted:
            return answer.body["data"]  # type: ignore[no-any-return]
        await asyncio.sleep(0.05)
    raise AssertionError(f"{operation} {journal_seq} not {wanted} within {within_s} s: {last}")


async def payment_message(
    client: httpx.AsyncClient, journal_seq: str, member: dict[str, str], months: int
) -> dict[str, Any]:
    """Inquiry first, then a payment of exactly the amount it returned, as an agent does."""
    inquiry = await send(client, "inquiry", {**member, "months": months})
    assert inquiry.code == "00", inquiry
    return {
        "journalSeq": journal_seq,
        **member,
        "months": months,
        "amount": inquiry.body["data"]["amount"],
        "transactionDateTime": datetime.now(UTC).isoformat(),
        "agentId": "BRILINK-E2E-0001",
    }


async def test_brilink_registration_and_payment_end_as_member_and_contribution_rows(
    bri: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    person = applicant(programmes=["JKK", "JKM", "JHT"])
    registered = await send(bri, "registration", registration_message(person))
    assert registered.code == "00", registered
    recorded = await wait_for(bri, "registration_status", person["reference"], "RECORDED")
    briva_no = recorded["brivaNo"]
    assert briva_no == "8866" + recorded["kpj"]

    journal_seq = f"PAY-{person['reference']}"
    message = await payment_message(bri, journal_seq, {"brivaNo": briva_no}, months=3)
    paid = await send(bri, "payment", message)
    assert paid.code == "00", paid
    # BRI's host timed out before it read the answer, and resends the very same payment.
    resent = await send(bri, "payment", message)
    assert resent.code == "00", resent
    assert resent.body["data"]["hubReference"] == paid.body["data"]["hubReference"]
    await wait_for(bri, "payment_status", journal_seq, "RECORDED")

    member = await db.fetchrow(
        "SELECT id, kpj, full_name, registered_channel, registered_partner, paid_through "
        "FROM members WHERE nik = $1",
        person["nik"],
    )
    contributions = await db.fetch(
        "SELECT channel, partner_id, partner_ref, months, amount, status "
        "FROM contributions WHERE member_id = $1",
        member["id"],
    )
    assert (member["kpj"], member["full_name"]) == (recorded["kpj"], person["full_name"].upper())
    assert (member["registered_channel"], member["registered_partner"]) == ("brilink", "bri")
    assert member["paid_through"] is not None
    assert [dict(c) for c in contributions] == [
        {
            "channel": "brilink",
            "partner_id": "bri",
            "partner_ref": journal_seq,
            "months": 3,
            "amount": 3 * (10_000 + 6_800 + 20_000),
            "status": "applied",
        }
    ]


async def test_brilink_reversal_restores_the_members_coverage(
    bri: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    person = applicant()
    member = {"nik": person["nik"]}
    assert (await send(bri, "registration", registration_message(person))).code == "00"
    first, second = f"PAY1-{person['reference']}", f"PAY2-{person['reference']}"
    paid = await send(bri, "payment", await payment_message(bri, first, member, months=1))
    assert paid.code == "00", paid
    await wait_for(bri, "payment_status", first, "RECORDED")
    before = await db.fetchval("SELECT paid_through FROM members WHERE nik=$1", person["nik"])
    paid = await send(bri, "payment", await payment_message(bri, second, member, months=3))
    assert paid.code == "00", paid
    await wait_for(bri, "payment_status", second, "RECORDED")
    after_paying = await db.fetchval("SELECT paid_through FROM members WHERE nik=$1", person["nik"])

    reversal = {
        "journalSeq": f"REV-{person['reference']}",
        "origJournalSeq": second,
        "remark": "cash returned to customer",
    }
    reversed_ = await send(bri, "reversal", reversal)
    assert reversed_.code == "00", reversed_
    status: dict[str, Any] = {}
    for _ in range(100):
        status = (await send(bri, "payment_status", {"journalSeq": second})).body["data"]
        if status["reversal"] and status["reversal"]["status"] == "RECORDED":
            break
        await asyncio.sleep(0.05)
    assert status["reversal"]["status"] == "RECORDED", status

    again = await send(bri, "reversal", {**reversal, "journalSeq": f"REV2-{person['reference']}"})
    assert again.code == "95", again

    after_reversal = await db.fetchval(
        "SELECT paid_through FROM members WHERE nik=$1", person["nik"]
    )
    rows = await db.fetch(
        "SELECT c.partner_ref, c.status FROM contributions c "
        "JOIN members m ON m.id = c.member_id WHERE m.nik = $1 ORDER BY c.id",
        person["nik"],
    )
    assert after_paying > before
    assert after_reversal == before
    assert [(r["partner_ref"], r["status"]) for r in rows] == [
        (first, "applied"),
        (second, "reversed"),
    ]
