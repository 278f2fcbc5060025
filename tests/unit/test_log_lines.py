"""Production's JSON log lines (``JsonLines``): the fields every line carries, whatever logs it."""

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr
from datetime import UTC, datetime

import pytest
import structlog

from hub.observability.logs import JsonLines, bound_request, configure_logging, info_line

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


def _assert_utc_and_recent(stamp: object) -> None:
    assert isinstance(stamp, str) and stamp.endswith("Z")
    at = datetime.fromisoformat(stamp.removesuffix("Z") + "+00:00")
    assert abs((datetime.now(UTC) - at).total_seconds()) < 60


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
    _assert_utc_and_recent(line["timestamp"])


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


@contextmanager
def _json_handler_alone() -> Iterator[None]:
    """Only production's handler on the root while the block runs: pytest adds its own
    capturing handler for a test's call, and a second handler sends ``info_line`` down
    the standard path (tested below)."""
    root = logging.getLogger()
    handlers = root.handlers[:]
    root.handlers[:] = [h for h in handlers if isinstance(h.formatter, JsonLines)]
    try:
        yield
    finally:
        root.handlers[:] = handlers


def _without_timestamp(line: dict[str, object]) -> list[tuple[str, object]]:
    return [(k, v) for k, v in line.items() if k != "timestamp"]


def test_the_request_path_line_is_the_line_logging_writes_field_for_field_redacted(
    lines: io.StringIO,
) -> None:
    logger = logging.getLogger("hub.intake.service")
    with (
        _json_handler_alone(),
        bound_request(partner_id="demo", reference=f"NIK {NIK}", event_id="e-1"),
    ):
        logger.info("registration accepted")
        info_line(logger, "registration accepted")
    standard, fast = _read(lines)
    # In the same order: the bound fields come in the context's order, which is fixed
    # within a process (not necessarily the order they were bound in).
    assert _without_timestamp(fast) == _without_timestamp(standard)
    assert dict(_without_timestamp(fast)) == {
        "event": "registration accepted",
        "partner_id": "demo",
        "reference": "NIK 517104**********",
        "event_id": "e-1",
        "level": "info",
        "logger": "hub.intake.service",
    }
    _assert_utc_and_recent(fast["timestamp"])
    assert NIK not in lines.getvalue()


def test_the_request_path_line_is_not_written_below_the_configured_level() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    with redirect_stderr(stream):
        configure_logging("json", "WARNING")
        try:  # configure_logging left its one handler on the root, pytest's removed
            info_line(logging.getLogger("hub.intake.service"), "registration accepted")
        finally:
            root.handlers.clear()
            root.setLevel(level)
    assert stream.getvalue() == ""


class _Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_the_request_path_line_reaches_any_other_handler_on_its_way(lines: io.StringIO) -> None:
    """A handler an operator added (here on ``hub.intake``) still gets the record."""
    kept = _Kept()
    parent = logging.getLogger("hub.intake")
    parent.addHandler(kept)
    try:
        with _json_handler_alone(), bound_request(partner_id="demo"):
            info_line(logging.getLogger("hub.intake.service"), "payment accepted")
    finally:
        parent.removeHandler(kept)
    assert [r.getMessage() for r in kept.records] == ["payment accepted"]
    [line] = _read(lines)
    assert (line["event"], line["partner_id"]) == ("payment accepted", "demo")


def test_the_request_path_line_passes_a_filter_on_the_root_handler(lines: io.StringIO) -> None:
    handler = logging.getLogger().handlers[0]
    handler.addFilter(lambda record: record.getMessage() != "registration accepted")
    with _json_handler_alone():
        info_line(logging.getLogger("hub.intake.service"), "registration accepted")
        info_line(logging.getLogger("hub.intake.service"), "payment accepted")
    assert [line["event"] for line in _read(lines)] == ["payment accepted"]


def test_development_console_lines_get_the_request_path_line_too() -> None:
    stream = io.StringIO()
    with redirect_stderr(stream):
        configure_logging("console")
        try:
            info_line(logging.getLogger("hub.intake.service"), "registration accepted")
        finally:
            logging.getLogger().handlers.clear()
    written = stream.getvalue()
    assert "registration accepted" in written and not written.lstrip().startswith("{")


def test_production_logging_writes_the_request_path_line_without_a_log_record(
    lines: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What makes it cheaper: under ``configure_logging("json")`` alone no record is made."""
    made: list[str] = []
    make_record = logging.Logger.makeRecord

    def counted(self: logging.Logger, *args: object, **kwargs: object) -> logging.LogRecord:
        made.append(self.name)
        return make_record(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(logging.Logger, "makeRecord", counted)
    with _json_handler_alone():
        info_line(logging.getLogger("hub.intake.service"), "registration accepted")
    assert made == []
    [line] = _read(lines)
    assert line["event"] == "registration accepted"
