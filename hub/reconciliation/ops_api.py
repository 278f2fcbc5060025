"""The operators' reconciliation API: upload a partner's file, read a run and its exceptions.

``POST /ops/v1/reconciliations`` (multipart: ``partner_id``, ``business_date``, ``file``)
runs the same matcher as ``hub reconcile``; ``GET /ops/v1/reconciliations/{id}`` gives the
run's summary, its exceptions with both sides and the decisions taken on them. Operators
authenticate with ``Authorization: Bearer <token>`` (``ops_tokens`` in config, by name).
Its own router, so the operators' console mounts beside it.
"""

import hmac
import json
from collections.abc import Mapping
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Header, UploadFile
from fastapi.responses import FileResponse, JSONResponse

from hub.channels import UnknownChannel, settlement_reader
from hub.errors import FieldProblem, InvalidRequest, NotFound, Unauthenticated
from hub.intake.service import Partner
from hub.reconciliation.lines import SettlementFileError
from hub.reconciliation.service import Reconciler
from hub.reconciliation.store import ReconciliationStore, RunRecord


def reconciliation_ops_router(
    reconciler: Reconciler,
    store: ReconciliationStore,
    partners: Mapping[str, Partner],
    tokens: Mapping[str, str],
) -> APIRouter:
    router = APIRouter(prefix="/ops/v1/reconciliations", tags=["operations: reconciliation"])

    def operator(authorization: str | None) -> str:
        given = (authorization or "").removeprefix("Bearer ").strip().encode()
        for name, token in tokens.items():
            if given and hmac.compare_digest(given, token.encode()):
                return name
        raise Unauthenticated("an operator's bearer token is required")

    @router.post("", status_code=201, summary="Reconcile a partner's settlement file")
    async def upload(
        partner_id: Annotated[str, Form()],
        business_date: Annotated[str, Form()],
        file: Annotated[UploadFile, File()],
        authorization: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        by = operator(authorization)
        partner = partners.get(partner_id)
        if partner is None:
            raise NotFound(f"no partner {partner_id!r}")
        try:
            day = date.fromisoformat(business_date)
        except ValueError:
            raise InvalidRequest(
                "business_date is YYYY-MM-DD", [FieldProblem("business_date", "not a date")]
            ) from None
        try:
            reader = settlement_reader(partner.channel)
        except UnknownChannel as exc:
            raise InvalidRequest(str(exc)) from None
        try:
            report = await reconciler.reconcile(
                partner_id,
                partner.timezone,
                day,
                file.file,
                file.filename or "upload",
                reader,
                by,
            )
        except SettlementFileError as exc:
            raise InvalidRequest(f"{reader.format_name}: {exc}") from None
        run = await store.run(report.run_id)
        assert run is not None
        return JSONResponse(await _run_body(store, run), status_code=201)

    @router.get("", summary="Recent reconciliation runs")
    async def recent(authorization: Annotated[str | None, Header()] = None) -> JSONResponse:
        operator(authorization)
        runs = await store.recent_runs()
        return JSONResponse([_run_head(r) for r in runs])

    @router.get("/{run_id}", summary="A run: summary, exceptions with both sides, decisions")
    async def one(
        run_id: int, authorization: Annotated[str | None, Header()] = None
    ) -> JSONResponse:
        operator(authorization)
        run = await store.run(run_id)
        if run is None:
            raise NotFound(f"no reconciliation run {run_id}")
        return JSONResponse(await _run_body(store, run))

    @router.get("/{run_id}/report.html", summary="The run's printable report")
    async def report(
        run_id: int, authorization: Annotated[str | None, Header()] = None
    ) -> FileResponse:
        operator(authorization)
        run = await store.run(run_id)
        path = None if run is None else Path(run.output_dir) / "report.html"
        if path is None or not path.exists():
            raise NotFound(f"no report for run {run_id}")
        # The folder holds the partner-day's latest run; an older run's page is gone.
        latest = json.loads((path.parent / "summary.json").read_text()).get("run_id")
        if latest != run_id:
            raise NotFound(f"run {run_id}'s report was replaced by run {latest}'s")
        return FileResponse(path, media_type="text/html")

    return router


def _run_head(run: RunRecord) -> dict[str, Any]:
    summary = run.summary or {}
    return {
        "id": run.id,
        "partner_id": run.partner_id,
        "business_date": run.business_date.isoformat(),
        "file_name": run.file_name,
        "file_format": run.file_format,
        "status": run.status,
        "started_by": run.started_by,
        "started_at": run.started_at.isoformat(),
        "finished_at": None if run.finished_at is None else run.finished_at.isoformat(),
        "exceptions": summary.get("exceptions"),
    }


async def _run_body(store: ReconciliationStore, run: RunRecord) -> dict[str, Any]:
    exceptions = await store.exceptions(run.id)
    decisions = await store.decisions(run.id)
    return {
        **_run_head(run),
        "summary": run.summary,
        "exception_lines": [_jsonable(asdict(e)) for e in exceptions],
        "decisions": [_jsonable(asdict(d)) for d in decisions],
    }


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in values.items()}
