"""Members that come from the agency's core with their own KPJ: one CSV row each.

The agency issued these KPJs, so they are taken as they are (11 digits, no check
digit required). Pure parsing and validation; ``hub.store.member_import`` writes them.
"""

from datetime import date
from typing import Annotated, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from hub.membership.apply import PERSONAL_FIELDS
from hub.membership.calendar import month_of
from schemas.events import Applicant
from schemas.fields import ascii_digits

IMPORT_COLUMNS = ("kpj", *PERSONAL_FIELDS, "registered_month", "paid_through")
"""The CSV header ``hub members import`` expects, in this order (docs/membership.md)."""


def _month(value: object) -> object:
    """``YYYY-MM`` (or a full date) to the first of that month; empty to None."""
    if value in ("", None):
        return None
    if isinstance(value, str) and len(value) == 7:
        value = f"{value}-01"
    return value


Month = Annotated[date | None, BeforeValidator(_month)]


class ImportedMember(Applicant):
    """A member as the agency's core exported them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kpj: Annotated[str, Field(pattern=r"^[0-9]{11}$", description="The agency's KPJ, as issued")]
    registered_month: Month
    paid_through: Month = None

    @model_validator(mode="after")
    def _months_are_months(self) -> Self:
        if self.registered_month is None:
            raise ValueError("registered_month is required (YYYY-MM)")
        if month_of(self.registered_month) != self.registered_month or (
            self.paid_through is not None and month_of(self.paid_through) != self.paid_through
        ):
            raise ValueError("registered_month and paid_through are months: YYYY-MM")
        return self


def parse_row(row: dict[str, str | None]) -> ImportedMember | str:
    """The row as a member, or why it is refused (one line, no personal data)."""
    fields: dict[str, object] = {k: v for k, v in row.items() if k is not None}
    income, programmes = fields.get("declared_income"), fields.get("programmes")
    if isinstance(income, str) and ascii_digits(income):
        fields["declared_income"] = int(income)
    if isinstance(programmes, str):
        fields["programmes"] = tuple(
            p.strip().upper() for p in programmes.replace("+", ",").split(",") if p.strip()
        )
    try:
        return ImportedMember.model_validate(fields)
    except ValidationError as exc:
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'row'}: {e['msg']}" for e in exc.errors()
        )


class ImportProblem(BaseModel):
    """A refused row of an import file, by line number."""

    model_config = ConfigDict(frozen=True)

    line: int
    reason: str
