"""Matching a settlement file against the hub's rows of the same partner and business day.

Pure: the hub's rows come in as a compact ``HubDay``, the file as a stream of lines, and
every line ends in exactly one category. Matching is by the partner's reference first,
then, for lines without one, by (member, amount, time within a tolerance).
"""

from array import array
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, get_args
from zoneinfo import ZoneInfo

from hub.reconciliation.lines import SettlementLine
from hub.settlement.statement import StatementLine

Category = Literal[
    "matched",
    "missing_in_hub",
    "missing_in_partner",
    "amount_mismatch",
    "duplicate_in_file",
    "reversed_but_settled",
    "after_cutoff",
]
CATEGORIES: tuple[Category, ...] = get_args(Category)
"""Every category, in report order."""
EXCEPTIONS: tuple[Category, ...] = CATEGORIES[1:]

_REVERSED = 1
_CONSUMED = 2


class HubDay:
    """The hub's payments of one partner-day, kept compact (a million rows in ~200 MB).

    A reference maps to a position in parallel arrays; what an exception line needs
    beyond that (hub reference, member) is looked up afterwards, for exceptions only.
    """

    def __init__(self, keep_members: bool = False) -> None:
        self.index: dict[str, int] = {}
        self.amounts = array("q")
        self.paid_at = array("q")
        """Unix seconds."""
        self.flags = bytearray()
        self.members: list[str] | None = [] if keep_members else None

    def add(self, reference: str, amount: int, paid_at: int, reversed_: bool, nik: str) -> None:
        """One payment of the day; ``paid_at`` in unix seconds."""
        self.index[reference] = len(self.amounts)
        self.amounts.append(amount)
        self.paid_at.append(paid_at)
        self.flags.append(_REVERSED if reversed_ else 0)
        if self.members is not None:
            self.members.append(nik)

    def __len__(self) -> int:
        return len(self.amounts)

    @property
    def total(self) -> int:
        return sum(self.amounts)


@dataclass(slots=True)
class ExceptionLine:
    """A line that did not match, with both sides as far as each side has it."""

    line: str
    category: Category
    reference: str | None
    partner: SettlementLine | None
    hub_amount: int | None = None
    hub: StatementLine | None = None
    detail: str = ""


@dataclass(slots=True)
class Tally:
    count: int = 0
    partner_amount: int = 0
    hub_amount: int = 0


@dataclass(slots=True)
class HourTally:
    matched: int = 0
    exceptions: int = 0
    matched_amount: int = 0
    exception_amount: int = 0


@dataclass(slots=True)
class Result:
    """Counts and rupiah totals per category, every exception line, the day by the hour."""

    categories: dict[Category, Tally] = field(
        default_factory=lambda: {c: Tally() for c in CATEGORIES}
    )
    exceptions: list[ExceptionLine] = field(default_factory=list)
    file_lines: int = 0
    file_amount: int = 0
    reversed_on_both_sides: Tally = field(default_factory=Tally)
    hours: dict[int, HourTally] = field(default_factory=lambda: defaultdict(HourTally))

    @property
    def all_matched(self) -> bool:
        return all(self.categories[c].count == 0 for c in EXCEPTIONS)


