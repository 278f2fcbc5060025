"""``hub members import``: members from the agency's core, with their own KPJ, into the store.

Streamed: rows are read, checked and written a chunk at a time, so a file of millions
of members needs the memory of one chunk. Idempotent: a member whose NIK is already
in the store with the same KPJ is counted as already present and left alone, so a
re-run (or a run resumed after a crash) adds nothing twice. A row whose NIK is held
under another KPJ, or whose KPJ is held by another NIK, is refused, never merged.
Audited: every run leaves a ``member_imports`` row (who, why, the file's SHA-256,
what it did) and each added member a ``member_history`` row naming the import.
"""

import hashlib
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.membership.apply import MemberRecord
from hub.membership.imported import ImportedMember, ImportProblem, parse_row
from hub.membership.schedule import ContributionSchedule
from hub.store.bulk import insert_rows
from hub.store.members import allocate_member_ids, member_row
from hub.store.tables import member_history, member_imports, members

CHUNK_ROWS = 1000
_IMPORT_CHANNEL = "import"
_IMPORT_NAMESPACE = uuid.UUID("3c1d2b7e-9a55-4c1e-8f0d-6b2a9e4d1c77")


@dataclass
class ImportReport:
    """What one run did."""

    import_id: int = 0
    rows_read: int = 0
    added: int = 0
    already_present: int = 0
    problems: list[ImportProblem] = field(default_factory=list)

    @property
    def refused(self) -> int:
        return len(self.problems)


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class MemberImporter:
    """Writes imported members in chunks, each chunk in one transaction."""

    def __init__(self, engine: AsyncEngine, schedule: ContributionSchedule) -> None:
        self._engine = engine
        self._schedule = schedule

    async def run(
        self,
        rows: Iterable[tuple[int, dict[str, str | None]]],
        *,
        file_name: str,
        sha256: str,
        by: str,
        reason: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> ImportReport:
        """Import ``rows`` (line number, CSV row); returns the report, also stored."""
        report = ImportReport()
        started = clock()
        for chunk in _chunks(rows, CHUNK_ROWS):
            valid: list[tuple[int, ImportedMember]] = []
            for line, row in chunk:
                report.rows_read += 1
                parsed = parse_row(row)
                if isinstance(parsed, str):
                    report.problems.append(ImportProblem(line=line, reason=parsed))
                elif parsed.declared_income not in self._schedule.income_brackets:
                    report.problems.append(
                        ImportProblem(line=line, reason="declared_income: not a bracket")
                    )
                else:
                    valid.append((line, parsed))
            if valid:
                async with self._engine.begin() as conn:
                    await self._write_chunk(conn, valid, report, f"import by {by}: {file_name}")
        async with self._engine.begin() as conn:
            inserted = await insert_rows(
                conn,
                member_imports,
                [
                    {
                        "file_name": file_name,
                        "file_sha256": sha256,
                        "imported_by": by,
                        "reason": reason,
                        "rows_read": report.rows_read,
                        "members_added": report.added,
                        "already_present": report.already_present,
                        "refused": report.refused,
                        "started_at": started,
                        "finished_at": clock(),
                    }
                ],
                returning=("id",),
            )
        report.import_id = inserted[0].id
        return report

    async def _write_chunk(
        self,
        conn: AsyncConnection,
        valid: list[tuple[int, ImportedMember]],
        report: ImportReport,
        source: str,
    ) -> None:
        niks = [m.nik for _, m in valid]
        kpjs = [m.kpj for _, m in valid]
        by_nik = {
            r.nik: r.kpj
            for r in await conn.execute(
                sa.select(members.c.nik, members.c.kpj).where(members.c.nik.in_(niks))
            )
        }
        by_kpj = {
            r.kpj: r.nik
            for r in await conn.execute(
                sa.select(members.c.nik, members.c.kpj).where(members.c.kpj.in_(kpjs))
            )
        }
        fresh: list[ImportedMember] = []
        seen_nik: dict[str, str] = {}
        seen_kpj: dict[str, str] = {}
        for line, m in valid:
            held_kpj = by_nik.get(m.nik) or seen_nik.get(m.nik)
            held_nik = by_kpj.get(m.kpj) or seen_kpj.get(m.kpj)
            if held_kpj == m.kpj and held_nik == m.nik:
                report.already_present += 1
            elif held_kpj is not None:
                report.problems.append(
                    ImportProblem(
                        line=line, reason="this NIK is already a member under another KPJ"
                    )
                )
            elif held_nik is not None:
                report.problems.append(
                    ImportProblem(line=line, reason="this KPJ already belongs to another NIK")
                )
            else:
                seen_nik[m.nik], seen_kpj[m.kpj] = m.kpj, m.nik
                fresh.append(m)
        if not fresh:
            return
        ids = await allocate_member_ids(conn, len(fresh))
        now = datetime.now(UTC)
        rows = [_member_row(member_id, m, now) for member_id, m in zip(ids, fresh, strict=True)]
        await insert_rows(conn, members, rows)
        await insert_rows(
            conn,
            member_history,
            [
                {
                    "member_id": member_id,
                    "field": "kpj",
                    "old_value": None,
                    "new_value": m.kpj,
                    "source": source,
                    "changed_at": now,
                    "effective_on": None,
                }
                for member_id, m in zip(ids, fresh, strict=True)
            ],
        )
        report.added += len(fresh)


def _member_row(member_id: int, m: ImportedMember, now: datetime) -> dict[str, Any]:
    record = MemberRecord.of_applicant(
        m,
        member_id=member_id,
        kpj=m.kpj,
        paid_through=m.paid_through,
        registered_month=m.registered_month,
        registered_channel=_IMPORT_CHANNEL,
        registered_partner=_IMPORT_CHANNEL,
        registration_event_id=_import_event_id(m),
        period_start=m.registered_month,
    )
    return member_row(record, now, source="import")


def _import_event_id(m: ImportedMember) -> uuid.UUID:
    """A stable id standing in for the registration the hub never saw."""
    return uuid.uuid5(_IMPORT_NAMESPACE, f"import\x1f{m.kpj}")


def _chunks(
    rows: Iterable[tuple[int, dict[str, str | None]]], size: int
) -> Iterator[list[tuple[int, dict[str, str | None]]]]:
    chunk: list[tuple[int, dict[str, str | None]]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
