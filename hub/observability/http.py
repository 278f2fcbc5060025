"""``/livez``, ``/readyz``, ``/healthz`` and ``/metrics``: unsigned, for probes and Prometheus."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from hub.observability.monitor import Monitor


def health_router(monitor: Monitor | None) -> APIRouter:
    """Liveness, readiness with sub-checks (503 when one fails) and Prometheus metrics."""
    router = APIRouter(include_in_schema=False)

    @router.get("/livez")
    @router.get("/healthz")
    async def livez() -> JSONResponse:
        return JSONResponse({"status": "alive"})

    @router.get("/readyz")
    async def readyz() -> JSONResponse:
        if monitor is None:
            return JSONResponse({"status": "ready", "checks": {}})
        ready, body = monitor.readiness()
        return JSONResponse(body, status_code=200 if ready else 503)

    @router.get("/metrics")
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router
