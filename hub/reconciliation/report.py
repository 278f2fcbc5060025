"""What a run leaves for finance: summary.json, exceptions.csv and a self-contained report.html."""

import csv
import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hub.reconciliation.matcher import CATEGORIES, ExceptionLine

EXCEPTION_COLUMNS = (
    "line",
    "category",
    "reference",
    "nik",
    "payment_code",
    "months",
    "partner_amount",
    "partner_paid_at",
    "hub_reference",
    "hub_amount",
    "hub_paid_at",
    "hub_business_date",
    "detail",
    "collected_by",
)
"""``collected_by``: the agent the hub recorded (Perisai), else the outlet or agent the
partner's file names (e.g. a post office's kodeKantor): whom to ask about the cash."""

_LABELS = {
    "matched": "Matched",
    "missing_in_hub": "Missing in hub",
    "missing_in_partner": "Missing in partner file",
    "amount_mismatch": "Amount mismatch",
    "duplicate_in_file": "Duplicate in file",
    "reversed_but_settled": "Reversed but settled",
    "after_cutoff": "After cut-off / close",
}
_COLOURS = {
    "matched": "#2e7d32",
    "missing_in_hub": "#c62828",
    "missing_in_partner": "#ef6c00",
    "amount_mismatch": "#6a1b9a",
    "duplicate_in_file": "#283593",
    "reversed_but_settled": "#00838f",
    "after_cutoff": "#5d4037",
}


def line_order(exception: ExceptionLine) -> tuple[int, int]:
    """File lines in file order, then the hub's lines (H1, H2...)."""
    if exception.line.startswith("H"):
        return (1, int(exception.line[1:]))
    return (0, int(exception.line))


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _inert(text: str) -> str:
    """``text`` as a spreadsheet keeps it: text, never a formula.

    The partner's file and requests supply references, NIKs, codes and outlets, and
    finance opens this file in a spreadsheet, which runs a cell starting with ``=``, ``+``,
    ``-`` or ``@`` (or a tab or carriage return) as a formula (OWASP: CSV injection). A
    quote in front keeps it text and shows it as it was sent.
    """
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def write_exceptions(path: Path, exceptions: Sequence[ExceptionLine], zone: ZoneInfo) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(EXCEPTION_COLUMNS)
        for e in sorted(exceptions, key=line_order):
            line, hub = e.partner, e.hub
            writer.writerow(
                (
                    e.line,
                    e.category,
                    _inert(e.reference or ""),
                    _inert((line.nik if line else None) or (hub.nik if hub else "") or ""),
                    _inert((line.payment_code if line else None) or ""),
                    "" if line is None or line.months is None else line.months,
                    "" if line is None else line.amount,
                    "" if line is None or line.paid_at is None else line.paid_at.isoformat(),
                    "" if hub is None else hub.hub_reference,
                    "" if e.hub_amount is None else e.hub_amount,
                    "" if hub is None else hub.paid_at.astimezone(zone).isoformat(),
                    "" if hub is None else hub.business_date.isoformat(),
                    _inert(e.detail),
                    _inert(
                        (hub.agent_id if hub else None) or (line.outlet if line else None) or ""
                    ),
                )
            )


def write_summary(path: Path, summary: dict[str, Any]) -> None:
    path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")


def _rp(amount: int) -> str:
    return "Rp" + f"{amount:,}".replace(",", ".")


def _when(iso: str) -> str:
    """An ISO 8601 instant as finance reads it: to the second, with its offset."""
    return f"{iso[:19].replace('T', ' ')} {iso[26:] if len(iso) > 26 else iso[19:]}".strip()


