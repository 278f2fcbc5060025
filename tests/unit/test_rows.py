"""Records read from result rows: every field from its column, wherever the query put it."""

from dataclasses import dataclass, field
from typing import Any

import msgspec
import sqlalchemy as sa

from hub.store.rows import columns_of, record_of


@dataclass(frozen=True, slots=True)
class Entry:
    reference: str
    status: str
    kpj: str | None = None
    tags: str = ""


@dataclass(frozen=True, slots=True)
class Noted:
    reference: str
    status: str
    note: str = field(default="none", init=False)


class Struct(msgspec.Struct, frozen=True):
    """The same fields as ``Entry``, as a msgspec struct (the inbox's records are)."""

    reference: str
    status: str
    kpj: str | None = None
    tags: str = ""


def _row(select: str) -> Any:
    with sa.create_engine("sqlite://").connect() as conn:
        return conn.execute(sa.text(select)).one()


def test_fields_side_by_side_among_other_columns_are_read_in_place() -> None:
    row = _row(
        "SELECT 1 AS inserted, 'R-1' AS reference, 'accepted' AS status, "
        "'KPJ-9' AS kpj, 'a' AS tags, 0 AS created_member"
    )

    assert record_of(Entry, row) == Entry("R-1", "accepted", "KPJ-9", "a")


def test_fields_in_another_order_are_read_by_name() -> None:
    row = _row("SELECT 'KPJ-9' AS kpj, 'b' AS tags, 'accepted' AS status, 'R-2' AS reference")

    assert record_of(Entry, row) == Entry("R-2", "accepted", "KPJ-9", "b")


def test_fields_with_a_column_between_them_are_read_by_name() -> None:
    row = _row(
        "SELECT 'R-3' AS reference, 'accepted' AS status, 'x' AS other, 'KPJ-9' AS kpj, 'c' AS tags"
    )

    assert record_of(Entry, row) == Entry("R-3", "accepted", "KPJ-9", "c")


def test_a_field_the_row_lacks_keeps_its_default() -> None:
    row = _row("SELECT 'R-4' AS reference, 'pending' AS status, 'KPJ-1' AS kpj")

    assert record_of(Entry, row) == Entry("R-4", "pending", "KPJ-1")


def test_a_given_field_overrides_its_column() -> None:
    row = _row("SELECT 'R-5' AS reference, 'recorded' AS status, 'KPJ-1' AS kpj, 'd' AS tags")

    assert record_of(Entry, row, kpj=None) == Entry("R-5", "recorded", None, "d")


def test_a_field_set_by_the_record_itself_is_not_read() -> None:
    row = _row("SELECT 'R-6' AS reference, 'pending' AS status, 'ignored' AS note")

    assert record_of(Noted, row) == Noted("R-6", "pending")


def test_a_structs_fields_are_read_in_place_by_name_and_by_default_as_a_dataclasses() -> None:
    in_place = _row(
        "SELECT 1 AS inserted, 'R-7' AS reference, 'accepted' AS status, "
        "'KPJ-9' AS kpj, 'e' AS tags, 0 AS created_member"
    )
    by_name = _row("SELECT 'KPJ-8' AS kpj, 'accepted' AS status, 'R-8' AS reference")

    assert record_of(Struct, in_place) == Struct("R-7", "accepted", "KPJ-9", "e")
    assert record_of(Struct, by_name) == Struct("R-8", "accepted", "KPJ-8")
    assert record_of(Struct, by_name, kpj=None) == Struct("R-8", "accepted")


def test_a_structs_columns_are_its_fields_in_their_order() -> None:
    table = sa.Table(
        "entries",
        sa.MetaData(),
        *(sa.Column(name, sa.String) for name in ("tags", "other", "status", "reference")),
    )

    assert [c.name for c in columns_of(Struct, table)] == ["reference", "status", "tags"]
