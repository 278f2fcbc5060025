"""A member from the agency's core, imported with ``hub members import``, pays arrears at the hub.

The running hub (real broker, PostgreSQL, core consumer) is driven as a partner: the
operator imports a member whose KPJ has no Luhn digit, paid through the month before
last; the partner's inquiry by payment code quotes last month (arrears) and this month,
2 x Rp16,800; the payment is recorded covering both.
"""

import os
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from hub.membership.kpj import luhn_check_digit
from tests.e2e.polling import wait_for_status
from tests.support.hubproc import hub_command
from tests.support.partner import SignedClient
from tests.support.people import CORE_EXPORT_HEADER, applicant, core_export_row
from tests.support.store import fetch_row


def _month_before(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 - n
    return date(index // 12, index % 12 + 1, 1)


async def test_an_imported_member_two_months_behind_pays_last_month_and_this_month(
    demo: SignedClient, hub_env: dict[str, str], database_url: str, tmp_path: Path
) -> None:
    person = applicant()
    body = f"5{int.from_bytes(os.urandom(5), 'big') % 10**9:09d}"
    kpj = body + str((luhn_check_digit(body) + 1) % 10)  # deliberately not the Luhn digit
    this_month = datetime.now(UTC).astimezone(ZoneInfo("Asia/Jakarta")).date().replace(day=1)
    last_month, paid_through = _month_before(this_month, 1), _month_before(this_month, 2)
    export = tmp_path / "core.csv"
    export.write_text(
        CORE_EXPORT_HEADER + core_export_row(person, kpj, "2024-01", f"{paid_through:%Y-%m}")
    )

    code, out = await hub_command(hub_env, "members", "import", str(export), "--by", "e2e operator")
    assert code == 0 and "1 added" in out, out

    inquiry = await demo.post("/v1/payments/inquiry", {"payment_code": "8866" + kpj, "months": 1})
    assert inquiry.status_code == 200, inquiry.text
    bill = inquiry.json()
    assert (bill["kpj"], bill["amount_due"], bill["arrears_months"]) == (kpj, 33_600, 1)
    assert (bill["arrears_from"], bill["months_from"]) == (
        last_month.isoformat(),
        this_month.isoformat(),
    )

    payment = {
        "reference": f"IMP-{kpj}",
        "payment_code": "8866" + kpj,
        "months": 1,
        "amount": 33_600,
        "paid_at": datetime.now(UTC).isoformat(),
    }
    assert (await demo.post("/v1/payments", payment)).status_code == 202
    await wait_for_status(demo, f"/v1/payments/IMP-{kpj}", "recorded", 10.0)

    row = await fetch_row(
        database_url,
        "SELECT m.kpj, m.paid_through, m.source, c.covers_from, c.covers_through, "
        "c.arrears_months, c.amount FROM members m JOIN contributions c "
        "ON c.member_id = m.id WHERE m.nik = $1",
        person["nik"],
    )
    assert row is not None
    assert dict(row) == {
        "kpj": kpj,
        "paid_through": this_month,
        "source": "import",
        "covers_from": last_month,
        "covers_through": this_month,
        "arrears_months": 1,
        "amount": 33_600,
    }
