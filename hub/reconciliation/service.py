"""One reconciliation run: the hub's day in, the partner's file streamed through, outputs out."""

import asyncio
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

from hub.reconciliation.lines import SettlementReader
from hub.reconciliation.matcher import CATEGORIES, EXCEPTIONS, Matcher, Result
from hub.reconciliation.report import write_exceptions, write_html, write_summary
from hub.reconciliation.store import ReconciliationStore
from hub.settlement.book import SettlementBook


@dataclass(frozen=True, slots=True)
class RunReport:
    run_id: int
    output_dir: Path
    summary: dict[str, Any]

    @property
    def all_matched(self) -> bool:
        return bool(self.summary["all_matched"])


class _Reading:
    """A binary stream that hashes what is read and reports progress in bytes."""

    def __init__(self, stream: BinaryIO, on_bytes: Callable[[int], None] | None) -> None:
        self._stream = stream
        self._on_bytes = on_bytes
        self.sha256 = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        chunk = self._stream.read(size)
        self.sha256.update(chunk)
        if self._on_bytes is not None and chunk:
            self._on_bytes(len(chunk))
        return chunk


class Reconciler:
    """Matches a partner's settlement file against the hub and writes the run's outputs."""

    def __init__(
        self,
        store: ReconciliationStore,
        book: SettlementBook,
        output_root: Path,
        clock: Callable[[], datetime],
        tolerance_s: int = 900,
    ) -> None:
        self._store = store
        self._book = book
        self._root = output_root
        self._clock = clock
        self._tolerance = tolerance_s

    def output_dir(self, partner_id: str, day: date) -> Path:
        return self._root / partner_id / day.isoformat()

    async def reconcile(
        self,
        partner_id: str,
        timezone: str,
        day: date,
        stream: BinaryIO,
        file_name: str,
        reader: SettlementReader,
        by: str,
        on_bytes: Callable[[int], None] | None = None,
        on_phase: Callable[[str], None] | None = None,
        via: str = "cli",
    ) -> RunReport:
        started = time.perf_counter()
        started_at = self._clock()
        out = self.output_dir(partner_id, day)
        run_id = await self._store.start_run(
            partner_id, day, file_name, reader.format_name, by, started_at, str(out)
        )
        try:
            timings: dict[str, float] = {}
            mark, current = time.perf_counter(), "starting"

            def phase(text: str) -> None:
                """Report the next phase; what the last one took goes into the summary."""
                nonlocal mark, current
                now = time.perf_counter()
                timings[current] = round(now - mark, 3)
                mark, current = now, text
                if on_phase is not None:
                    on_phase(text)

            phase("loading the hub's rows of the day")
            keep_members = bool(getattr(reader, "references_optional", False))
            hub = await self._store.load_day(partner_id, day, keep_members)
            hub_total = hub.total
            zone = ZoneInfo(timezone)
            matcher = Matcher(hub, zone, self._tolerance)
            reading = _Reading(stream, on_bytes)
            phase("matching the file")

            def match_file() -> None:
                for line in reader.read(reading, zone):  # type: ignore[arg-type]
                    matcher.feed(line)

            await asyncio.to_thread(match_file)
            phase("looking up references dated on other days")
            deferred = [line.reference or "" for line in matcher.deferred]
            elsewhere = await self._store.payments(partner_id, deferred)
            result = matcher.finish(elsewhere)
            await self._attach_hub_side(partner_id, result)
            phase("the hub's totals of the day")
            totals = await self._book.totals(partner_id, day)
            closed = await self._book.closed_day(partner_id, day)
            summary = {
                "run_id": run_id,
                "partner_id": partner_id,
                "business_date": day.isoformat(),
                "timezone": timezone,
                "started_by": by,
                "started_at": started_at.isoformat(),
                "file": {
                    "name": file_name,
                    "format": reader.format_name,
                    "sha256": reading.sha256.hexdigest(),
                    "lines": result.file_lines,
                    "amount": result.file_amount,
                },
                "hub": {**totals.as_json(), "rows_matched_against": totals.payments},
                "hub_total_loaded": hub_total,
                "closed": None
                if closed is None
                else {
                    "closed_at": closed.closed_at.isoformat(),
                    "closed_by": closed.closed_by,
                    "totals": closed.totals.as_json(),
                },
                "categories": {
                    c: {
                        "count": result.categories[c].count,
                        "partner_amount": result.categories[c].partner_amount,
                        "hub_amount": result.categories[c].hub_amount,
                    }
                    for c in CATEGORIES
                },
                "reversed_on_both_sides": {
                    "count": result.reversed_on_both_sides.count,
                    "hub_amount": result.reversed_on_both_sides.hub_amount,
                },
                "exceptions": sum(result.categories[c].count for c in EXCEPTIONS),
                "all_matched": result.all_matched,
                "hours": [{"hour": hour, **_hour(result, hour)} for hour in sorted(result.hours)],
                "seconds": round(time.perf_counter() - started, 3),
            }
            phase("writing the outputs")
            summary["phase_seconds"] = timings
            out.mkdir(parents=True, exist_ok=True)
            write_summary(out / "summary.json", summary)
            write_exceptions(out / "exceptions.csv", result.exceptions, zone)
            write_html(out / "report.html", summary, result.exceptions)
            await self._store.finish_run(
                run_id, reading.sha256.hexdigest(), summary, result.exceptions, self._clock(), via
            )
        except Exception as exc:
            await self._store.fail_run(run_id, str(exc), self._clock())
            raise
        return RunReport(run_id, out, summary)

    async def _attach_hub_side(self, partner_id: str, result: Result) -> None:
        """The hub's side of each exception that has one (hub reference, member, time)."""
        wanted = [
            e.reference
            for e in result.exceptions
            if e.reference is not None and e.hub is None and e.hub_amount is not None
        ]
        if not wanted:
            return
        held = await self._store.payments(partner_id, wanted)
        for e in result.exceptions:
            if e.hub is None and e.hub_amount is not None and e.reference in held:
                e.hub = held[e.reference]


def _hour(result: Result, hour: int) -> dict[str, int]:
    tally = result.hours[hour]
    return {
        "matched": tally.matched,
        "exceptions": tally.exceptions,
        "matched_amount": tally.matched_amount,
        "exception_amount": tally.exception_amount,
    }
