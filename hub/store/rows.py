"""Result rows to the hub's records: each field read from the column of the same name."""

from dataclasses import fields
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

R = TypeVar("R", bound="DataclassInstance")


def record_of(record: type[R], row: Any, **given: Any) -> R:
    """A ``record`` from a result row: each field the row has a column for, unless ``given``.

    Fields neither in the row nor ``given`` keep their defaults. The tables name their
    columns as the records name their fields, so only what differs is spelled out.
    """
    columns = row._mapping
    read = {
        f.name: columns[f.name] for f in fields(record) if f.name in columns and f.name not in given
    }
    return record(**read, **given)
