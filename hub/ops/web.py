"""The operator API (``/ops/v1``) and the operator console (``/ops/``), served by the hub.

The console is server-rendered (Jinja2) with one small script that refreshes the flow
view; every asset ships in the package (``hub/ops/static``), so it works without a network.
Every form carries a CSRF token bound to the session; every action goes through
``OperatorActions``, which records it in the audit table.
"""

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Form, Header, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from hub.channels.signatures import signatures_match
from hub.observability.lag import PartitionLag
from hub.ops.actions import Action, OperatorActions, Outcome
from hub.ops.auth import OperatorDirectory
from hub.ops.flow import flow_by_channel
from hub.ops.sessions import COOKIE, Session, SessionSigner

HERE = Path(__file__).parent
LOGIN_COOKIE = "hub_ops_login"


@dataclass
class OpsContext:
    actions: OperatorActions
    operators: OperatorDirectory
    signer: SessionSigner
    channel_of: dict[str, str]
    lag: Callable[[], Awaitable[list[PartitionLag]]]
    stuck_after_s: float


def _no_nul(text: str) -> str:
    if "\x00" in text:
        raise ValueError("a NUL character (\\u0000) cannot be stored")
    return text


MAX_ID = 2**63 - 1
RowId = Annotated[int, Field(ge=1, le=MAX_ID)]
"""A row's id, a bigint: a larger number is a 422, not the store's overflow error."""
Reason = Annotated[str, Field(min_length=3, max_length=500), AfterValidator(_no_nul)]
Reference = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_no_nul)]
IdInPath = Annotated[int, PathParam(ge=1, le=MAX_ID)]
TargetInPath = Annotated[str, PathParam(min_length=1, max_length=64, pattern=r"^[^\x00]+$")]
Limit = Annotated[int, Query(ge=1, le=10_000)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReplayBody(_Strict):
    ids: list[Reference] = Field(min_length=1)
    reason: Reason
    dry_run: bool = False


class RedeliverBody(_Strict):
    ids: list[RowId] = Field(min_length=1)
    reason: Reason


class RedriveBody(_Strict):
    hub_references: list[Reference] = Field(min_length=1)
    reason: Reason


class DecisionBody(_Strict):
    reason: Reason


def _outcomes(outcomes: list[Outcome]) -> JSONResponse:
    body = [{"target": o.target, "ok": o.ok, "message": o.message} for o in outcomes]
    return JSONResponse({"results": body}, status_code=200 if all(o.ok for o in outcomes) else 409)


def _lag_json(rows: list[PartitionLag]) -> dict[str, Any]:
    return {
        "total": sum(r.lag for r in rows),
        "partitions": [
            {
                "topic": r.topic,
                "partition": r.partition,
                "end_offset": r.end_offset,
                "committed": r.committed,
                "lag": r.lag,
            }
            for r in rows
        ],
    }


async def _flow_json(ctx: OpsContext, minutes: int) -> dict[str, Any]:
    flow = await flow_by_channel(ctx.actions.engine, ctx.channel_of, minutes)
    return {
        "channels": {
            channel: [
                {
                    "minute": m.minute,
                    "accepted": m.accepted,
                    "recorded": m.recorded,
                    "rejected": m.rejected,
                }
                for m in minutes_
            ]
            for channel, minutes_ in flow.items()
        },
        "lag": _lag_json(await ctx.lag()),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _session(ctx: OpsContext, request: Request) -> Session | None:
    return ctx.signer.read(request.cookies.get(COOKIE))


def operator_auth(ctx: OpsContext) -> Callable[..., Awaitable[str]]:
    """The one way into ``/ops/v1``: an operator's HTTP Basic credentials, or the console's
    session cookie with its CSRF token on anything that changes state."""

    async def operator(
        request: Request,
        authorization: Annotated[str | None, Header()] = None,
        x_csrf_token: Annotated[str | None, Header()] = None,
    ) -> str:
        name = ctx.operators.basic(authorization)
        if name is not None:
            return name
        session = _session(ctx, request)
        if session is not None:
            unsafe = request.method not in ("GET", "HEAD", "OPTIONS")
            if unsafe and not ctx.signer.csrf_ok(session, x_csrf_token):
                raise HTTPException(403, "missing or wrong X-CSRF-Token")
            return session.operator
        raise HTTPException(
            401, "operator credentials required", headers={"WWW-Authenticate": 'HubOps realm="ops"'}
        )

    return operator


def api_router(ctx: OpsContext) -> APIRouter:
    """``/ops/v1``: HTTP Basic with an operator's credentials, or the console's session."""
    router = APIRouter(prefix="/ops/v1", tags=["operations"])

    Operator = Annotated[str, Depends(operator_auth(ctx))]  # noqa: N806

    @router.get("/flow")
    async def flow(_: Operator, minutes: int = 15) -> JSONResponse:
        return JSONResponse(await _flow_json(ctx, max(1, min(minutes, 120))))

    @router.get("/lag")
    async def lag(_: Operator) -> JSONResponse:
        return JSONResponse(_lag_json(await ctx.lag()))

    @router.get("/dead-letters")
    async def dead_letters(_: Operator, limit: Limit = 200) -> JSONResponse:
        letters = await ctx.actions.dead_letters.letters(limit)
        replayed = await ctx.actions.replayed_letters()
        return JSONResponse([_letter_json(d, d.id in replayed) for d in letters])

    @router.get("/dead-letters/{letter_id}")
    async def dead_letter(letter_id: str, _: Operator) -> JSONResponse:
        try:
            letter = await ctx.actions.dead_letters.letter(letter_id)
        except LookupError as exc:
            raise HTTPException(404, str(exc)) from None
        replayed = letter.id in await ctx.actions.replayed_letters()
        return JSONResponse({**_letter_json(letter, replayed), "event": letter.masked_event()})

    @router.post("/dead-letters/replay")
    async def replay(body: ReplayBody, who: Operator) -> JSONResponse:
        return _outcomes(await ctx.actions.replay(body.ids, who, body.reason, "api", body.dry_run))

    @router.get("/callbacks")
    async def callbacks(
        _: Operator, status: Literal["pending", "delivered", "failed"] = "failed"
    ) -> JSONResponse:
        rows = await ctx.actions.callbacks(status)
        return JSONResponse(
            [
                {
                    "id": c.id,
                    "notification_id": c.notification_id,
                    "partner_id": c.partner_id,
                    "reference": c.reference,
                    "event": c.event,
                    "url": c.url,
                    "status": c.status,
                    "last_error": c.last_error,
                    "attempts": [
                        {
                            "attempt": a.attempt,
                            "attempted_at": a.attempted_at.isoformat(),
                            "http_status": a.http_status,
                            "error": a.error,
                        }
                        for a in c.attempts
                    ],
                }
                for c in rows
            ]
        )

    @router.post("/callbacks/redeliver")
    async def redeliver(body: RedeliverBody, who: Operator) -> JSONResponse:
        return _outcomes(await ctx.actions.redeliver(body.ids, who, body.reason, "api"))

    @router.get("/requests/stuck")
    async def stuck(
        _: Operator,
        older_than_s: Annotated[float | None, Query(ge=0, le=10 * 366 * 86_400)] = None,
    ) -> JSONResponse:
        rows = await ctx.actions.stuck(older_than_s or ctx.stuck_after_s)
        return JSONResponse(
            [
                {
                    "hub_reference": s.hub_reference,
                    "partner_id": s.partner_id,
                    "kind": s.kind,
                    "reference": s.reference,
                    "event_id": s.event_id,
                    "accepted_at": s.accepted_at.isoformat(),
                    "age_s": round(s.age_s, 1),
                }
                for s in rows
            ]
        )

    @router.post("/requests/redrive")
    async def redrive(body: RedriveBody, who: Operator) -> JSONResponse:
        return _outcomes(await ctx.actions.redrive(body.hub_references, who, body.reason, "api"))

    @router.get("/changes")
    async def changes(_: Operator) -> JSONResponse:
        rows = await ctx.actions.review.pending()
        return JSONResponse(
            [
                {
                    "id": c.id,
                    "kpj": c.kpj,
                    "field": c.field,
                    "current_value": c.current_value,
                    "proposed_value": c.proposed_value,
                    "from": f"{c.channel}/{c.partner_id} {c.partner_ref}",
                    "received_at": c.created_at.isoformat(),
                }
                for c in rows
            ]
        )

    @router.post("/changes/{change_id}/{decision}")
    async def decide(
        change_id: IdInPath,
        decision: Literal["approve", "reject"],
        body: DecisionBody,
        who: Operator,
    ) -> JSONResponse:
        verdict: Literal["approved", "rejected"] = (
            "approved" if decision == "approve" else "rejected"
        )
        outcome = await ctx.actions.decide_change(change_id, verdict, who, body.reason, "api")
        return _outcomes([outcome])

    @router.get("/audit")
    async def audit(_: Operator, limit: Limit = 200) -> JSONResponse:
        entries = await ctx.actions.audit.recent(limit)
        return JSONResponse(
            [
                {
                    "id": e.id,
                    "at": e.at.isoformat(),
                    "operator": e.operator,
                    "action": e.action,
                    "target": e.target,
                    "reason": e.reason,
                    "outcome": e.outcome,
                    "detail": e.detail,
                    "via": e.via,
                }
                for e in entries
            ]
        )

    return router


def _letter_json(letter: Any, replayed: bool) -> dict[str, Any]:
    return {
        "id": letter.id,
        "dead_lettered_at": letter.dead_lettered_at.isoformat(),
        "error": letter.error,
        "source": letter.source,
        "event_id": letter.event_id,
        "event_type": letter.event_type,
        "partner_id": letter.partner_id,
        "reference": letter.reference,
        "replayed": replayed,
    }


class _LoginRequired(Exception):
    pass


def console_router(ctx: OpsContext) -> APIRouter:
    """``/ops/``: Flow, Stuck & dead letters, Callbacks, Member changes, Audit log."""
    router = APIRouter(prefix="/ops", include_in_schema=False)
    templates = Jinja2Templates(directory=str(HERE / "templates"))

    def page(request: Request, session: Session, name: str, **values: Any) -> HTMLResponse:
        return templates.TemplateResponse(
            request,
            f"{name}.html",
            {
                "operator": session.operator,
                "csrf": ctx.signer.csrf_token(session),
                "page": name,
                "flash": request.query_params.get("flash"),
                **values,
            },
            headers={"Cache-Control": "no-store"},
        )

    def signed_in(request: Request) -> Session:
        session = _session(ctx, request)
        if session is None:
            raise _LoginRequired
        return session

    SignedIn = Annotated[Session, Depends(signed_in)]  # noqa: N806

    async def acting(
        request: Request, csrf: Annotated[str, Form()] = "", reason: Annotated[str, Form()] = ""
    ) -> tuple[Session, str]:
        """A state-changing form: signed in, the session's CSRF token, and a reason."""
        session = signed_in(request)
        if not ctx.signer.csrf_ok(session, csrf):
            raise HTTPException(403, "missing or wrong CSRF token")
        if len(reason.strip()) < 3:
            raise HTTPException(422, "say why (a reason of at least 3 characters)")
        if "\x00" in reason or len(reason) > 500:
            raise HTTPException(422, "a reason is at most 500 characters, with no NUL")
        return session, reason.strip()

    Acting = Annotated[tuple[Session, str], Depends(acting)]  # noqa: N806

    def back(to: str, outcomes: list[Outcome]) -> RedirectResponse:
        message = "; ".join(o.message for o in outcomes)
        return RedirectResponse(f"{to}?flash={quote(message[:300])}", status_code=303)

    @router.get("/login")
    async def login_form(request: Request) -> HTMLResponse:
        token = secrets.token_hex(16)
        response = templates.TemplateResponse(
            request, "login.html", {"login_token": token, "error": None, "page": "login"}
        )
        response.set_cookie(
            LOGIN_COOKIE,
            token,
            httponly=True,
            samesite="strict",
            path="/ops",
            secure=request.url.scheme == "https",
        )
        return response

    @router.post("/login")
    async def login(
        request: Request,
        username: Annotated[str, Form()],
        password: Annotated[str, Form()],
        login_token: Annotated[str, Form()] = "",
    ) -> Response:
        cookie = request.cookies.get(LOGIN_COOKIE, "")
        if not cookie or not signatures_match(cookie, login_token):
            raise HTTPException(403, "missing or wrong CSRF token; reload the sign-in page")
        if not ctx.operators.check(username, password):
            token = secrets.token_hex(16)
            response: Response = templates.TemplateResponse(
                request,
                "login.html",
                {"login_token": token, "error": "Wrong name or password.", "page": "login"},
                status_code=401,
            )
            response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", path="/ops")
            return response
        response = RedirectResponse("/ops/flow", status_code=303)
        response.set_cookie(
            COOKIE,
            ctx.signer.issue(username),
            httponly=True,
            samesite="strict",
            path="/ops",
            secure=request.url.scheme == "https",
        )
        response.delete_cookie(LOGIN_COOKIE, path="/ops")
        return response

    @router.post("/logout")
    async def logout(request: Request, csrf: Annotated[str, Form()] = "") -> Response:
        session = signed_in(request)
        if not ctx.signer.csrf_ok(session, csrf):
            raise HTTPException(403, "missing or wrong CSRF token")
        response = RedirectResponse("/ops/login", status_code=303)
        response.delete_cookie(COOKIE, path="/ops")
        return response

    @router.get("/")
    async def home(_: SignedIn) -> RedirectResponse:
        return RedirectResponse("/ops/flow", status_code=303)

    @router.get("/flow")
    async def flow(request: Request, session: SignedIn) -> HTMLResponse:
        return page(request, session, "flow", flow=await _flow_json(ctx, 15))

    @router.get("/stuck")
    async def stuck(request: Request, session: SignedIn) -> HTMLResponse:
        letters = await ctx.actions.dead_letters.letters(200)
        replayed = await ctx.actions.replayed_letters()
        return page(
            request,
            session,
            "stuck",
            letters=[(d, d.id in replayed, d.masked_event()) for d in letters],
            stuck=await ctx.actions.stuck(ctx.stuck_after_s),
            stuck_after_s=ctx.stuck_after_s,
        )

    def action_route(path: str, act: Action, to: str) -> None:
        """``POST path``: the operator's action on the ``{target}`` in the path, then ``to``."""

        async def endpoint(target: TargetInPath, acting: Acting) -> RedirectResponse:
            session, reason = acting
            return back(to, await act([target], session.operator, reason, "console"))

        router.post(path, name=act.__name__)(endpoint)

    action_route("/dead-letters/{target}/replay", ctx.actions.replay, "/ops/stuck")
    action_route("/requests/{target}/redrive", ctx.actions.redrive, "/ops/stuck")

    @router.get("/callbacks")
    async def callbacks(request: Request, session: SignedIn) -> HTMLResponse:
        return page(request, session, "callbacks", callbacks=await ctx.actions.callbacks("failed"))

    @router.post("/callbacks/{delivery_id}/redeliver")
    async def redeliver(delivery_id: IdInPath, acting: Acting) -> RedirectResponse:
        session, reason = acting
        outcomes = await ctx.actions.redeliver([delivery_id], session.operator, reason, "console")
        return back("/ops/callbacks", outcomes)

    @router.get("/changes")
    async def changes(request: Request, session: SignedIn) -> HTMLResponse:
        return page(request, session, "changes", changes=await ctx.actions.review.pending())

    @router.post("/changes/{change_id}/{decision}")
    async def decide(
        change_id: IdInPath, decision: Literal["approve", "reject"], acting: Acting
    ) -> RedirectResponse:
        session, reason = acting
        verdict: Literal["approved", "rejected"] = (
            "approved" if decision == "approve" else "rejected"
        )
        outcome = await ctx.actions.decide_change(
            change_id, verdict, session.operator, reason, "console"
        )
        return back("/ops/changes", [outcome])

    @router.get("/audit")
    async def audit(request: Request, session: SignedIn) -> HTMLResponse:
        return page(request, session, "audit", entries=await ctx.actions.audit.recent(200))

    return router


def mount_operations(app: FastAPI, ctx: OpsContext) -> None:
    """The ops API, the console and its vendored assets, on the hub's app."""

    @app.exception_handler(_LoginRequired)
    async def _to_login(_: Request, __: _LoginRequired) -> Response:
        return RedirectResponse("/ops/login", status_code=303)

    app.include_router(api_router(ctx))
    app.include_router(console_router(ctx))
    app.mount("/ops/static", StaticFiles(directory=HERE / "static"), name="ops-static")
