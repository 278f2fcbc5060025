"""``hub members import`` and ``hub members lapsed`` as an operator runs them, on PostgreSQL."""

import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.cli.main import app
from tests.support.people import CORE_EXPORT_HEADER, applicant, core_export_row

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _the_session_store(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The commands run against the test session's PostgreSQL database."""
    monkeypatch.setenv("HUB_DATABASE_URL", database_url)


def test_import_then_list_the_imported_member_as_lapsed(tmp_path: Path) -> None:
    person = applicant()
    kpj = f"6{uuid.uuid4().int % 10**10:010d}"
    export = tmp_path / "core.csv"
    export.write_text(
        CORE_EXPORT_HEADER
        + core_export_row(person, kpj, "2024-05", "2026-01")
        + "not-a-kpj,,,,,,,,,,,\n"
    )
    runner = CliRunner()

    first = runner.invoke(app, ["members", "import", str(export), "--by", "ops: Dewi"])
    again = runner.invoke(app, ["members", "import", str(export), "--by", "ops: Dewi"])
    lapsed = runner.invoke(app, ["members", "lapsed", "--on", "2026-06-10", "--limit", "100000"])

    assert first.exit_code == 0, first.output
    assert "2 rows, 1 added, 0 already present, 1 refused" in first.output
    assert "line 3: " in first.output
    assert "2 rows, 0 added, 1 already present, 1 refused" in again.output
    row = next(line for line in lapsed.output.splitlines() if kpj in line)
    assert "2026-01" in row and "2026-05-16" in row and "on next event" in row


def _kpj() -> str:
    return f"6{uuid.uuid4().int % 10**10:010d}"


def test_an_income_in_superscript_digits_refuses_its_row_and_imports_the_others(
    tmp_path: Path,
) -> None:
    good, odd = applicant(), applicant()
    export = tmp_path / "core.csv"
    export.write_text(
        CORE_EXPORT_HEADER
        + core_export_row(good, _kpj(), "2024-05", "2026-01")
        + core_export_row(odd, _kpj(), "2024-05", "2026-01").replace("1000000", "1000000²")
    )

    imported = CliRunner().invoke(app, ["members", "import", str(export), "--by", "ops: Dewi"])

    assert imported.exit_code == 0, imported.output
    assert "2 rows, 1 added, 0 already present, 1 refused" in imported.output
    assert "line 3: declared_income" in imported.output


def test_a_file_not_in_utf8_is_refused_at_its_line_before_any_member_is_imported(
    tmp_path: Path,
) -> None:
    first, second = applicant(), applicant()
    kpj = _kpj()
    export = tmp_path / "core.csv"
    # Saved by a spreadsheet in Windows-1252: "é" is one byte, 0xe9.
    export.write_bytes(
        (
            CORE_EXPORT_HEADER
            + core_export_row(first, kpj, "2024-05", "2026-01")
            + core_export_row(second, _kpj(), "2024-05", "2026-01").replace(",", ",Jl. Mawar ", 1)
        )
        .encode()
        .replace(b"Jl. Mawar ", b"Caf\xe9 ")
    )
    runner = CliRunner()

    refused = runner.invoke(app, ["members", "import", str(export), "--by", "ops: Dewi"])
    listed = runner.invoke(app, ["members", "lapsed", "--on", "2026-06-10", "--limit", "100000"])

    assert refused.exit_code == 2, refused.output
    assert "line 3: byte 0xe9 is not UTF-8 text" in " ".join(refused.output.split())
    assert kpj not in listed.output
