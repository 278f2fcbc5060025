"""The matcher: every line in exactly one category, with counts and rupiah totals."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hub.reconciliation.lines import SettlementLine
from hub.reconciliation.matcher import HubDay, Matcher
from hub.settlement.statement import StatementLine

WIB = ZoneInfo("Asia/Jakarta")
AT = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 09:00 WIB
NIK = "3171011203850002"


def _hub(*rows: tuple[str, int, bool], keep_members: bool = False) -> HubDay:
    hub = HubDay(keep_members=keep_members)
    for reference, amount, reversed_ in rows:
        hub.add(reference, amount, int(AT.timestamp()), reversed_, NIK)
    return hub


def _line(n: int, reference: str | None, amount: int, **more: object) -> SettlementLine:
    return SettlementLine(n, reference, amount, paid_at=AT, **more)  # type: ignore[arg-type]


def test_each_category_with_its_counts_and_both_sides_totals() -> None:
    hub = _hub(
        ("A", 16_800, False),
        ("B", 16_800, False),  # not in the file
        ("C", 33_600, False),  # settled at another amount
        ("D", 16_800, True),  # reversed, yet settled
        ("E", 66_800, False),  # twice in the file
        ("F", 16_800, True),  # reversed and not settled: both sides agree
    )
    matcher = Matcher(hub, WIB)
    for line in [
        _line(2, "A", 16_800),
        _line(3, "C", 33_000),
        _line(4, "D", 16_800),
        _line(5, "E", 66_800),
        _line(6, "E", 66_800),
        _line(7, "X", 50_400),  # unknown to the hub
        _line(8, "LATE", 16_800),  # the hub dated it the next day
        _line(9, "X", 50_400),  # the unknown one again
    ]:
        matcher.feed(line)
    late = StatementLine("LATE", "PAY-1", NIK, 1, 16_800, AT, date(2026, 12, 2), False, False)
    assert [line.reference for line in matcher.deferred] == ["X", "LATE"]
    result = matcher.finish({"LATE": late})

    counts = {
        name: (t.count, t.partner_amount, t.hub_amount) for name, t in result.categories.items()
    }
    assert counts == {
        "matched": (2, 83_600, 83_600),
        "missing_in_hub": (1, 50_400, 0),
        "missing_in_partner": (1, 0, 16_800),
        "amount_mismatch": (1, 33_000, 33_600),
        "duplicate_in_file": (2, 117_200, 0),
        "reversed_but_settled": (1, 16_800, 16_800),
        "after_cutoff": (1, 16_800, 16_800),
    }
    assert (result.file_lines, result.file_amount) == (8, 317_800)
    assert (result.reversed_on_both_sides.count, result.reversed_on_both_sides.hub_amount) == (
        1,
        16_800,
    )
    assert not result.all_matched
    lines = {(e.line, e.category) for e in result.exceptions}
    assert ("H1", "missing_in_partner") in lines and ("9", "duplicate_in_file") in lines


def test_a_file_that_agrees_with_the_hub_is_all_matched() -> None:
    matcher = Matcher(_hub(("A", 16_800, False), ("B", 50_400, False)), WIB)
    matcher.feed(_line(2, "B", 50_400))
    matcher.feed(_line(3, "A", 16_800))
    result = matcher.finish({})
    assert result.all_matched
    assert result.categories["matched"].count == 2
    assert result.hours[9].matched == 2  # 09:00 on the partner's clock


def test_lines_without_a_reference_match_by_member_amount_and_time() -> None:
    hub = _hub(("A", 16_800, False), ("B", 16_800, False), keep_members=True)
    matcher = Matcher(hub, WIB, tolerance_s=900)
    matcher.feed(_line(2, None, 16_800, nik=NIK))
    matcher.feed(SettlementLine(3, None, 16_800, nik=NIK, paid_at=AT + timedelta(minutes=14)))
    matcher.feed(SettlementLine(4, None, 16_800, nik=NIK, paid_at=AT))  # none left
    matcher.feed(SettlementLine(5, None, 33_600, nik=NIK, paid_at=AT))  # no such amount
    result = matcher.finish({})
    assert result.categories["matched"].count == 2
    assert result.categories["missing_in_hub"].count == 2


def test_a_line_further_than_the_tolerance_from_the_hub_time_does_not_match() -> None:
    matcher = Matcher(_hub(("A", 16_800, False), keep_members=True), WIB, tolerance_s=900)
    matcher.feed(SettlementLine(2, None, 16_800, nik=NIK, paid_at=AT + timedelta(minutes=16)))
    result = matcher.finish({})
    assert result.categories["missing_in_hub"].count == 1
    assert result.categories["missing_in_partner"].count == 1
