"""A partner drives the running hub over real HTTP; the store is checked in PostgreSQL."""

import asyncio
from datetime import UTC, datetime

import asyncpg
import pytest

from tests.e2e.polling import wait_for_status
from tests.support.partner import SignedClient
from tests.support.people import applicant
from tests.support.store import asyncpg_dsn, fetch_row, wait_for_row

# Also run on the Tansu fallback broker (make pytest-tansu).
pytestmark = pytest.mark.tansu


async def test_signed_registration_is_recorded_with_a_kpj_within_two_seconds(
    demo: SignedClient, database_url: str
) -> None:
    person = applicant()
    response = await demo.post("/v1/registrations", person)
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["reference"] == person["reference"]
    assert accepted["status"] == "accepted"

    status, took = await wait_for_status(
        demo, f"/v1/registrations/{person['reference']}", "recorded", within_s=2.0
    )
    assert status["hub_reference"] == accepted["hub_reference"]
    assert status["kpj"] and len(status["kpj"]) == 11
    row = await fetch_row(
        database_url, "SELECT kpj, full_name, phone FROM members WHERE nik=$1", person["nik"]
    )
    assert row is not None
    assert row["kpj"] == status["kpj"]
    assert row["full_name"] == person["full_name"].upper()
    assert row["phone"].startswith("+62")
    print(f"recorded after {took:.3f} s")


async def test_payment_after_registration_is_priced_by_inquiry_and_recorded_as_a_contribution(
    demo: SignedClient, database_url: str
) -> None:
    person = applicant(programmes=["JKK", "JKM", "JHT"])
    assert (await demo.post("/v1/registrations", person)).status_code == 202

    inquiry = await demo.post("/v1/payments/inquiry", {"nik": person["nik"], "months": 3})
    assert inquiry.status_code == 200, inquiry.text
    due = inquiry.json()
    assert due["amount_due"] == 3 * (10_000 + 6_800 + 20_000)
    assert due["programmes"] == ["JKK", "JKM", "JHT"]
    assert "*" in due["name"]

    pay = {
        "reference": f"PAY-{person['reference']}",
        "nik": person["nik"],
        "months": 3,
        "amount": due["amount_due"],
        "paid_at": datetime.now(UTC).isoformat(),
    }
    response = await demo.post("/v1/payments", pay)
    assert response.status_code == 202, response.text

    row = await wait_for_row(
        database_url,
        "SELECT c.amount, c.months, m.paid_through FROM contributions c "
        "JOIN members m ON m.id = c.member_id WHERE m.nik = $1",
        person["nik"],
        within_s=5.0,
    )
    assert (row["amount"], row["months"]) == (36_800 * 3, 3)
    assert row["paid_through"] is not None


async def test_same_registration_five_times_at_once_makes_one_member_and_five_equal_answers(
    demo: SignedClient, database_url: str
) -> None:
    person = applicant()
    responses = await asyncio.gather(*(demo.post("/v1/registrations", person) for _ in range(5)))
    assert [r.status_code for r in responses] == [202] * 5
    assert len({r.text for r in responses}) == 1
    await wait_for_status(demo, f"/v1/registrations/{person['reference']}", "recorded", 5.0)
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        members = await conn.fetchval("SELECT count(*) FROM members WHERE nik=$1", person["nik"])
        requests = await conn.fetchval(
            "SELECT count(*) FROM partner_requests WHERE reference=$1", person["reference"]
        )
    finally:
        await conn.close()
    assert (members, requests) == (1, 1)


async def test_reused_reference_with_different_content_is_a_conflict(demo: SignedClient) -> None:
    person = applicant()
    assert (await demo.post("/v1/registrations", person)).status_code == 202
    changed = {**person, "occupation": "nelayan" if person["occupation"] != "nelayan" else "petani"}
    response = await demo.post("/v1/registrations", changed)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "reference_conflict"


async def test_wrong_amount_is_refused_with_the_amount_due(demo: SignedClient) -> None:
    person = applicant()
    assert (await demo.post("/v1/registrations", person)).status_code == 202
    response = await demo.post(
        "/v1/payments",
        {
            "reference": f"PAY-{person['reference']}",
            "nik": person["nik"],
            "months": 1,
            "amount": 15_000,
            "paid_at": datetime.now(UTC).isoformat(),
        },
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "amount_mismatch"
    assert "16800" in error["message"]
    assert error["fields"] == [{"field": "amount", "reason": "must be 16800"}]


async def test_invalid_registration_names_the_field_and_the_reason(demo: SignedClient) -> None:
    person = applicant(sex="M", nik="5171044508900001", birth_date="1990-08-05")
    response = await demo.post("/v1/registrations", person)
    assert response.status_code == 422
    error = response.json()["error"]
    assert "sex 'M' does not match the NIK" in error["message"]

    response = await demo.post("/v1/registrations", {**applicant(), "nik": "99710445089000"})
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["field"] == "nik"


async def test_unsigned_or_stale_requests_are_refused(hub_url: str) -> None:
    stranger = SignedClient(hub_url, partner_id="demo", secret="wrong-secret")
    try:
        response = await stranger.post("/v1/registrations", applicant())
    finally:
        await stranger.aclose()
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


async def test_a_partner_cannot_see_another_partners_registration(
    demo: SignedClient, hub_url: str
) -> None:
    person = applicant()
    assert (await demo.post("/v1/registrations", person)).status_code == 202
    other = SignedClient(hub_url, partner_id="other", secret="other-secret")
    try:
        response = await other.get(f"/v1/registrations/{person['reference']}")
    finally:
        await other.aclose()
    assert response.status_code == 404
