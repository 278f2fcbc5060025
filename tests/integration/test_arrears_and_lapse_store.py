"""Arrears, lapse and imported members in the real PostgreSQL membership store.

The core consumer's recording service applies events exactly as it does for a Kafka batch; the
expected rows are worked by hand (JKK + JKM at the minimum income: Rp16,800 a month).
"""

import csv
import io
import uuid
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.bootstrap import schedule_from
from hub.membership.calendar import indonesian_calendar
from hub.membership.coverage import AfterLapse, CoverageRules, MembershipPolicy
from hub.reconciliation.internal import check_day
from hub.settings import load_settings
from hub.store.lapses import lapsed_members
from hub.store.member_import import MemberImporter
from hub.store.recording import IncomingEvent, RecordingService
from hub.store.tables import contributions, member_history, member_imports, members
from schemas.events import ContributionPaid, EventEnvelope, PaymentReversed, RegistrationSubmitted
from tests.support.people import applicant

WIB = ZoneInfo("Asia/Jakarta")
SCHEDULE = schedule_from(load_settings())


def rules(after_lapse: AfterLapse = "new_period") -> CoverageRules:
    return CoverageRules(indonesian_calendar("Asia/Jakarta"), MembershipPolicy(3, 3, after_lapse))


def wib(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 10, 0, tzinfo=WIB)