def _chart(hours: Sequence[dict[str, int]]) -> str:
    """An inline SVG: lines per hour of the partner's day, matched and exceptions stacked."""
    width, height, left, bottom = 760, 220, 40, 30
    bar = (width - left - 10) / 24
    peak = max([h["matched"] + h["exceptions"] for h in hours] + [1])
    scale = (height - bottom - 10) / peak
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="Lines per hour of the day">',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" y2="{height - bottom}" '
        'stroke="#555"/>',
        f'<text x="4" y="14" font-size="11">{peak:,}</text>',
    ]
    for h in hours:
        hour = h["hour"]
        if hour < 0:
            continue
        x = left + hour * bar + 2
        matched_h = h["matched"] * scale
        except_h = h["exceptions"] * scale
        base = height - bottom
        parts.append(
            f'<rect x="{x:.1f}" y="{base - matched_h:.1f}" width="{bar - 4:.1f}" '
            f'height="{matched_h:.1f}" fill="{_COLOURS["matched"]}">'
            f"<title>{hour:02d}:00 matched {h['matched']:,}</title></rect>"
        )
        parts.append(
            f'<rect x="{x:.1f}" y="{base - matched_h - except_h:.1f}" width="{bar - 4:.1f}" '
            f'height="{except_h:.1f}" fill="{_COLOURS["missing_in_hub"]}">'
            f"<title>{hour:02d}:00 exceptions {h['exceptions']:,}</title></rect>"
        )
    for hour in range(0, 24, 3):
        x = left + hour * bar + bar / 2
        parts.append(
            f'<text x="{x:.1f}" y="{height - 12}" font-size="11" text-anchor="middle">'
            f"{hour:02d}:00</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def write_html(path: Path, summary: dict[str, Any], exceptions: Sequence[ExceptionLine]) -> None:
    """One page, no external assets: open it in a browser or print it."""
    e = html.escape
    cats = summary["categories"]
    rows = "".join(
        f'<tr><td><span class="dot" style="background:{_COLOURS[c]}"></span>{_LABELS[c]}</td>'
        f'<td class="n">{cats[c]["count"]:,}</td>'
        f'<td class="n">{_rp(cats[c]["partner_amount"])}</td>'
        f'<td class="n">{_rp(cats[c]["hub_amount"])}</td></tr>'
        for c in CATEGORIES
    )
    shown = sorted(exceptions, key=line_order)[:500]
    exception_rows = "".join(
        f"<tr><td>{e(x.line)}</td><td>{e(_LABELS[x.category])}</td><td>{e(x.reference or '')}</td>"
        f'<td class="n">{"" if x.partner is None else _rp(x.partner.amount)}</td>'
        f'<td class="n">{"" if x.hub_amount is None else _rp(x.hub_amount)}</td>'
        f"<td>{e(x.detail)}</td></tr>"
        for x in shown
    )
    more = (
        f"<p>{len(exceptions) - len(shown):,} more in exceptions.csv.</p>"
        if len(exceptions) > len(shown)
        else ""
    )
    verdict = (
        '<p class="ok">Every line matched.</p>'
        if summary["all_matched"]
        else f'<p class="bad">{summary["exceptions"]:,} line(s) need a decision.</p>'
    )
    hub = summary["hub"]
    file_ = summary["file"]
    closed = summary.get("closed")
    closed_text = (
        f"closed {e(_when(closed['closed_at']))} by {e(closed['closed_by'])}"
        if closed
        else "not closed yet"
    )
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Reconciliation {e(summary["partner_id"])} {e(summary["business_date"])}</title>
<style>
body{{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}}
h1{{font-size:20px;margin:0 0 4px}} table{{border-collapse:collapse;margin:12px 0}}
td,th{{border-bottom:1px solid #ddd;padding:4px 10px;text-align:left}} .n{{text-align:right}}
.dot{{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px}}
.ok{{color:#2e7d32;font-weight:600}} .bad{{color:#c62828;font-weight:600}}
.facts td{{border:none;padding:2px 10px 2px 0}}
@media print{{body{{margin:8mm}}}}
</style></head><body>
<h1>Reconciliation: {e(summary["partner_id"])}, business day {e(summary["business_date"])}</h1>
{verdict}
<table class="facts">
<tr><td>Partner file</td><td>{e(file_["name"])} ({e(file_["format"])}),
 {file_["lines"]:,} lines, {_rp(file_["amount"])}</td></tr>
<tr><td>Hub</td><td>{hub["payments"]:,} payments, {_rp(hub["payments_amount"])};
 reversed {hub["reversed"]:,} ({_rp(hub["reversed_amount"])});
 net {_rp(hub["net_amount"])}</td></tr>
<tr><td>Day</td><td>{closed_text} (zone {e(summary["timezone"])})</td></tr>
<tr><td>Run</td><td>#{summary["run_id"]} by {e(summary["started_by"])} at
 {e(_when(summary["started_at"]))}, {summary["seconds"]:.2f} s</td></tr>
</table>
<h2>Totals per category</h2>
<table><tr><th>category</th><th class="n">lines</th><th class="n">partner amount</th>
<th class="n">hub amount</th></tr>{rows}</table>
<h2>The day, hour by hour (partner's clock)</h2>
{_chart(summary["hours"])}
<p><span class="dot" style="background:{_COLOURS["matched"]}"></span>matched
<span class="dot" style="background:{_COLOURS["missing_in_hub"]};margin-left:12px"></span>
exceptions</p>
<h2>Exceptions</h2>
<table><tr><th>line</th><th>category</th><th>reference</th><th class="n">partner</th>
<th class="n">hub</th><th>detail</th></tr>{exception_rows}</table>{more}
</body></html>
"""
    path.write_text(page, encoding="utf-8")
