"""A day of traffic on two channels, each partner's settlement file, and its reconciliation.

The hub runs as a subprocess on the real broker and PostgreSQL. Partner ``recon-api``
(the hub's JSON API) and ``recon-indomaret`` (Indomaret's host) each pay, reverse, and
fetch the hub's statement; each then writes its settlement file in its own format with
one line of every exception category, and ``hub reconcile`` must find exactly those
categories with these counts and rupiah totals. One missing_in_hub line is then paid in
with ``hub reconcile resolve`` and ends as a recorded contribution.
"""

import base64
import csv
import io
import json
import re
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from hub.settlement.business_day import business_date
from hub.settlement.statement import STATEMENT_COLUMNS
from tests.channels.indomaret import driver as indomaret
from tests.e2e.conftest import OPERATOR, OPERATOR_PASSWORD
from tests.e2e.polling import wait_for_status
from tests.support.hubproc import hub_command
from tests.support.partner import SignedClient
from tests.support.people import applicant
from tests.support.store import asyncpg_dsn, wait_for_row

pytestmark = pytest.mark.e2e
MONTH = 16_800
"""JKK + JKM at the minimum declared income, one month."""

EXPECTED = {
    "matched": {"count": 3, "partner_amount": 3 * MONTH, "hub_amount": 3 * MONTH},
    "missing_in_hub": {"count": 1, "partner_amount": MONTH, "hub_amount": 0},
    "missing_in_partner": {"count": 1, "partner_amount": 0, "hub_amount": MONTH},
    "amount_mismatch": {"count": 1, "partner_amount": 16_000, "hub_amount": MONTH},
    "duplicate_in_file": {"count": 1, "partner_amount": MONTH, "hub_amount": 0},
    "reversed_but_settled": {"count": 1, "partner_amount": MONTH, "hub_amount": MONTH},
    "after_cutoff": {"count": 1, "partner_amount": MONTH, "hub_amount": MONTH},
}
"""The same day on both channels: P1, P2, P6 matched; X1 unknown to the hub; P3 left out of
the file; P4 settled at Rp16,000; P5 reversed but settled; P6 twice; P7 sent after the close."""


def _today() -> date:
    return business_date(datetime.now(UTC), "Asia/Jakarta", time(23, 0))


async def _members(api: SignedClient, count: int) -> list[str]:
    niks = []
    for _ in range(count):
        body = applicant()
        assert (await api.post("/v1/registrations", body)).status_code == 202
        await wait_for_status(api, f"/v1/registrations/{body['reference']}", "recorded", 15)
        niks.append(body["nik"])
    return niks


