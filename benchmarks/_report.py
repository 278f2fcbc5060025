"""A benchmark's result: its run id, its table of figures and targets, its JSON line."""

from __future__ import annotations

import argparse
import json
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path


def run_id() -> str:
    return secrets.token_hex(4)


@dataclass(frozen=True, slots=True)
class Row:
    """One line of a result table: a figure, and optionally the target it is held to."""

    name: str
    value: str
    target: str = ""
    met: bool | None = None


def print_table(title: str, rows: Sequence[Row]) -> None:
    print()
    print(title)
    for line in _table_lines(rows):
        print(line)


def _table_lines(rows: Sequence[Row]) -> Iterator[str]:
    header = ("figure", "value", "target", "")
    cells = [
        (r.name, r.value, r.target, "" if r.met is None else ("met" if r.met else "NOT MET"))
        for r in rows
    ]
    widths = [max(len(c[k]) for c in [header, *cells]) for k in range(4)]

    def fmt(c: tuple[str, str, str, str]) -> str:
        return f"  {c[0]:<{widths[0]}}  {c[1]:>{widths[1]}}  {c[2]:<{widths[2]}}  {c[3]}".rstrip()

    yield fmt(header)
    yield "  " + "-" * (sum(widths) + 6)
    for c in cells:
        yield fmt(c)


def fmt_rate(per_s: float) -> str:
    return f"{per_s:,.0f}/s"


def fmt_ms(ms: float) -> str:
    return f"{ms:,.1f} ms"


def append_results(
    args: argparse.Namespace, benchmark: str, figures: dict[str, float | int | bool | None]
) -> None:
    """One benchmark's figures as a JSON line in ``--results``, if asked, for
    ``benchmarks.run``'s targets table: under ``benchmark`` for ``args.broker``, suffixed
    with the layout (``ingest_split``) unless it ran as ``hub run``."""
    if args.results is None:
        return
    layout = getattr(args, "layout", "run")
    name = benchmark if layout == "run" else f"{benchmark}_{layout}"
    with Path(args.results).open("a") as out:
        out.write(json.dumps({"benchmark": name, "broker": args.broker, "figures": figures}))
        out.write("\n")
