"""Schemathesis over every operation of the OpenAPI, each request signed as its partner signs.

The app is the partner-facing app over the unit fakes (two recorded members). A
signing layer in front of it plays the partner: it reads the body schemathesis
generated and signs the request in the scheme of the channel the path belongs
to (v2 for ``/v1``), so what is tested is the route itself, not a 401. Every
operation must end with no server error and no answer outside its documented
statuses and schemas. Example counts are bounded so ``make test`` stays fast.
"""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from hub.bootstrap import partner_app, schedule_from
from hub.intake.service import IntakeService
from hub.membership.payment_code import PaymentCodes
from hub.settings import load_settings
from tests.channels.bank import driver as bank
from tests.channels.kit import BUDI, SARI
from tests.channels.signers import signed_as
from tests.channels.test_edge import UNAUTHENTICATED, code_of
from tests.support.partner import HUB_API_PATHS
from tests.unit.fakes import FakePublisher, InMemoryNonces, InMemoryRequestLedger

SETTINGS = load_settings(
    rate_limits={
        name: {"per_s": 10_000, "burst": 100_000}
        for name in ("default", "inquiry", "inquiry_by_nik", "upload")
    }
)
PARTNER_OF = {
    "/v1/": "demo",
    "/pos/": "pos-jakarta",
    "/brilink/": "bri",
    "/bni46/": "bni",
    "/indomaret/": "indomaret",
    "/alfamart/": "alfamart",
    "/snap/": "mandiri",
}
SLUG_OF = {
    "/v1/": "hub-api",
    "/pos/": "pos",
    "/brilink/": "brilink",
    "/bni46/": "bni46",
    "/indomaret/": "indomaret",
    "/alfamart/": "alfamart",
    "/snap/": "bank",
}
SIGNATURE_HEADERS = {
    b"x-partner-id",
    b"x-timestamp",
    b"x-signature",
    b"x-signature-version",
    b"x-nonce",
    b"authorization",
}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _app() -> Any:
    codes = PaymentCodes(SETTINGS.payment_code_prefix)
    ledger = InMemoryRequestLedger({m.nik: m for m in (SARI, BUDI)})
    intake = IntakeService(ledger, FakePublisher(), schedule_from(SETTINGS), codes)
    app, _ = partner_app(SETTINGS, intake, InMemoryNonces(), lambda: datetime.now(UTC))
    return app


