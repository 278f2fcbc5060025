"""Reconciliation for operators: the ``/ops/v1/reconciliations`` API and the console pages.

``POST /ops/v1/reconciliations`` (multipart: ``partner_id``, ``business_date``, ``file``)
runs the same matcher as ``hub reconcile``; ``GET /ops/v1/reconciliations/{id}`` gives the
run's summary, its exceptions with both sides and the decisions taken on them;
``POST /ops/v1/reconciliations/{id}/lines/{line}/decision`` decides about one line (the
same as ``hub reconcile resolve``). Operators authenticate as on the rest of ``/ops/v1``
(HTTP Basic, or the console's session with its CSRF token); every run and decision is in
the audit log. The console's Reconciliation page lists recent runs and their exceptions.

Its own routers beside the operators' console (``hub/ops``), sharing its sign-in.
"""

import json
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict

from hub.channels import UnknownChannel, settlement_reader
from hub.errors import FieldProblem, InvalidRequest, NotFound
from hub.intake.model import Partner
from hub.ops.sessions import COOKIE
from hub.ops.web import HERE as OPS_HERE
from hub.ops.web import IdInPath, OpsContext, Reason, TargetInPath, operator_auth
from hub.reconciliation.lines import SettlementFileError
from hub.reconciliation.resolution import DecisionKind, Resolver
from hub.reconciliation.service import Reconciler
from hub.reconciliation.store import ReconciliationStore, RunRecord


class DecisionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason
    decision: DecisionKind | None = None


def reconciliation_ops_router(
    ctx: OpsContext,
    reconciler: Reconciler,
    store: ReconciliationStore,
    resolver: Resolver,
    partners: dict[str, Partner],
) -> APIRouter:
    router = APIRouter(prefix="/ops/v1/reconciliations", tags=["operations: reconciliation"])

    Operator = Annotated[str, Depends(operator_auth(ctx))]  # noqa: N806

    @router.post("", status_code=201, summary="Reconcile a partner's settlement file")
    async def upload(
        by: Operator,
        partner_id: Annotated[str, Form()],
        business_date: Annotated[str, Form()],
        file: Annotated[UploadFile, File()],
    ) -> JSONResponse:
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
                via="api",
            )
        except SettlementFileError as exc:
            raise InvalidRequest(f"{reader.format_name}: {exc}") from None
        run = await store.run(report.run_id)
        assert run is not None
        return JSONResponse(await _run_body(store, run), status_code=201)

    @router.get("", summary="Recent reconciliation runs")
    async def recent(_: Operator) -> JSONResponse:
        return JSONResponse([_run_head(r) for r in await store.recent_runs()])

    @router.get("/{run_id}", summary="A run: summary, exceptions with both sides, decisions")
    async def one(run_id: IdInPath, _: Operator) -> JSONResponse:
        run = await store.run(run_id)
        if run is None:
            raise NotFound(f"no reconciliation run {run_id}")
        return JSONResponse(await _run_body(store, run))

    @router.post(
        "/{run_id}/lines/{line}/decision",
        summary="Decide about an exception: pay a missing_in_hub line in, or record a decision",
    )
    async def decide(
        run_id: IdInPath, line: TargetInPath, body: DecisionBody, by: Operator
    ) -> JSONResponse:
        decided = await resolver.resolve(
            run_id, line, by=by, reason=body.reason, decision=body.decision, via="api"
        )
        return JSONResponse(_jsonable(asdict(decided)))

    @router.get("/{run_id}/report.html", summary="The run's printable report")
    async def report(run_id: IdInPath, _: Operator) -> FileResponse:
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


def reconciliation_console_router(ctx: OpsContext, store: ReconciliationStore) -> APIRouter:
    """``/ops/reconciliations``: recent runs, and one run's exceptions and decisions."""
    router = APIRouter(prefix="/ops", include_in_schema=False)
    templates = Jinja2Templates(directory=str(OPS_HERE / "templates"))

    def page(request: Request, **values: Any) -> Response:
        session = ctx.signer.read(request.cookies.get(COOKIE))
        if session is None:
            return RedirectResponse("/ops/login", status_code=303)
        return templates.TemplateResponse(
            request,
            "reconciliations.html",
            {
                "operator": session.operator,
                "csrf": ctx.signer.csrf_token(session),
                "page": "reconciliations",
                "flash": None,
                **values,
            },
            headers={"Cache-Control": "no-store"},
        )

    @router.get("/reconciliations")
    async def runs(request: Request) -> Response:
        return page(request, runs=await store.recent_runs(), run=None)

    @router.get("/reconciliations/{run_id}")
    async def one(request: Request, run_id: IdInPath) -> Response:
        run = await store.run(run_id)
        if run is None:
            return HTMLResponse("no such run", status_code=404)
        decided = {d.line: d for d in await store.decisions(run_id)}
        return page(
            request,
            runs=await store.recent_runs(),
            run=run,
            exceptions=[(e, decided.get(e.line)) for e in await store.exceptions(run_id)],
        )

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
