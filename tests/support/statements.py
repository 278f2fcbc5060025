"""Hooks on the statements an engine runs, for the length of a ``with`` block."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

CursorEvent = Literal["before_cursor_execute", "after_cursor_execute"]
StatementHook = Callable[..., None]
"""SQLAlchemy's cursor-event signature: (connection, cursor, statement, parameters,
context, executemany); inside, ``sqlalchemy.util.await_only`` awaits on the same loop."""


@contextmanager
def on_each_statement(
    engine: AsyncEngine, when: CursorEvent, hook: StatementHook
) -> Iterator[None]:
    """``hook`` runs ``when`` each statement of ``engine`` runs, inside the block only."""
    event.listen(engine.sync_engine, when, hook)
    try:
        yield
    finally:
        event.remove(engine.sync_engine, when, hook)


def most_rows_read(plan: dict[str, Any]) -> tuple[int, str]:
    """The node of an analysed plan (JSON) that handled the most rows over all its loops,
    and its type: a plan that reads a whole table where it should probe a key shows here."""
    own = (int(plan["Actual Rows"] * plan["Actual Loops"]), str(plan["Node Type"]))
    return max([own, *(most_rows_read(child) for child in plan.get("Plans", []))])