class SigningPartner:
    """ASGI layer that signs each request as the partner of the channel it is sent to."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.token: str | None = None
        self.external_ids = 0

    async def __call__(self, scope: Any, receive: Callable[[], Any], send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(tuple(PARTNER_OF)):
            await self.app(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        prefix = next(p for p in PARTNER_OF if scope["path"].startswith(p))
        headers = await self.headers(prefix, scope, body)
        kept = [(k, v) for k, v in scope["headers"] if k.lower() not in SIGNATURE_HEADERS]
        signed = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        kept = [(k, v) for k, v in kept if k not in {name for name, _ in signed}]
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # type: ignore[no-any-return]

        await self.app({**scope, "headers": kept + signed}, replay, send)

    async def headers(self, prefix: str, scope: Any, body: bytes) -> dict[str, str]:
        partner = PARTNER_OF[prefix]
        secret = SETTINGS.partners[partner].secret.get_secret_value()
        raw = scope.get("raw_path")
        path = raw.decode("latin-1") if raw else scope["path"]
        query = scope.get("query_string", b"").decode()
        target = f"{path}?{query}" if query else path
        now = datetime.now(UTC)
        slug = SLUG_OF[prefix]
        if slug == "bank":
            return await self.bank_headers(path, body, now, secret)
        if slug in ("hub-api", "bni46"):
            headers = signed_as("hub-api", partner, secret, target, body, now)
            if scope["method"] != "POST":  # v2 binds the method
                from tests.channels.signers import hub_v2_headers

                headers = hub_v2_headers(
                    partner, secret, scope["method"], target, body, int(now.timestamp())
                )
            return headers
        if slug == "pos":
            from adapters.pos.signing import signed_headers

            stamp = now.astimezone(timezone(timedelta(hours=7))).isoformat(timespec="seconds")
            return signed_headers(partner, secret, scope["method"], path, body, stamp)
        return signed_as(slug, partner, secret, path, body, now)

    async def bank_headers(
        self, path: str, body: bytes, now: datetime, secret: str
    ) -> dict[str, str]:
        if path == bank.PATHS["access-token"]:
            return bank.token_headers(now)
        if self.token is None:
            self.token = await self._token(now)
        self.external_ids += 1
        return bank.transaction_headers(
            path, self.token, body, now, f"{self.external_ids:020d}", secret=secret
        )

    async def _token(self, now: datetime) -> str:
        """A B2B access token, asked of the hub itself as the bank does."""
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
            response = await client.post(
                bank.PATHS["access-token"],
                content=b'{"grantType":"client_credentials"}',
                headers=bank.token_headers(now),
            )
        token: str = response.json()["accessToken"]
        return token


schema = schemathesis.openapi.from_asgi("/openapi.json", SigningPartner(_app()))


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_every_operation_signed_has_no_server_error_and_no_schema_violation(case: Any) -> None:
    response = case.call_and_validate(checks=CHECKS)
    if response.status_code != 405:
        prefix = next(p for p in PARTNER_OF if case.path.startswith(p))
        slug = SLUG_OF[prefix]
        try:
            answer = (response.status_code, code_of(slug, response.json()))
        except (ValueError, KeyError, TypeError):
            answer = (response.status_code, "")
        ANSWERS.setdefault(f"{case.method} {case.path}", set()).add(
            "unauthenticated" if answer == UNAUTHENTICATED[slug] else "in"
        )


ANSWERS: dict[str, set[str]] = {}
"""Per operation: did its signed requests get in, or were they all refused as unauthenticated?"""


def test_the_signed_requests_got_past_authentication() -> None:
    assert len(ANSWERS) >= 30
    refused = {op: seen for op, seen in ANSWERS.items() if "in" not in seen}
    assert refused == {}


def test_the_contract_covers_every_v1_and_every_channel_operation() -> None:
    paths = set(schema.raw_schema["paths"])
    assert {p for p in paths if p.startswith("/v1/")} == HUB_API_PATHS
    for prefix in PARTNER_OF:
        assert any(p.startswith(prefix) for p in paths), prefix


def test_every_partner_route_documents_401_413_and_429() -> None:
    for path, operations in schema.raw_schema["paths"].items():
        for method, operation in operations.items():
            documented = set(operation["responses"])
            assert {"401", "413", "429"} <= documented, (method, path, sorted(documented))


def test_the_signature_schemes_are_in_the_openapi() -> None:
    raw = schema.raw_schema
    schemes = raw["components"]["securitySchemes"]
    assert {"SignatureV2", "SignatureV1", "signature"} <= set(schemes)
    assert "BPU-HMAC-SHA256-V2" in schemes["SignatureV2"]["description"]
    assert "signature_v1_allowed" in schemes["SignatureV1"]["description"]
    assert "30 s ahead" in schemes["timestamp"]["description"]


def test_nik_name_phone_and_amount_rules_are_in_the_request_schemas() -> None:
    body = schema.raw_schema["paths"]["/v1/registrations"]["post"]["requestBody"]
    registration = body["content"]["application/json"]["schema"]["properties"]
    assert registration["nik"]["pattern"].startswith("^(1[1-9]|2[1]|3[1-6]")
    assert registration["nik"]["minLength"] == registration["nik"]["maxLength"] == 16
    assert "pattern" in registration["full_name"] and registration["full_name"]["maxLength"] == 100
    assert "pattern" in registration["phone"]
    payment = schema.raw_schema["paths"]["/v1/payments"]["post"]["requestBody"]
    amount = payment["content"]["application/json"]["schema"]["properties"]["amount"]
    assert (amount["type"], amount["minimum"], amount["maximum"]) == ("integer", 0, 10**10)
