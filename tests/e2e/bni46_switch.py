"""BNI's side in the e2e tests: its agent app's signed JSON and its switch's ISO fields."""

import time
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from tests.channels.bni46 import driver
from tests.e2e.partner_forms import KTP_SEX, in_terms

WIB = ZoneInfo("Asia/Jakarta")


def bni_registration(person: dict[str, Any]) -> dict[str, Any]:
    """``applicant()`` in BNI's field names."""
    gender = KTP_SEX[person["sex"]]
    return in_terms(person, "bni46", gender=gender, agent_id="AGEN-BNI-E2E")


async def bni_request(hub_url: str, method: str, path: str, body: bytes = b"") -> httpx.Response:
    headers = driver.signed_headers(body, int(time.time()))
    async with httpx.AsyncClient(base_url=hub_url, timeout=30) as client:
        return await client.request(method, path, content=body, headers=headers)


def now_fields(stan: str, rrn: str) -> dict[str, str]:
    """Fields 7, 11, 12, 13, 32, 37, 41, 42 as the switch fills them right now."""
    utc = datetime.now(UTC)
    local = utc.astimezone(WIB)
    return {
        "7": f"{utc:%m%d%H%M%S}",
        "11": stan,
        "12": f"{local:%H%M%S}",
        "13": f"{local:%m%d}",
        "32": driver.ACQUIRER,
        "37": rrn,
        "41": "E2ETERM1",
        "42": "AGEN-BNI-E2E   ",
    }