class Member:
    """One new person, applied through the recording service event by event."""

    def __init__(self, engine: AsyncEngine, after_lapse: AfterLapse = "new_period") -> None:
        self.recorder = RecordingService(engine, SCHEDULE, rules(after_lapse))
        self.engine = engine
        body = applicant(declared_income=1_000_000, programmes=["JKK", "JKM"])
        self.nik: str = body["nik"]
        self.reg = RegistrationSubmitted.model_validate(
            {k: v for k, v in body.items() if k != "reference"}
            | {"programmes": tuple(body["programmes"])}
        )
        self.offset = 0

    async def apply(self, payload: Any, ref: str, at: datetime) -> None:
        self.offset += 1
        envelope = EventEnvelope(
            event_id=uuid.uuid4(),
            event_type=payload.event_type,
            channel="hub-api",
            partner_id="demo",
            partner_ref=f"{self.nik}-{ref}",
            occurred_at=at,
            received_at=at,
            member_key=self.nik,
            payload=payload,
        )
        await self.recorder.apply([IncomingEvent(envelope, 0, self.offset)])

    async def register(self, at: datetime) -> None:
        await self.apply(self.reg, "REG", at)

    async def pay(self, ref: str, at: datetime, amount: int, months: int = 1) -> None:
        paid = ContributionPaid(nik=self.nik, months=months, amount=amount, paid_at=at)
        await self.apply(paid, ref, at)

    async def reverse(self, ref: str, at: datetime) -> None:
        rev = PaymentReversed(
            nik=self.nik, original_partner_ref=f"{self.nik}-{ref}", reason="timeout", reversed_at=at
        )
        await self.apply(rev, f"REV-{ref}", at)

    async def row(self) -> Any:
        async with self.engine.connect() as conn:
            return (await conn.execute(sa.select(members).where(members.c.nik == self.nik))).one()

    async def _own_rows(self, table: sa.Table, *columns: sa.Column[Any]) -> list[tuple[Any, ...]]:
        """``columns`` of this member's rows in ``table`` (joined by member_id), oldest first."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(*columns)
                .join(members, members.c.id == table.c.member_id)
                .where(members.c.nik == self.nik)
                .order_by(table.c.id)
            )
            return [tuple(r) for r in rows]

    async def history(self) -> list[tuple[Any, ...]]:
        h = member_history.c
        return await self._own_rows(
            member_history, h.field, h.old_value, h.new_value, h.effective_on, h.source
        )

    async def contributions(self) -> list[tuple[Any, ...]]:
        c = contributions.c
        return await self._own_rows(
            contributions,
            c.covers_from,
            c.covers_through,
            c.arrears_months,
            c.months,
            c.amount,
            c.status,
        )


async def paid_through_january(
    engine: AsyncEngine, after_lapse: AfterLapse = "new_period"
) -> Member:
    """A member registered on 10 December 2025 who paid January (P1, Rp16,800) on 10 January."""
    m = Member(engine, after_lapse)
    await m.register(wib(2025, 12, 10))
    await m.pay("P1", wib(2026, 1, 10), 16_800)
    return m


@pytest.mark.integration
async def test_paid_through_january_a_payment_on_10_march_covers_february_and_march(
    engine: AsyncEngine,
) -> None:
    m = await paid_through_january(engine)

    await m.pay("P2", wib(2026, 3, 10), 33_600)

    assert (await m.row()).paid_through == date(2026, 3, 1)
    assert (await m.contributions())[-1] == (
        date(2026, 2, 1),
        date(2026, 3, 1),
        1,
        1,
        33_600,
        "applied",
    )


@pytest.mark.integration
async def test_four_months_behind_under_new_period_lapses_then_a_new_period_keeps_the_kpj(
    engine: AsyncEngine,
) -> None:
    m = await paid_through_january(engine, "new_period")
    kpj = (await m.row()).kpj
    async for lapsed in lapsed_members(engine, rules(), date(2026, 6, 10)):
        if lapsed.kpj == kpj:
            assert (lapsed.lapsed_on, lapsed.recorded) == (date(2026, 5, 16), False)
            break
    else:
        pytest.fail("the lapsed member is not listed")

    await m.pay("P2", wib(2026, 6, 10), 16_800)

    row = await m.row()
    assert (row.kpj, row.paid_through, row.period_start) == (
        kpj,
        date(2026, 6, 1),
        date(2026, 6, 1),
    )
    history = await m.history()
    assert [h[:4] for h in history] == [
        ("membership", "active", "lapsed", date(2026, 5, 16)),
        ("period_start", "2025-12-01", "2026-06-01", date(2026, 6, 1)),
    ]
    assert "recorded on the next event (ContributionPaid)" in history[0][4]
    assert (await m.contributions())[-1][:4] == (date(2026, 6, 1), date(2026, 6, 1), 0, 1)


@pytest.mark.integration
async def test_reversing_a_payment_replays_the_later_one_with_its_arrears(
    engine: AsyncEngine,
) -> None:
    m = await paid_through_january(engine)
    await m.pay("P2", wib(2026, 3, 10), 33_600)  # February (arrears) and March
    await m.pay("P3", wib(2026, 3, 10), 50_400, months=3)  # April to June

    await m.reverse("P2", wib(2026, 3, 10))

    # P3's three months now settle February first: February to April.
    assert (await m.row()).paid_through == date(2026, 4, 1)
    assert [c[:4] + c[5:] for c in await m.contributions()] == [
        (date(2026, 1, 1), date(2026, 1, 1), 0, 1, "applied"),
        (date(2026, 2, 1), date(2026, 3, 1), 1, 1, "reversed"),
        (date(2026, 2, 1), date(2026, 4, 1), 1, 2, "applied"),
    ]


@pytest.mark.integration
async def test_member_import_is_idempotent_audited_and_refuses_clashes(
    engine: AsyncEngine,
) -> None:
    person = applicant()
    other = applicant()
    kpj = f"7{uuid.uuid4().int % 10**10:010d}"
    header = (
        "kpj,nik,full_name,birth_date,sex,phone,address,occupation,declared_income,"
        "programmes,registered_month,paid_through\n"
    )

    def line(p: dict[str, Any], the_kpj: str) -> str:
        return (
            f"{the_kpj},{p['nik']},{p['full_name']},{p['birth_date']},{p['sex']},{p['phone']},"
            f'"{p["address"]}",{p["occupation"]},1000000,"JKK,JKM",2024-01,2026-01\n'
        )

    text = header + line(person, kpj) + line(other, kpj)
    importer = MemberImporter(engine, SCHEDULE)

    async def run() -> Any:
        rows = [(i + 2, r) for i, r in enumerate(csv.DictReader(io.StringIO(text)))]
        return await importer.run(rows, file_name="f.csv", sha256="a" * 64, by="ops", reason="t")

    first, second = await run(), await run()

    assert (first.added, first.already_present, first.refused) == (1, 0, 1)
    assert (second.added, second.already_present, second.refused) == (0, 1, 1)
    assert [p.reason for p in first.problems] == ["this KPJ already belongs to another NIK"]
    async with engine.connect() as conn:
        audit = (
            await conn.execute(
                sa.select(member_imports.c.imported_by, member_imports.c.members_added).where(
                    member_imports.c.id.in_([first.import_id, second.import_id])
                )
            )
        ).all()
        source = (
            await conn.execute(sa.select(members.c.source).where(members.c.kpj == kpj))
        ).scalar_one()
    assert sorted(tuple(a) for a in audit) == [("ops", 0), ("ops", 1)]
    assert source == "import"
    # Paid through January by the agency's word, with no contribution in the hub: not a drift.
    report = await check_day(engine, datetime.now(UTC).date())
    assert kpj not in {f.reference for f in report.findings}
