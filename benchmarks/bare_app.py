"""The ingest baseline: a bare FastAPI app that only validates a registration and answers 202.

Same framework, same server and the same uvicorn settings as ``hub run``
(one worker, log_level warning, no access log, no lifespan); no signature
check, no database, no Kafka. ``python -m benchmarks.bare_app --port N``.
"""

import argparse

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from hub.intake.requests import RegistrationRequest


def create_app() -> FastAPI:
    app = FastAPI(title="bare baseline")

    @app.post("/v1/registrations", status_code=202)
    async def submit_registration(request: Request) -> JSONResponse:
        registration = RegistrationRequest.model_validate_json(await request.body())
        return JSONResponse(
            {"reference": registration.reference, "status": "accepted"}, status_code=202
        )

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> Response:
        return Response(b"ok", media_type="text/plain")

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--loop",
        default="auto",
        choices=["auto", "asyncio", "uvloop"],
        help="uvicorn's event loop (auto: uvloop when installed, as uvicorn.run chooses)",
    )
    args = parser.parse_args()
    uvicorn.run(
        create_app(),
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        loop=args.loop,
    )


if __name__ == "__main__":
    main()
