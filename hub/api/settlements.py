"""``GET /v1/settlements/{date}``: the hub's statement of a partner's business day.

Signed like every hub request (``X-Partner-Id``, ``X-Timestamp``, ``X-Signature`` over
the empty body) by any configured partner, whatever its channel; a partner sees only its
own payments. JSON by default; CSV with ``?format=csv`` or ``Accept: text/csv``, whose
header row is the canonical settlement CSV's. Both are streamed: totals first, then
one line per payment, however long the day.
"""

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from hub.errors import FieldProblem, InvalidRequest
from hub.intake.model import Partner
from hub.settlement.book import SettlementBook
from hub.settlement.statement import STATEMENT_COLUMNS
from hub.signing import SignatureVerifier, request_target


def statement_router(book: SettlementBook, verifier: SignatureVerifier) -> APIRouter:
    router = APIRouter(tags=["settlement"])

    @router.get(
        "/v1/settlements/{business_date}",
        summary="The hub's statement of your business day: totals and every payment",
        responses={200: {"content": {"application/json": {}, "text/csv": {}}}},
    )
    async def statement(
        business_date: str,
        request: Request,
        format: Annotated[str | None, Query(pattern="^(json|csv)$")] = None,
        accept: Annotated[str | None, Header()] = None,
        x_partner_id: Annotated[str | None, Header()] = None,
        x_timestamp: Annotated[str | None, Header()] = None,
        x_signature: Annotated[str | None, Header()] = None,
    ) -> StreamingResponse:
        target = request_target(request.url.path, request.url.query)
        body = await request.body()
        partner = await verifier.verify_request(request.headers, request.method, target, body)
        day = _day(business_date)
        as_csv = format == "csv" or (format is None and "text/csv" in (accept or ""))
        if as_csv:
            return StreamingResponse(
                _csv(book, partner, day),
                media_type="text/csv; charset=utf-8",
                headers={
                    "Content-Disposition": (
                        f'attachment; filename="statement-{partner.partner_id}-{day}.csv"'
                    )
                },
            )
        return StreamingResponse(_json(book, partner, day), media_type="application/json")

    return router


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidRequest(
            "the business date is YYYY-MM-DD", [FieldProblem("business_date", "not a date")]
        ) from None


async def _csv(book: SettlementBook, partner: Partner, day: date) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(STATEMENT_COLUMNS)
    count = 0
    async for line in book.lines(partner.partner_id, day):
        writer.writerow(line.cells(partner.timezone))
        count += 1
        if count % 1000 == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


async def _json(book: SettlementBook, partner: Partner, day: date) -> AsyncIterator[bytes]:
    totals = await book.totals(partner.partner_id, day)
    closed = await book.closed_day(partner.partner_id, day)
    head = {
        "partner_id": partner.partner_id,
        "business_date": day.isoformat(),
        "timezone": partner.timezone,
        "closed": None
        if closed is None
        else {"closed_at": closed.closed_at.isoformat(), "closed_by": closed.closed_by},
        "totals": totals.as_json(),
    }
    yield json.dumps(head)[:-1].encode() + b', "transactions": ['
    first = True
    async for line in book.lines(partner.partner_id, day):
        cells = dict(zip(STATEMENT_COLUMNS, line.cells(partner.timezone), strict=True))
        item = {
            **cells,
            "months": line.months,
            "amount": line.amount,
            "after_close": line.after_close,
            "agent_id": line.agent_id,
        }
        yield (b"" if first else b",") + json.dumps(item).encode()
        first = False
    yield b"]}"
