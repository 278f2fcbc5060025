"""A post office counter and a postal agent drive the running hub; the outcome is in PostgreSQL."""

import asyncio
import csv
import io
import json
import os
import sys
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from adapters.pos.csv_rows import CSV_COLUMNS
from adapters.pos.signing import signed_headers
from adapters.pos.wire import (
    INQUIRY_PATH,
    PAYMENT_PATH,
    REGISTRATION_PATH,
    REGISTRATION_STATUS_PATH,
    UPLOAD_PATH,
)
from tests.e2e.partner_forms import KTP_SEX, in_terms
from tests.support.people import applicant
from tests.support.store import fetch_value, wait_for_row

AGENT, SECRET = "pos-jakarta", "pos-secret"  # config/test.toml
WIB = timezone(timedelta(hours=7))


@pytest.fixture
async def pos(hub_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=hub_url, timeout=60) as client:
        yield client


async def post(
    client: httpx.AsyncClient, path: str, body: bytes, content_type: str = "application/json"
) -> httpx.Response:
    """Signed now, in WIB, as a counter in Jakarta signs it."""
    stamp = datetime.now(WIB).isoformat(timespec="seconds")
    headers = {
        "Content-Type": content_type,
        **signed_headers(AGENT, SECRET, "POST", path, body, stamp),
    }
    return await client.post(path, content=body, headers=headers)


async def send(client: httpx.AsyncClient, path: str, wire: dict[str, Any]) -> dict[str, Any]:
    response = await post(client, path, json.dumps(wire).encode())
    answer: dict[str, Any] = response.json()
    return answer


def pos_form(person: dict[str, Any]) -> dict[str, Any]:
    """An applicant (hub field names) as the counter sends the form."""
    sex = KTP_SEX[person["sex"]]
    return in_terms(person, "pos", jenisKelamin=sex, kodeLoket="JKT-10000-01")


def agent_file(people: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for person in people:
        form = pos_form(person)
        form["penghasilan"] = str(form["penghasilan"])
        form["program"] = "+".join(form["program"])
        writer.writerow([form[c] for c in CSV_COLUMNS])
    return out.getvalue().encode()


async def recorded_kpj(client: httpx.AsyncClient, reference: str, within_s: float = 5.0) -> str:
    """Ask for a registration's status until the core consumer has recorded it."""
    deadline = time.monotonic() + within_s
    answer: dict[str, Any] = {}
    while time.monotonic() < deadline:
        answer = await send(client, REGISTRATION_STATUS_PATH, {"noReferensi": reference})
        if answer.get("status") == "TERCATAT":
            return str(answer["noKpj"])
        await asyncio.sleep(0.05)
    raise AssertionError(f"{reference} not recorded within {within_s} s: {answer}")


async def test_counter_registration_and_payment_end_as_member_and_contribution_rows(
    pos: httpx.AsyncClient, database_url: str
) -> None:
    person = applicant(programmes=["JKK", "JKM", "JHT"])
    registered = await send(pos, REGISTRATION_PATH, pos_form(person))
    assert registered["kodeRespon"] == "00", registered
    kpj = await recorded_kpj(pos, person["reference"])

    bill = await send(pos, INQUIRY_PATH, {"kodeBayar": f"8866{kpj}", "jumlahBulan": 3})
    assert bill["kodeRespon"] == "00", bill
    assert bill["totalTagihan"] == 3 * (10_000 + 6_800 + 20_000)
    paid = await send(
        pos,
        PAYMENT_PATH,
        {
            "noReferensi": f"PAY-{person['reference']}",
            "kodeBayar": f"8866{kpj}",
            "jumlahBulan": 3,
            "jumlahBayar": bill["totalTagihan"],
            "waktuBayar": datetime.now(WIB).isoformat(timespec="seconds"),
            "kodeLoket": "JKT-10000-01",
        },
    )
    assert paid["kodeRespon"] == "00", paid

    row = await wait_for_row(
        database_url,
        "SELECT m.kpj, m.full_name, c.amount, c.months FROM members m "
        "JOIN contributions c ON c.member_id = m.id WHERE m.nik = $1",
        person["nik"],
        within_s=5.0,
    )
    assert (row["kpj"], row["full_name"]) == (kpj, person["full_name"].upper())
    assert (row["amount"], row["months"]) == (3 * 36_800, 3)


async def test_an_agents_file_becomes_members_and_uploading_it_again_changes_nothing(
    pos: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    people = [applicant() for _ in range(4)]
    bad = {**people[2], "birth_date": "1900-01-01"}  # disagrees with its NIK
    file = agent_file([people[0], people[1], bad, people[3]])

    first = await post(pos, UPLOAD_PATH, file, "text/csv")
    assert first.status_code == 200, first.text
    answer = first.json()
    assert (answer["jumlahDiterima"], answer["jumlahDitolak"]) == (3, 1)
    assert [(r["baris"], r["noReferensi"]) for r in answer["ditolak"]] == [
        (4, people[2]["reference"])
    ]
    for person in (people[0], people[1], people[3]):
        await recorded_kpj(pos, person["reference"])

    niks = [p["nik"] for p in people]
    count = "SELECT count(*) FROM members WHERE nik = ANY($1::text[])"
    requests = "SELECT count(*) FROM partner_requests WHERE partner_id = $1"
    members_before = await db.fetchval(count, niks)
    requests_before = await db.fetchval(requests, AGENT)

    again = await post(pos, UPLOAD_PATH, file, "text/csv")
    await asyncio.sleep(0.5)  # anything the re-upload published would be applied by now

    assert again.content == first.content
    assert members_before == 3
    assert await db.fetchval(count, niks) == 3
    assert await db.fetchval(requests, AGENT) == requests_before
    assert await db.fetchval("SELECT count(*) FROM members WHERE nik=$1", bad["nik"]) == 0


async def test_hub_upload_pos_command_uploads_a_file_to_the_running_hub(
    pos: httpx.AsyncClient, hub_url: str, database_url: str, tmp_path: Path, repo: Path
) -> None:
    people = [applicant() for _ in range(3)]
    file = tmp_path / "formulir-desa.csv"
    file.write_bytes(agent_file(people))
    answer_file = tmp_path / "jawaban.json"
    env = {
        **os.environ,
        "HUB_UPLOAD_URL": hub_url,
        "HUB_UPLOAD_PARTNER": AGENT,
        "HUB_UPLOAD_SECRET": SECRET,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hub",
        "upload",
        "pos",
        str(file),
        "--answer",
        str(answer_file),
        cwd=repo,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    text = output.decode(errors="replace")
    assert process.returncode == 0, text
    assert "3 rows: 3 accepted, 0 rejected" in text
    assert answer_file.is_file()

    for person in people:
        await recorded_kpj(pos, person["reference"])
    recorded = await fetch_value(
        database_url,
        "SELECT count(*) FROM members WHERE nik = ANY($1::text[])",
        [p["nik"] for p in people],
    )
    assert recorded == 3
