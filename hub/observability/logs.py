"""Structured logs: JSON lines in production, readable lines in development, always redacted.

Every record, the hub's own and its libraries' (stdlib ``logging``), goes through one
handler on the root logger, whose formatter adds the same fields and runs the same
redaction step (``redact_event``) last. Fields come from ``extra={...}`` on a stdlib
call and from ``structlog.contextvars`` bound for the request in hand
(``bound_request``). Development's readable lines are structlog's ``ProcessorFormatter``
and ``ConsoleRenderer``; production's JSON lines are ``JsonLines``, which builds the
same fields from the record directly (an accepted request's line cost 32-51 µs through
``ProcessorFormatter``, which copies the record and runs nine processors over it).
"""

import json
import logging
import sys
import time
import traceback
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
import structlog
from structlog.contextvars import merge_contextvars

from hub.observability.redaction import redact_event

LogFormat = Literal["json", "console"]
REQUEST_FIELDS = ("partner_id", "channel", "reference", "hub_reference", "event_id")


_RECORD_ATTRIBUTES = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
"""What every ``LogRecord`` has; any other attribute came from ``extra={...}``."""
_STRUCTLOG_META = frozenset({"_record", "_from_structlog"})


class JsonLines(logging.Formatter):
    """One JSON object a line: ``event``, the bound request fields, the record's extras,
    ``level``, ``logger``, ``timestamp`` (UTC, ISO 8601, of the call) and, for a record
    with ``exc_info`` or ``stack_info``, ``exception`` or ``stack``; redacted last."""

    def format(self, record: logging.LogRecord) -> str:
        fields: MutableMapping[str, Any]
        if isinstance(record.msg, dict):  # a structlog logger's: its fields are added
            fields = {k: v for k, v in record.msg.items() if k not in _STRUCTLOG_META}
            fields = structlog.processors.format_exc_info(None, "", fields)
        else:
            fields = merge_contextvars(None, "", {"event": record.getMessage()})
            for key, value in record.__dict__.items():
                if key not in _RECORD_ATTRIBUTES:
                    fields[key] = value
            fields["level"] = record.levelname.lower()
            fields["logger"] = record.name
            fields["timestamp"] = _timestamp(record.created)
        if record.exc_info:
            fields["exception"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        if record.stack_info:
            fields["stack"] = record.stack_info
        return _rendered(fields)


def _timestamp(created: float) -> str:
    return datetime.fromtimestamp(created, UTC).isoformat().replace("+00:00", "Z")


def _rendered(fields: MutableMapping[str, Any]) -> str:
    line = redact_event(None, "", fields)
    try:
        return orjson.dumps(line, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # an integer past 64 bits: the standard library writes it
        return json.dumps(line, default=str)


def info_line(logger: logging.Logger, event: str) -> None:
    """``logger.info(event)`` for a line written once a request, on the request path.

    Where production's logging is as ``configure_logging`` left it (one handler, on the
    root, writing ``JsonLines`` to a stream, and nothing else on the way to it), the line
    is built and written here: the same fields in the same order as ``JsonLines`` would
    write for that call (the bound request fields, ``level``, ``logger``, ``timestamp``),
    redacted the same way, under the handler's lock, without what ``logging`` does in
    between (a ``LogRecord``, the walk up the logger tree, the handler's dispatch): 11.7
    against 15.7 µs a line apart (five bound fields, written to memory, their binding's
    4.1 µs not counted), and about 3% of the hub's CPU a request in ingest
    (docs/performance.md). Any other configuration (the console format, another handler
    or filter, a logger that does not propagate, pytest's capturing handler) gets
    ``logger.info(event)``.
    """
    if not logger.isEnabledFor(logging.INFO):
        return
    handler = _sole_json_stream(logger)
    if handler is None:
        logger.info(event)
        return
    fields = merge_contextvars(None, "", {"event": event})
    fields["level"] = "info"
    fields["logger"] = logger.name
    fields["timestamp"] = _timestamp(time.time())
    line = _rendered(fields)
    handler.acquire()  # as Handler.handle around StreamHandler.emit
    try:
        handler.stream.write(line + handler.terminator)
        handler.flush()
    except RecursionError:  # as StreamHandler.emit
        raise
    except Exception:  # noqa: BLE001 - as StreamHandler.emit: a log line never fails its caller
        handler.handleError(logger.makeRecord(logger.name, logging.INFO, "", 0, event, (), None))
    finally:
        handler.release()


def _sole_json_stream(logger: logging.Logger) -> logging.StreamHandler[Any] | None:
    """The one ``JsonLines`` stream handler ``logger``'s INFO records would reach, if
    nothing else could see or change them on the way; else None."""
    current: logging.Logger | None = logger
    while current is not None:
        if current.filters or current.disabled:
            return None
        if current.parent is None:  # the root
            break
        if current.handlers or not current.propagate:
            return None
        current = current.parent
    if current is None or len(current.handlers) != 1:
        return None
    handler = current.handlers[0]
    if (
        type(handler) is not logging.StreamHandler
        or type(handler.formatter) is not JsonLines
        or handler.filters
        or handler.level > logging.INFO
    ):
        return None
    return handler


def configure_logging(log_format: LogFormat, level: str = "INFO") -> None:
    """Route every logger through one handler; JSON or console rendering; redaction last."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            # Last before rendering, after the traceback became text: nothing escapes it.
            redact_event,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines() if log_format == "json" else formatter)
    # Nothing renders a record's thread or process, or the file and line that logged it:
    # not looked up for each record (the logging HOWTO's "Optimization"). The caller was
    # found by walking the stack (structlog's findCaller): 4-6 µs of an accepted
    # request's 34-40 µs line.
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logging._srcfile = None
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


@contextmanager
def bound_request(**fields: Any) -> Iterator[None]:
    """Every line logged inside carries these request fields (partner_id, reference...).

    Afterwards each field is as it was before (unbound, or the outer request's value).
    The tokens of ``bind_contextvars`` restore exactly that without reading the whole
    context first, as ``bound_contextvars`` does: half the cost per request (measured
    8.0 against 15.6 µs)."""
    tokens = structlog.contextvars.bind_contextvars(**fields)
    try:
        yield
    finally:
        structlog.contextvars.reset_contextvars(**tokens)