class ApiPartner:
    """recon-api: pays over the hub's JSON API; settles with the canonical CSV."""

    def __init__(self, url: str) -> None:
        self.client = SignedClient(url, "recon-api", "recon-api-secret")
        self.partner_id = "recon-api"

    async def pay(self, reference: str, nik: str) -> None:
        answer = await self.client.post(
            "/v1/payments",
            {
                "reference": reference,
                "nik": nik,
                "months": 1,
                "amount": MONTH,
                "paid_at": datetime.now(UTC).isoformat(),
            },
        )
        assert answer.status_code == 202, answer.text

    async def reverse(self, reference: str) -> None:
        answer = await self.client.post(
            "/v1/reversals", {"reference": f"REV-{reference}", "payment_reference": reference}
        )
        assert answer.status_code == 202, answer.text

    def settlement_file(self, statement_csv: str, x1_nik: str, refs: dict[str, str]) -> bytes:
        """The statement sent back, edited into the partner's view of the day."""
        rows = list(csv.DictReader(io.StringIO(statement_csv)))
        by_ref = {r["reference"]: r for r in rows}
        out = io.StringIO()
        writer = csv.DictWriter(out, STATEMENT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for key in ("P1", "P2", "P4", "P5", "P6", "P6"):
            row = dict(by_ref[refs[key]])
            if key == "P4":
                row["amount"] = "16000"
            if key == "P5":
                row["status"] = "settled"  # the partner says it kept the cash
            writer.writerow(row)
        late = {**by_ref[refs["P1"]], "reference": refs["P7"], "hub_reference": ""}
        unknown = {**late, "reference": refs["X1"], "nik": x1_nik}
        writer.writerow(late)
        writer.writerow(unknown)
        return out.getvalue().encode()


class IndomaretPartner:
    """recon-indomaret: pays as Indomaret's host; settles with its Rekap Transaksi Harian."""

    def __init__(self, url: str) -> None:
        self.http = httpx.AsyncClient(base_url=url, timeout=30)
        self.statement_client = SignedClient(url, "recon-indomaret", "recon-indomaret-secret")
        self.partner_id = "recon-indomaret"
        self.paid: dict[str, tuple[str, str]] = {}

    async def _send(self, operation: str, wire: dict[str, Any]) -> None:
        answer = await indomaret.post(
            self.http,
            operation,
            wire,
            datetime.now(UTC),
            client_id="recon-indomaret",
            secret="recon-indomaret-secret",
        )
        assert answer.code == "00", answer.body

    async def pay(self, reference: str, nik: str) -> None:
        at = indomaret.host_time(datetime.now(UTC))
        self.paid[reference] = (nik, at)
        await self._send(
            "payment",
            {
                "NoTransaksi": reference,
                "KodeBayar": nik,
                "KodeToko": "TJKT01",
                "JumlahBulan": 1,
                "Nominal": MONTH,
                "TglTransaksi": at,
            },
        )

    async def reverse(self, reference: str) -> None:
        await self._send("reversal", {"NoTransaksi": reference, "Nominal": MONTH})

    def settlement_file(self, x1_nik: str, refs: dict[str, str]) -> bytes:
        lines = []
        for key in ("P1", "P2", "P4", "P5", "P6", "P6", "P7", "X1"):
            nik, at = self.paid.get(refs[key], (x1_nik, self.paid[refs["P1"]][1]))
            amount = 16_000 if key == "P4" else MONTH
            lines.append((refs[key], nik, amount, at))
        total = sum(amount for _, _, amount, _ in lines)
        records = [f"H|INDOMARET|BPJSTK-BPU|{datetime.now(UTC):%Y%m%d}"]
        records += [f"D|{ref}|TJKT01|{nik}|1|{amount}|{at}" for ref, nik, amount, at in lines]
        records.append(f"T|{len(lines)}|{total}")
        return ("\r\n".join(records) + "\r\n").encode()


async def _statement(client: SignedClient, day: date, **kind: str) -> httpx.Response:
    path = f"/v1/settlements/{day.isoformat()}"
    if kind.get("format") == "csv":
        return await client.get(path + "?format=csv")
    return await client.get(path)


async def test_a_day_on_two_channels_reconciles_to_exact_categories_and_totals(
    hub_url: str, hub_env: dict[str, str], database_url: str, tmp_path: Path
) -> None:
    api_partner = ApiPartner(hub_url)
    retail = IndomaretPartner(hub_url)
    niks = await _members(api_partner.client, 5)
    day = _today()
    run_tag = datetime.now(UTC).strftime("%H%M%S%f")
    refs = {
        partner_id: {k: f"{prefix}-{run_tag}-{k}" for k in KEYS}
        for partner_id, prefix in (("recon-api", "API"), ("recon-indomaret", "IDM"))
    }

    for partner in (api_partner, retail):
        r = refs[partner.partner_id]
        for i, key in enumerate(("P1", "P2", "P3", "P4", "P5", "P6")):
            await partner.pay(r[key], niks[i % 4])
        await partner.reverse(r["P5"])

    # Both partners fetch the hub's statement of the day.
    api_json = (await _statement(api_partner.client, day)).json()
    assert api_json["totals"]["payments"] == 6
    assert api_json["totals"]["payments_amount"] == 6 * MONTH
    assert api_json["totals"]["reversed_amount"] == MONTH
    assert api_json["totals"]["net_amount"] == 5 * MONTH
    assert api_json["totals"]["programmes"]["JKK"]["net"] == 5 * 10_000
    assert api_json["totals"]["programmes"]["JKM"]["net"] == 5 * 6_800
    assert {t["reference"] for t in api_json["transactions"]} == {
        refs["recon-api"][k] for k in ("P1", "P2", "P3", "P4", "P5", "P6")
    }
    api_csv = await _statement(api_partner.client, day, format="csv")
    assert api_csv.headers["content-type"].startswith("text/csv")
    assert api_csv.text.splitlines()[0] == ",".join(STATEMENT_COLUMNS)
    retail_csv = await retail.statement_client.http.get(
        f"/v1/settlements/{day.isoformat()}",
        headers={**retail.statement_client.headers(b""), "Accept": "text/csv"},
    )
    assert retail_csv.status_code == 200
    retail_lines = list(csv.DictReader(io.StringIO(retail_csv.text)))
    assert sorted(r["reference"] for r in retail_lines) == sorted(
        refs["recon-indomaret"][k] for k in ("P1", "P2", "P3", "P4", "P5", "P6")
    )
    assert {r["status"] for r in retail_lines if r["reference"].endswith("P5")} == {"reversed"}
    unsigned = await retail.http.get(f"/v1/settlements/{day.isoformat()}")
    assert unsigned.status_code == 401
    not_a_day = await _statement(api_partner.client, date.min)
    assert not_a_day.status_code == 200 and not_a_day.json()["transactions"] == []
    bad = await api_partner.client.get("/v1/settlements/2026-13-45")
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "invalid_request")
    # A partner never sees another partner's rows.
    assert not set(refs["recon-api"].values()) & {r["reference"] for r in retail_lines}

    # The statement sent back verbatim reconciles clean.
    verbatim = tmp_path / "statement.csv"
    verbatim.write_bytes(api_csv.content)
    code, out = await hub_command(hub_env, "reconcile", "recon-api", day.isoformat(), str(verbatim))
    assert code == 0, out

    # Close the day for both; closing again is idempotent; P7 arrives after the close.
    for partner in (api_partner, retail):
        code, out = await hub_command(
            hub_env, "settle", "close", partner.partner_id, day.isoformat(), "--by", "finance"
        )
        assert code == 0 and "closed at" in out, out
        code, again = await hub_command(
            hub_env, "settle", "close", partner.partner_id, day.isoformat(), "--by", "someone"
        )
        assert code == 0 and "already closed" in again and "by finance" in again, again
        await partner.pay(refs[partner.partner_id]["P7"], niks[3])
    # A payment of the closed day can no longer be reversed.
    refused = await api_partner.client.post(
        "/v1/reversals",
        {"reference": "REV-LATE", "payment_reference": refs["recon-api"]["P1"]},
    )
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "not_reversible")

    files = {
        "recon-api": api_partner.settlement_file(api_csv.text, niks[4], refs["recon-api"]),
        "recon-indomaret": retail.settlement_file(niks[4], refs["recon-indomaret"]),
    }
    runs: dict[str, int] = {}
    for partner_id, content in files.items():
        path = tmp_path / f"{partner_id}-settlement.txt"
        path.write_bytes(content)
        code, out = await hub_command(hub_env, "reconcile", partner_id, day.isoformat(), str(path))
        assert code == 1, out
        folder = Path(hub_env["HUB_RECONCILIATION_OUTPUT_DIR"]) / partner_id / day.isoformat()
        summary = json.loads((folder / "summary.json").read_text())
        assert summary["categories"] == EXPECTED, (partner_id, summary["categories"])
        assert summary["file"]["lines"] == 8
        assert summary["exceptions"] == 6
        exceptions = list(csv.DictReader((folder / "exceptions.csv").open()))
        by_category = {e["category"]: e for e in exceptions}
        r = refs[partner_id]
        assert by_category["missing_in_hub"]["reference"] == r["X1"]
        assert by_category["missing_in_partner"]["reference"] == r["P3"]
        assert by_category["amount_mismatch"]["reference"] == r["P4"]
        assert by_category["reversed_but_settled"]["reference"] == r["P5"]
        assert by_category["duplicate_in_file"]["reference"] == r["P6"]
        assert by_category["after_cutoff"]["reference"] == r["P7"]
        assert by_category["after_cutoff"]["hub_business_date"] > day.isoformat()
        assert by_category["amount_mismatch"]["hub_reference"].startswith("PAY-")
        html = (folder / "report.html").read_text()
        assert "<svg" in html and "Reversed but settled" in html
        assert "<link" not in html and "src=" not in html  # self-contained
        runs[partner_id] = summary["run_id"]

    # The missing_in_hub line of the Indomaret file becomes a real payment, once.
    run = runs["recon-indomaret"]
    line = "9"  # the H record is line 1; X1 is the eighth D record
    first = await hub_command(
        hub_env, "reconcile", "resolve", str(run), line, "--by", "finance", "--reason", "receipt"
    )
    again = await hub_command(
        hub_env, "reconcile", "resolve", str(run), line, "--by", "other", "--reason", "again"
    )
    assert first[0] == 0 and again[0] == 0, (first, again)
    decided = json.loads(first[1][first[1].index("{") :])
    assert decided["decision"] == "paid_in"
    assert decided["payment_reference"] == refs["recon-indomaret"]["X1"]
    assert json.loads(again[1][again[1].index("{") :]) == decided
    contribution = await wait_for_row(
        database_url,
        "SELECT amount, status FROM contributions WHERE partner_id = $1 AND partner_ref = $2",
        "recon-indomaret",
        refs["recon-indomaret"]["X1"],
    )
    assert dict(contribution) == {"amount": MONTH, "status": "applied"}
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        audit = await conn.fetch(
            "SELECT decision, decided_by FROM reconciliation_decisions WHERE run_id = $1", run
        )
        assert [tuple(a) for a in audit] == [("paid_in", "finance")]
        logged = await conn.fetch(
            "SELECT operator, action, target, via FROM operator_actions "
            "WHERE action LIKE 'reconciliation.%' AND target LIKE $1 ORDER BY id",
            f"run {run}%",
        )
        assert [tuple(a) for a in logged] == [
            ("cli", "reconciliation.run", f"run {run}: recon-indomaret {day}", "cli"),
            ("finance", "reconciliation.decide", f"run {run} line 9", "cli"),
        ]
        inbox = await conn.fetchrow(
            "SELECT business_date, after_close FROM partner_requests WHERE partner_id = $1 "
            "AND kind = 'payment' AND reference = $2",
            "recon-indomaret",
            refs["recon-indomaret"]["X1"],
        )
        assert inbox["business_date"] > day and inbox["after_close"] is True
    finally:
        await conn.close()

    # The operators' API runs the same match on an upload, shows the run and takes decisions.
    basic = "Basic " + base64.b64encode(f"{OPERATOR}:{OPERATOR_PASSWORD}".encode()).decode()
    async with httpx.AsyncClient(base_url=hub_url, headers={"Authorization": basic}) as ops:
        # The same file saved by a spreadsheet in Windows-1252, "é" in its second line.
        header, first, rest = files["recon-api"].split(b"\n", 2)
        latin = b"\n".join((header, first.replace(b",", b"\xe9,", 1), rest))
        refused_file = await ops.post(
            "/ops/v1/reconciliations",
            data={"partner_id": "recon-api", "business_date": day.isoformat()},
            files={"file": ("settlement.csv", latin, "text/csv")},
        )
        assert refused_file.status_code == 422, refused_file.text
        assert refused_file.json()["error"]["message"] == (
            "hub-canonical-csv: line 2: byte 0xe9 is not UTF-8 text"
        )
        created = await ops.post(
            "/ops/v1/reconciliations",
            data={"partner_id": "recon-api", "business_date": day.isoformat()},
            files={"file": ("settlement.csv", files["recon-api"], "text/csv")},
        )
        assert created.status_code == 201, created.text
        run_id = created.json()["id"]
        shown = await ops.get(f"/ops/v1/reconciliations/{run_id}")
        assert shown.json()["summary"]["categories"] == EXPECTED
        assert shown.json()["started_by"] == OPERATOR
        lines = {e["category"]: e["line"] for e in shown.json()["exception_lines"]}
        assert len(lines) == 6
        decided = await ops.post(
            f"/ops/v1/reconciliations/{run_id}/lines/{lines['amount_mismatch']}/decision",
            json={"reason": "partner short-paid; chased", "decision": "chased_with_partner"},
        )
        assert decided.status_code == 200, decided.text
        assert (decided.json()["decision"], decided.json()["decided_by"]) == (
            "chased_with_partner",
            OPERATOR,
        )
        page = await ops.get(f"/ops/v1/reconciliations/{run_id}/report.html")
        assert page.status_code == 200 and "Reconciliation: recon-api" in page.text
        replaced = await ops.get(f"/ops/v1/reconciliations/{runs['recon-api']}/report.html")
        assert replaced.status_code == 404
    async with httpx.AsyncClient(base_url=hub_url) as anonymous:
        assert (await anonymous.get("/ops/v1/reconciliations")).status_code == 401
        assert (await anonymous.get("/ops/reconciliations")).status_code == 303
        # The console: sign in, then the Reconciliation page lists the run and its exceptions.
        form = await anonymous.get("/ops/login")
        token = re.search(r'name="login_token" value="([0-9a-f]+)"', form.text)
        assert token is not None
        signed_in = await anonymous.post(
            "/ops/login",
            data={"username": OPERATOR, "password": OPERATOR_PASSWORD, "login_token": token[1]},
        )
        assert signed_in.status_code == 303
        listing = await anonymous.get("/ops/reconciliations")
        assert listing.status_code == 200 and f'data-run="{run_id}"' in listing.text
        detail = await anonymous.get(f"/ops/reconciliations/{run_id}")
        assert detail.text.count("data-line=") == 6
        assert "chased_with_partner by " + OPERATOR in detail.text

    # The hub against itself: nothing acknowledged was lost today.
    code, out = await hub_command(
        hub_env, "reconcile", "internal", datetime.now(UTC).date().isoformat()
    )
    assert code == 0, out
    await api_partner.client.aclose()
    await retail.http.aclose()
    await retail.statement_client.aclose()


KEYS = ("P1", "P2", "P3", "P4", "P5", "P6", "P7", "X1")
