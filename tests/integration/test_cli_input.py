"""An operator's mistyped command line is refused by the CLI with exit 2, never a traceback."""

import pytest
from typer.testing import CliRunner

from hub.cli.main import app

BIG = "99999999999999999999999"


@pytest.mark.integration
@pytest.mark.parametrize(
    "args",
    [
        ["callbacks", "redeliver", BIG, "--by", "ops: Dewi", "--reason", "retry"],
        ["callbacks", "redeliver", "0", "--by", "ops: Dewi", "--reason", "retry"],
        ["callbacks", "list", "--limit", BIG],
        ["callbacks", "list", "--status", "bogus"],
        ["changes", "approve", BIG, "--by", "ops: Dewi"],
        ["changes", "list", "--limit", BIG],
        ["dlq", "list", "--limit", "0"],
        ["requests", "stuck", "--older-than", "1e309"],
        ["requests", "stuck", "--older-than", "nan"],
        ["members", "lapsed", "--on", "2026-13-01"],
        ["members", "lapsed", "--limit", BIG],
    ],
    ids=lambda args: " ".join(args[:3]),
)
def test_an_id_limit_status_duration_or_date_out_of_range_is_exit_2_not_a_traceback(
    args: list[str], database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_DATABASE_URL", database_url)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, (result.exception, result.output)
    assert isinstance(result.exception, SystemExit)
    assert "Invalid value" in result.output
