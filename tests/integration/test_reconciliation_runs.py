"""A reconciliation run on real PostgreSQL, and the decisions recorded about its exceptions."""

import io
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.bootstrap import schedule_from
from hub.errors import InvalidRequest, NotFound
from hub.intake.model import Partner
from hub.intake.service import IntakeService
from hub.reconciliation.canonical import CanonicalCsv
from hub.reconciliation.report import EXCEPTION_COLUMNS
from hub.reconciliation.resolution import Resolver
from hub.reconciliation.service import Reconciler
from hub.reconciliation.store import ReconciliationStore
from hub.settings import load_settings
from hub.settlement.book import SettlementBook
from hub.store.inbox import SqlRequestLedger
from tests.support.inbox import accept, payment_request
from tests.unit.fakes import FakePublisher

pytestmark = pytest.mark.integration
DAY = date(2020, 6, 6)
NIK = "3201014101900003"
"""A well-formed NIK of no member."""


async def test_a_run_keeps_its_exceptions_and_each_gets_one_audited_decision(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    partner = f"p-{uuid.uuid4().hex[:8]}"
    ledger = SqlRequestLedger(engine)
    for reference in ("A", "B", "C"):
        await accept(ledger, payment_request(partner, reference, DAY, member_key=NIK))
    store = ReconciliationStore(engine)
    clock = datetime.now
    reconciler = Reconciler(store, SettlementBook(engine), tmp_path, lambda: clock(UTC))
    file = (
        "reference,nik,months,amount,paid_at\n"
        f"A,{NIK},1,16800,2020-06-06T10:00:00+07:00\n"
        f"B,{NIK},1,15000,2020-06-06T10:00:00+07:00\n"
        f"X,{NIK},1,16800,2020-06-06T10:00:00+07:00\n"
    )
    report = await reconciler.reconcile(
        partner, "Asia/Jakarta", DAY, io.BytesIO(file.encode()), "f.csv", CanonicalCsv(), "ops"
    )
    assert {k: v["count"] for k, v in report.summary["categories"].items() if v["count"]} == {
        "matched": 1,
        "amount_mismatch": 1,
        "missing_in_hub": 1,
        "missing_in_partner": 1,
    }
    folder = tmp_path / partner / DAY.isoformat()
    header = (folder / "exceptions.csv").read_text().splitlines()[0]
    assert header == ",".join(EXCEPTION_COLUMNS)
    stored = {e.line: e.category for e in await store.exceptions(report.run_id)}
    assert stored == {"3": "amount_mismatch", "4": "missing_in_hub", "H1": "missing_in_partner"}

    intake = IntakeService(ledger, FakePublisher(), schedule_from(load_settings()))
    resolver = Resolver(store, intake, {partner: Partner(partner, "hub-api")}, lambda: clock(UTC))
    first = await resolver.resolve(
        report.run_id, "3", by="finance", reason="store refunded Rp1.800"
    )
    again = await resolver.resolve(
        report.run_id, "3", by="other", reason="second thoughts", decision="chased_with_partner"
    )
    assert (first.decision, first.decided_by) == ("accepted_difference", "finance")
    assert again == first
    with pytest.raises(InvalidRequest, match="only a missing_in_hub"):
        await resolver.resolve(
            report.run_id, "H1", by="finance", reason="pay it", decision="paid_in"
        )
    with pytest.raises(InvalidRequest, match="reason"):
        await resolver.resolve(report.run_id, "H1", by="finance", reason="  ")
    # Paying in follows intake's rules: this NIK is no member, so nothing is paid or decided.
    with pytest.raises(NotFound):
        await resolver.resolve(report.run_id, "4", by="finance", reason="receipt seen")
    assert await store.decision(report.run_id, "4") is None
    chased = await resolver.resolve(
        report.run_id,
        "H1",
        by="finance",
        reason="asked the partner",
        decision="chased_with_partner",
    )
    assert chased.category == "missing_in_partner"
    assert [d.line for d in await store.decisions(report.run_id)] == ["3", "H1"]
    assert (await store.run(report.run_id)).status == "exceptions"  # type: ignore[union-attr]
    assert clock(UTC) - first.decided_at < timedelta(minutes=5)


async def test_paying_in_a_line_the_payment_rules_refuse_is_an_invalid_request_naming_the_field(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    """A partner's file may hold what intake would never take: a reference with a space,
    months intake does not sell, a NIK too short. Paying such a line in is refused."""
    partner = f"p-{uuid.uuid4().hex[:8]}"
    store = ReconciliationStore(engine)
    reconciler = Reconciler(store, SettlementBook(engine), tmp_path, lambda: datetime.now(UTC))
    file = (
        "reference,nik,months,amount,paid_at\n"
        f"IDM 0001,{NIK},1,16800,2020-06-06T10:00:00+07:00\n"
        f"IDM-0002,{NIK},5,84000,2020-06-06T10:00:00+07:00\n"
        "IDM-0003,12345,1,16800,2020-06-06T10:00:00+07:00\n"
    )
    report = await reconciler.reconcile(
        partner, "Asia/Jakarta", DAY, io.BytesIO(file.encode()), "f.csv", CanonicalCsv(), "ops"
    )
    intake = IntakeService(
        SqlRequestLedger(engine), FakePublisher(), schedule_from(load_settings())
    )
    resolver = Resolver(
        store, intake, {partner: Partner(partner, "hub-api")}, lambda: datetime.now(UTC)
    )
    for line, field in (("2", "reference"), ("3", "months"), ("4", "nik")):
        with pytest.raises(InvalidRequest, match=f"line {line} cannot be paid in: .*{field}"):
            await resolver.resolve(
                report.run_id, line, by="finance", reason="receipt seen", decision="paid_in"
            )
        assert await store.decision(report.run_id, line) is None