class Matcher:
    """Feed it the file's lines in order, then ``finish`` with what the hub holds elsewhere."""

    def __init__(self, hub: HubDay, timezone: ZoneInfo, tolerance_s: int = 900) -> None:
        self._hub = hub
        self._zone = timezone
        self._tolerance = tolerance_s
        self._deferred: list[SettlementLine] = []
        self._unknown_seen: set[str] = set()
        self._by_member: dict[tuple[str, int], list[int]] | None = None
        # The chart buckets by the partner's hour; Indonesia's zones keep one offset all
        # year, so the hour of a unix time is plain arithmetic (no zone lookup per line).
        offset = datetime.now(timezone).utcoffset()
        self._offset_s = 0 if offset is None else int(offset.total_seconds())
        self.result = Result()

    def feed(self, line: SettlementLine) -> None:
        result = self.result
        result.file_lines += 1
        result.file_amount += line.amount
        if line.reference is None:
            self._feed_without_reference(line)
            return
        position = self._hub.index.get(line.reference)
        if position is None:
            if line.reference in self._unknown_seen:
                self._except(line, "duplicate_in_file", None, "the reference is on an earlier line")
            else:
                self._unknown_seen.add(line.reference)
                self._deferred.append(line)
            return
        self._against(line, position)

    def _against(self, line: SettlementLine, position: int) -> None:
        hub = self._hub
        flags = hub.flags[position]
        hub_amount = hub.amounts[position]
        if flags & _CONSUMED:
            self._except(line, "duplicate_in_file", None, "the reference is on an earlier line")
            return
        hub.flags[position] = flags | _CONSUMED
        if flags & _REVERSED:
            self._except(
                line, "reversed_but_settled", hub_amount, "the hub holds this payment reversed"
            )
        elif hub_amount != line.amount:
            self._except(
                line,
                "amount_mismatch",
                hub_amount,
                f"partner {line.amount} vs hub {hub_amount} ({line.amount - hub_amount:+d})",
            )
        else:
            tally = self.result.categories["matched"]
            tally.count += 1
            tally.partner_amount += line.amount
            tally.hub_amount += hub_amount
            hour = (hub.paid_at[position] + self._offset_s) // 3600 % 24
            self.result.hours[hour].matched += 1
            self.result.hours[hour].matched_amount += line.amount

    def _feed_without_reference(self, line: SettlementLine) -> None:
        """By (member, amount, time): the nearest unmatched hub payment within the tolerance."""
        if self._by_member is None:
            self._by_member = defaultdict(list)
            members = self._hub.members or []
            for position, nik in enumerate(members):
                self._by_member[(nik, self._hub.amounts[position])].append(position)
        candidates = self._by_member.get((line.nik or "", line.amount), [])
        moment = None if line.paid_at is None else int(line.paid_at.timestamp())
        best: int | None = None
        for position in candidates:
            if self._hub.flags[position] & _CONSUMED:
                continue
            gap = 0 if moment is None else abs(self._hub.paid_at[position] - moment)
            if gap <= self._tolerance and (
                best is None or gap < abs(self._hub.paid_at[best] - (moment or 0))
            ):
                best = position
        if best is None:
            self._except(line, "missing_in_hub", None, "no hub payment of this member and amount")
        else:
            self._against(line, best)

    @property
    def deferred(self) -> list[SettlementLine]:
        """Lines whose reference is not on the day: ``finish`` needs the hub's rows of them."""
        return self._deferred

    def finish(self, elsewhere: Mapping[str, StatementLine]) -> Result:
        """Settle the lines whose reference is not on the day: on another day, or nowhere.

        ``elsewhere`` holds the hub's payments of those references on any other business
        day. Then every hub payment of the day that no line claimed is missing_in_partner
        (unless it was reversed: then both sides agree it is not settled).
        """
        for line in self._deferred:
            held = elsewhere.get(line.reference or "")
            if held is None:
                self._except(
                    line, "missing_in_hub", None, "the hub has no payment with this reference"
                )
            else:
                why = "after the close" if held.after_close else "after the cut-off"
                exception = self._except(
                    line,
                    "after_cutoff",
                    held.amount,
                    f"the hub dated it {held.business_date.isoformat()} ({why})",
                )
                exception.hub = held
        self._deferred = []
        hub = self._hub
        references = [""] * len(hub) if hub.index else []
        for reference, position in hub.index.items():
            references[position] = reference
        for position, flags in enumerate(hub.flags):
            if flags & _CONSUMED:
                continue
            if flags & _REVERSED:
                self.result.reversed_on_both_sides.count += 1
                self.result.reversed_on_both_sides.hub_amount += hub.amounts[position]
                continue
            self._hub_only(references[position], hub.amounts[position], hub.paid_at[position])
        return self.result

    def _hub_only(self, reference: str, amount: int, paid_at: int) -> None:
        result = self.result
        tally = result.categories["missing_in_partner"]
        tally.count += 1
        tally.hub_amount += amount
        line = f"H{tally.count}"
        result.exceptions.append(
            ExceptionLine(
                line,
                "missing_in_partner",
                reference,
                None,
                amount,
                detail="the hub recorded it; the partner did not settle it",
            )
        )
        hour = self._hour(None, paid_at)
        result.hours[hour].exceptions += 1
        result.hours[hour].exception_amount += amount

    def _except(
        self, line: SettlementLine, category: Category, hub_amount: int | None, detail: str
    ) -> ExceptionLine:
        tally = self.result.categories[category]
        tally.count += 1
        tally.partner_amount += line.amount
        tally.hub_amount += hub_amount or 0
        exception = ExceptionLine(
            str(line.line_no), category, line.reference, line, hub_amount, detail=detail
        )
        self.result.exceptions.append(exception)
        hour = self._hour(line.paid_at, None)
        self.result.hours[hour].exceptions += 1
        self.result.hours[hour].exception_amount += line.amount
        return exception

    def _hour(self, paid_at: datetime | None, hub_paid_at: int | None) -> int:
        if paid_at is None:
            if hub_paid_at is None:
                return -1
            paid_at = datetime.fromtimestamp(hub_paid_at, UTC)
        return paid_at.astimezone(self._zone).hour
