"""A bank drives the running hub over real HTTP in SNAP BI; the store is checked in PostgreSQL.

Real hub process, real Tansu, real PostgreSQL, test config (bank ``mandiri``, whose
test-only private key signs the access-token request).
"""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.channels.bank import driver
from tests.e2e.partner_forms import in_terms
from tests.support.people import applicant
from tests.support.store import fetch_value, wait_for_row

SERVICE_ID = driver.PARTNER_SERVICE_ID


class Bank:
    """The test bank's host: one access token, then signed transactions."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.AsyncClient(base_url=base_url, timeout=30)
        self.token = ""

    async def access_token(self) -> httpx.Response:
        response = await self.http.post(
            driver.PATHS["access-token"],
            content=driver.minified({"grantType": "client_credentials"}),
            headers=driver.token_headers(datetime.now(UTC)),
        )
        if response.status_code == 200:
            self.token = response.json()["accessToken"]
        return response

    async def send(self, operation: str, body: dict[str, Any]) -> dict[str, Any]:
        path = driver.PATHS[operation]
        content = driver.minified(body)
        headers = driver.transaction_headers(
            path, self.token, content, datetime.now(UTC), uuid.uuid4().hex
        )
        response = await self.http.post(path, content=content, headers=headers)
        answer: dict[str, Any] = response.json()
        assert str(response.status_code) == answer["responseCode"][:3], answer
        return answer


@pytest.fixture
async def bank(hub_url: str) -> AsyncIterator[Bank]:
    client = Bank(hub_url)
    response = await client.access_token()
    assert response.status_code == 200, response.text
    yield client
    await client.http.aclose()


def registration_of(person: dict[str, Any]) -> dict[str, Any]:
    """A ``tests.support.people`` applicant as the bank's registration service takes it."""
    income = {"value": f"{person['declared_income']}.00", "currency": "IDR"}
    return in_terms(person, "bank", declaredIncome=income)


def va(customer_no: str) -> dict[str, str]:
    return {
        "partnerServiceId": SERVICE_ID,
        "customerNo": customer_no,
        "virtualAccountNo": SERVICE_ID + customer_no,
    }


async def test_a_bank_registers_a_member_and_pays_by_virtual_account_into_postgresql(
    bank: Bank, database_url: str
) -> None:
    person = applicant()
    registered = await bank.send("registration", registration_of(person))
    assert registered["responseCode"] == "2009000", registered

    # Accepted but not yet recorded: the member has no KPJ yet, so the VA names the NIK.
    first = await bank.send("inquiry", {**va(person["nik"]), "inquiryRequestId": "INQ-1"})
    assert first["responseCode"] == "2002400", first
    bill = first["virtualAccountData"]
    assert bill["totalAmount"] == {"value": "16800.00", "currency": "IDR"}
    [first_month] = bill["billDetails"]

    pay = {
        **va(person["nik"]),
        "paymentRequestId": f"PAY-{person['reference']}",
        "paidAmount": bill["totalAmount"],
        "trxDateTime": driver.snap_timestamp(datetime.now(UTC)),
    }
    paid = await bank.send("payment", pay)
    assert paid["responseCode"] == "2002500", paid
    advice = await bank.send("payment", {**pay, "flagAdvise": "Y"})
    assert advice == paid, "a retried payment is answered as the first"

    member = await wait_for_row(
        database_url, "SELECT id, kpj, full_name FROM members WHERE nik=$1", person["nik"]
    )
    assert member["full_name"] == person["full_name"].upper()
    contribution = await wait_for_row(
        database_url,
        "SELECT amount, months, channel, partner_id, partner_ref FROM contributions "
        "WHERE member_id=$1",
        member["id"],
    )
    assert dict(contribution) == {
        "amount": 16_800,
        "months": 1,
        "channel": "bank",
        "partner_id": "mandiri",
        "partner_ref": pay["paymentRequestId"],
    }

    # Recorded now: the member's card number (KPJ) names the VA, and the bill moved on.
    second = await bank.send("inquiry", {**va(member["kpj"]), "inquiryRequestId": "INQ-2"})
    assert second["responseCode"] == "2002400", second
    [next_month] = second["virtualAccountData"]["billDetails"]
    assert _month_after(first_month["billNo"]) == next_month["billNo"]
    assert second["virtualAccountData"]["additionalInfo"]["memberStatus"] == "active"

    count = await fetch_value(
        database_url, "SELECT count(*) FROM contributions WHERE member_id=$1", member["id"]
    )
    assert count == 1

    # The same person registered again (another branch, another reference): told their KPJ.
    again = await bank.send(
        "registration", registration_of({**person, "reference": f"{person['reference']}-2"})
    )
    assert again["responseCode"] == "2009000", again
    assert again["additionalInfo"] == {"kpj": member["kpj"]}


async def test_a_token_request_signed_with_another_key_gets_no_token(hub_url: str) -> None:
    async with httpx.AsyncClient(base_url=hub_url) as client:
        headers = driver.token_headers(
            datetime.now(UTC), driver.private_key("dev-bank-private.pem")
        )
        response = await client.post(
            driver.PATHS["access-token"],
            content=b'{"grantType":"client_credentials"}',
            headers=headers,
        )
    assert response.status_code == 401
    assert response.json()["responseCode"] == "4017300"


async def test_an_external_id_is_refused_the_second_time_the_same_day(bank: Bank) -> None:
    path = driver.PATHS["inquiry"]
    content = driver.minified({**va("00000000018"), "inquiryRequestId": "INQ-X"})
    external_id = uuid.uuid4().hex
    codes = []
    for _ in range(2):
        headers = driver.transaction_headers(
            path, bank.token, content, datetime.now(UTC), external_id
        )
        response = await bank.http.post(path, content=content, headers=headers)
        codes.append(response.json()["responseCode"])
    assert codes[1] == "4092400"
    assert codes[0] != "4092400"


def _month_after(bill_no: str) -> str:
    year, month = int(bill_no[:4]), int(bill_no[4:])
    return f"{year + month // 12}{month % 12 + 1:02d}"
