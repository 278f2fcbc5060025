"""One way to say a field in the partner's terms.

Intake names fields in the hub's words (``reference``, ``declared_income``); a
refusal must name the field the partner sent (``noReferensi``, ``Penghasilan``).
A channel declares its names once, as a ``PartnerTerms``, and says every refusal
through it. Dotted paths keep their tail: ``programmes.1`` becomes ``Program.1``.
"""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from hub.errors import FieldProblem, InvalidRequest
from hub.intake.model import InquiryAnswer


@dataclass(frozen=True, slots=True)
class PartnerTerms:
    """The hub's field names -> one partner's (or one of its messages')."""

    names: Mapping[str, str] = field(default_factory=dict)

    def field(self, path: str) -> str:
        """A hub field path in the partner's words; a name it does not map stays as it is."""
        head, dot, rest = path.partition(".")
        return self.names.get(head, head) + dot + rest

    def problems(self, problems: list[FieldProblem]) -> list[FieldProblem]:
        return [FieldProblem(self.field(p.field), p.reason, p.kind) for p in problems]

    def refusal(self, error: InvalidRequest) -> InvalidRequest:
        """A new refusal naming the partner's fields, summarised in its message."""
        problems = self.problems(error.problems)
        summary = "; ".join(f"{p.field}: {p.reason}" for p in problems[:5])
        return InvalidRequest(
            f"invalid request: {summary}" if problems else error.message, problems
        )

    def describe(self, problems: list[FieldProblem]) -> str:
        """``field: reason; ...`` in the partner's words."""
        return "; ".join(f"{self.field(p.field)}: {p.reason}" for p in problems)

    def say(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Fields given in the hub's words, named in the partner's (same order, same values)."""
        return {self.field(name): value for name, value in fields.items()}

    def heard(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Fields as the partner sent them, named in the hub's words (``say`` undone)."""
        hub = {partner: name for name, partner in self.names.items()}
        return {hub.get(name, name): value for name, value in fields.items()}

    @contextmanager
    def spoken(self) -> Iterator[None]:
        """Refusals raised inside keep their type (and code); only their fields are renamed."""
        try:
            yield
        except InvalidRequest as exc:
            exc.problems = self.problems(exc.problems)
            raise


KTP_SEX = {"L": "M", "P": "F"}
"""Indonesian forms (and the KTP card) write sex as L (laki-laki) or P (perempuan)."""


def month(day: date | None) -> str | None:
    """A month as every partner writes it: ``YYYY-MM``."""
    return None if day is None else f"{day:%Y-%m}"


def bill_fields(bill: InquiryAnswer) -> dict[str, Any]:
    """An inquiry's answer in the hub's words, months as ``YYYY-MM``: a channel says them
    in its own (``PartnerTerms.say``) and keeps those it answers with."""
    return {
        "nik": bill.nik,
        "kpj": bill.kpj,
        "member_payment_code": bill.payment_code,
        "masked_name": bill.masked_name,
        "programmes": list(bill.programmes),
        "member_status": bill.member_status,
        "paid_through": month(bill.paid_through),
        "months": bill.months,
        "monthly_amount": bill.monthly_amount,
        "covers_from": month(bill.covers_from),
        "covers_through": month(bill.covers_through),
        "arrears_months": bill.arrears_months,
        "arrears_from": month(bill.arrears_from),
        "arrears_through": month(bill.arrears_through),
        "arrears_amount": bill.arrears_amount,
        "amount_due": bill.amount_due,
    }
