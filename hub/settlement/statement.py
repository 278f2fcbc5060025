"""The hub's statement of a partner's business day: totals, then one line per payment.

The statement CSV and the canonical settlement CSV (what a partner on the hub API sends
back) have exactly these columns, so a partner can return the statement as its file.
"""

from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

STATEMENT_COLUMNS = (
    "reference",
    "hub_reference",
    "nik",
    "months",
    "amount",
    "paid_at",
    "business_date",
    "status",
    "after_close",
    "agent_id",
)
"""Header row of the statement CSV and of the canonical settlement CSV, in this order.

``agent_id`` is the agent who collected the payment (agency partners such as Perisai),
empty for other partners."""

PROGRAMMES = ("JKK", "JKM", "JHT")


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One payment the hub accepted from the partner on that business day."""

    reference: str
    hub_reference: str
    nik: str
    months: int
    amount: int
    paid_at: datetime
    business_date: date
    reversed: bool
    after_close: bool
    agent_id: str | None = None

    @classmethod
    def from_row(cls, row: Any) -> "StatementLine":
        """From a store row with a column for each field (``book.LINE_COLUMNS``, ``reversed``)."""
        return cls(**{f.name: row._mapping[f.name] for f in fields(cls)})

    def cells(self, timezone: str) -> tuple[str, ...]:
        """The CSV cells, times on the partner's own clock (ISO 8601 with its offset)."""
        return (
            self.reference,
            self.hub_reference,
            self.nik,
            str(self.months),
            str(self.amount),
            self.paid_at.astimezone(ZoneInfo(timezone)).isoformat(),
            self.business_date.isoformat(),
            "reversed" if self.reversed else "settled",
            "true" if self.after_close else "false",
            self.agent_id or "",
        )


@dataclass(slots=True)
class DayTotals:
    """The hub's view of a partner's day: counts and whole-rupiah totals, per programme.

    ``payments`` are every payment dated that day; ``reversed`` those of them taken back;
    ``net`` is what the partner owes the agency for the day.
    """

    payments: int = 0
    payments_amount: int = 0
    reversed: int = 0
    reversed_amount: int = 0
    after_close: int = 0
    programmes: dict[str, dict[str, int]] = field(
        default_factory=lambda: {p: {"payments": 0, "reversed": 0, "net": 0} for p in PROGRAMMES}
    )

    @property
    def net_amount(self) -> int:
        return self.payments_amount - self.reversed_amount

    def as_json(self) -> dict[str, object]:
        return {
            "payments": self.payments,
            "payments_amount": self.payments_amount,
            "reversed": self.reversed,
            "reversed_amount": self.reversed_amount,
            "net_amount": self.net_amount,
            "after_close": self.after_close,
            "programmes": self.programmes,
        }
