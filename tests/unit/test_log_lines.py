"""Production's JSON log lines (``JsonLines``): the fields every line carries, whatever logs it."""

import io
import json
import logging
from collections.abc import Iterator
from contextlib import redirect_stderr
from datetime import UTC, datetime

import pytest
import structlog

from hub.observability.logs import bound_request, configure_logging

NIK = "5171044508900001"


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    with redirect_stderr(stream):
        configure_logging("json")
        try:
            yield stream
        finally:
            logging.getLogger().handlers.clear()


def _read(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_line_has_event_level_logger_utc_timestamp_bound_fields_and_extras(
    lines: io.StringIO,
) -> None:
    with bound_request(partner_id="demo", reference="R-1"):
        logging.getLogger("hub.intake.service").info(
            "%s accepted", "registration", extra={"months": 3}
        )
    [line] = _read(lines)
    assert {k: v for k, v in line.items() if k != "timestamp"} == {
        "event": "registration accepted",
        "partner_id": "demo",
        "reference": "R-1",
        "months": 3,
        "level": "info",
        "logger": "hub.intake.service",
    }
    stamp = line["timestamp"]
    assert isinstance(stamp, str) and stamp.endswith("Z")
    at = datetime.fromisoformat(stamp.removesuffix("Z") + "+00:00")
    assert abs((datetime.now(UTC) - at).total_seconds()) < 60


def test_a_structlog_logger_line_has_the_same_fields_redacted(lines: io.StringIO) -> None:
    structlog.get_logger("hub.test").warning("member %s", nik=NIK)
    [line] = _read(lines)
    assert (line["event"], line["nik"], line["level"], line["logger"]) == (
        "member %s",
        "517104**********",
        "warning",
        "hub.test",
    )
    assert "timestamp" in line and "_record" not in line and "_from_structlog" not in line


def test_a_number_json_cannot_hold_in_64_bits_is_still_written(lines: io.StringIO) -> None:
    logging.getLogger("hub.test").info("big", extra={"n": 2**70, "by_code": {1: "a"}})
    [line] = _read(lines)
    assert (line["n"], line["by_code"]) == (2**70, {"1": "a"})


def test_an_exception_is_one_field_of_its_line_with_the_traceback_redacted(
    lines: io.StringIO,
) -> None:
    try:
        raise ValueError(f"no member {NIK}")
    except ValueError:
        logging.getLogger("hub.test").exception("failed for %s", NIK)
    [line] = _read(lines)
    assert line["event"] == "failed for 517104**********" and line["level"] == "error"
    exception = line["exception"]
    assert isinstance(exception, str)
    assert exception.startswith("Traceback") and "ValueError: no member 517104" in exception
    assert NIK not in lines.getvalue()
