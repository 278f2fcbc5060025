"""The partner API in-process: signed requests in, HTTP answers out, over the fakes."""

import time
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date
from typing import Any

import httpx
import pytest

from hub.api.app import create_app
from hub.intake.model import Partner
from hub.intake.service import IntakeService
from hub.settings import PartnerSettings
from hub.signing import SignatureHeaders, SignatureVerifier
from tests.support.partner import HUB_API_PATHS
from tests.unit.fakes import (
    BALI_WOMAN_NIK,
    OTHER_SECRET,
    PARTNERS,
    SARI,
    FakePublisher,
    InMemoryRequestLedger,
    registration_body,
    signed_headers,
    to_json,
)


def _payment(**changes: Any) -> dict[str, Any]:
    """Bali woman's one month, as a partner posts it, with ``changes``."""
    return {
        "reference": "PAY-0001",
        "nik": BALI_WOMAN_NIK,
        "months": 1,
        "amount": 16_800,
        "paid_at": "2026-03-10T10:00:00+08:00",
    } | changes


@pytest.fixture
async def client(intake: IntakeService) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(intake, SignatureVerifier(PARTNERS, window_s=300))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        yield client


async def _post(
    client: httpx.AsyncClient, path: str, body: dict[str, Any] | bytes, **sign_kw: Any
) -> httpx.Response:
    raw = body if isinstance(body, bytes) else to_json(body)
    return await client.post(path, content=raw, headers=signed_headers(raw, **sign_kw))


async def _get(client: httpx.AsyncClient, path: str, **sign_kw: Any) -> httpx.Response:
    return await client.get(path, headers=signed_headers(b"", **sign_kw))


async def test_signed_registration_is_accepted_with_202(client: httpx.AsyncClient) -> None:
    response = await _post(client, "/v1/registrations", registration_body("REG-0001"))

    assert response.status_code == 202
    body = response.json()
    assert body["reference"] == "REG-0001"
    assert body["hub_reference"].startswith("REG-")
    assert body["status"] == "accepted"
    assert set(body) == {"reference", "hub_reference", "status"}


async def test_retried_registration_gets_the_same_202(client: httpx.AsyncClient) -> None:
    first = await _post(client, "/v1/registrations", registration_body())
    again = await _post(client, "/v1/registrations", registration_body())

    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json() == first.json()


async def test_registration_with_a_bad_signature_is_401(
    client: httpx.AsyncClient, publisher: FakePublisher
) -> None:
    response = await _post(
        client, "/v1/registrations", registration_body(), secret="not-the-secret"
    )

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    assert "WWW-Authenticate" in response.headers
    assert publisher.published == []


async def test_unsigned_registration_is_401(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/registrations", content=to_json(registration_body()))

    assert response.status_code == 401


async def test_registration_signed_too_long_ago_is_401(client: httpx.AsyncClient) -> None:
    stale = int(time.time()) - 301

    response = await _post(client, "/v1/registrations", registration_body(), timestamp=stale)

    assert response.status_code == 401
    assert "300 s" in response.json()["error"]["message"]


async def test_registration_with_an_invalid_nik_is_422_naming_the_field(
    client: httpx.AsyncClient,
) -> None:
    response = await _post(client, "/v1/registrations", registration_body(nik="2071044508900001"))

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["fields"][0]["field"] == "nik"
    assert "unknown province code '20'" in error["fields"][0]["reason"]


async def test_registration_naming_each_bad_field_with_its_reason(
    client: httpx.AsyncClient,
) -> None:
    response = await _post(
        client,
        "/v1/registrations",
        registration_body(phone="12345", declared_income=16800.5, programmes=["JKK", "JP"]),
    )

    assert response.status_code == 422
    fields = {f["field"]: f["reason"] for f in response.json()["error"]["fields"]}
    assert {"phone", "declared_income"} <= set(fields)
    assert any(name.startswith("programmes") for name in fields)
    assert all(reason for reason in fields.values())


async def test_registration_whose_nik_contradicts_the_birth_date_is_422(
    client: httpx.AsyncClient,
) -> None:
    response = await _post(client, "/v1/registrations", registration_body(birth_date="1990-08-06"))

    assert response.status_code == 422
    assert "does not match the NIK" in response.json()["error"]["fields"][0]["reason"]


async def test_garbage_body_is_422_not_500(client: httpx.AsyncClient) -> None:
    response = await _post(client, "/v1/registrations", b"not json")

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["fields"][0]["field"] == "body"


async def test_registration_with_income_between_brackets_is_422(
    client: httpx.AsyncClient,
) -> None:
    response = await _post(
        client, "/v1/registrations", registration_body(declared_income=1_200_000)
    )

    assert response.status_code == 422
    assert response.json()["error"]["fields"] == [
        {
            "field": "declared_income",
            "reason": "not a bracket; nearest valid: 1.000.000 or 1.500.000",
        }
    ]


async def test_reused_reference_with_a_different_body_is_409(client: httpx.AsyncClient) -> None:
    await _post(client, "/v1/registrations", registration_body("REG-0001"))

    response = await _post(
        client, "/v1/registrations", registration_body("REG-0001", occupation="nelayan")
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "reference_conflict"


async def test_broker_down_is_503_with_retry_after(
    client: httpx.AsyncClient, publisher: FakePublisher
) -> None:
    publisher.down = True

    response = await _post(client, "/v1/registrations", registration_body())

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "7"
    assert response.json()["error"]["code"] == "temporarily_unavailable"


async def test_registration_retried_after_a_503_is_accepted(
    client: httpx.AsyncClient, publisher: FakePublisher
) -> None:
    publisher.down = True
    assert (await _post(client, "/v1/registrations", registration_body())).status_code == 503

    publisher.down = False
    response = await _post(client, "/v1/registrations", registration_body())

    assert response.status_code == 202


async def test_registration_status_is_visible_to_its_partner_only(
    client: httpx.AsyncClient,
) -> None:
    accepted = (await _post(client, "/v1/registrations", registration_body("REG-0001"))).json()

    mine = await _get(client, "/v1/registrations/REG-0001")
    theirs = await _get(
        client, "/v1/registrations/REG-0001", partner_id="other", secret=OTHER_SECRET
    )

    assert mine.status_code == 200
    assert mine.json()["hub_reference"] == accepted["hub_reference"]
    assert mine.json()["status"] == "accepted"
    assert theirs.status_code == 404
    assert theirs.json()["error"]["code"] == "not_found"


async def test_inquiry_then_payment_of_the_amount_due(client: httpx.AsyncClient) -> None:
    await _post(client, "/v1/registrations", registration_body())

    inquiry = await _post(client, "/v1/payments/inquiry", {"nik": BALI_WOMAN_NIK, "months": 3})
    assert inquiry.status_code == 200
    due = inquiry.json()
    assert due["name"] == "N* M*** S***"
    assert due["amount_due"] == 50_400
    assert (due["covers_from"], due["covers_through"]) == ("2026-03-01", "2026-05-01")

    payment = _payment(months=3, amount=due["amount_due"])
    response = await _post(client, "/v1/payments", payment)

    assert response.status_code == 202
    assert response.json()["hub_reference"].startswith("PAY-")


async def test_payment_of_the_wrong_amount_is_422_telling_the_amount_due(
    client: httpx.AsyncClient,
) -> None:
    await _post(client, "/v1/registrations", registration_body())
    payment = _payment(amount=16_000)

    response = await _post(client, "/v1/payments", payment)

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "amount_mismatch"
    assert error["fields"] == [{"field": "amount", "reason": "must be 16800"}]


@pytest.mark.parametrize(
    ("paid_at", "reason"),
    [
        (0.5, "a time is ISO 8601 with an offset, e.g. 2026-03-10T09:55:00+08:00"),
        (1_773_107_700, "a time is ISO 8601 with an offset, e.g. 2026-03-10T09:55:00+08:00"),
        ("1773107700", "a time is ISO 8601 with an offset, e.g. 2026-03-10T09:55:00+08:00"),
        ("1999-12-31T23:59:59+07:00", "the year must be between 2000 and 2100"),
        ("2026-03-10T10:00:00", "Input should have timezone info"),
    ],
    ids=["a-float", "unix-seconds", "unix-seconds-as-text", "year-1999", "no-offset"],
)
async def test_a_payment_time_that_is_a_number_or_implausible_is_422_and_nothing_is_paid(
    client: httpx.AsyncClient, publisher: FakePublisher, paid_at: object, reason: str
) -> None:
    # Read as seconds since 1970, 0.5 would have dated a real payment 1 January 1970.
    await _post(client, "/v1/registrations", registration_body())
    payment = _payment(paid_at=paid_at)

    response = await _post(client, "/v1/payments", payment)

    assert response.status_code == 422
    assert response.json()["error"]["fields"] == [{"field": "paid_at", "reason": reason}]
    assert [p.envelope.event_type for p in publisher.published] == ["RegistrationSubmitted"]


async def test_inquiry_for_an_unknown_member_is_404(client: httpx.AsyncClient) -> None:
    response = await _post(client, "/v1/payments/inquiry", {"nik": BALI_WOMAN_NIK, "months": 1})

    assert response.status_code == 404


async def test_openapi_lists_exactly_the_hub_api_partner_paths(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/openapi.json")

    assert response.status_code == 200
    assert set(response.json()["paths"]) == HUB_API_PATHS


async def test_openapi_documents_the_registration_request_body(
    client: httpx.AsyncClient,
) -> None:
    spec = (await client.get("/openapi.json")).json()

    operation = spec["paths"]["/v1/registrations"]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert operation["requestBody"]["required"] is True
    assert {"reference", "nik", "full_name", "birth_date", "sex", "declared_income"} <= set(
        schema["required"]
    )
    assert "programmes" in schema["properties"]
    assert {"202", "401", "409", "422", "503"} <= set(operation["responses"])


async def test_signature_header_with_non_ascii_bytes_is_401_not_500(
    client: httpx.AsyncClient,
) -> None:
    raw = to_json(registration_body())
    headers: dict[str, Any] = signed_headers(raw)
    headers["X-Signature"] = "é".encode("latin-1") * 64

    try:
        response = await client.post("/v1/registrations", content=raw, headers=headers)
    except TypeError:
        pytest.fail("the app raised instead of answering 401")

    assert response.status_code == 401


async def test_inquiry_names_the_arrears_and_the_months_asked_for(
    client: httpx.AsyncClient, ledger: InMemoryRequestLedger
) -> None:
    # Sari one month further behind: paid through January, so February is in arrears.
    ledger.members[BALI_WOMAN_NIK] = replace(SARI, paid_through=date(2026, 1, 1))

    inquiry = await _post(client, "/v1/payments/inquiry", {"nik": BALI_WOMAN_NIK, "months": 1})

    due = inquiry.json()
    assert {k: due[k] for k in due if k.startswith(("arrears", "months", "covers", "amount"))} == {
        "arrears_months": 1,
        "arrears_from": "2026-02-01",
        "arrears_through": "2026-02-01",
        "arrears_amount": 16_800,
        "months": 1,
        "months_from": "2026-03-01",
        "covers_from": "2026-02-01",
        "covers_through": "2026-03-01",
        "amount_due": 33_600,
    }


class _CountingVerifier(SignatureVerifier):
    """Counts the requests whose headers it preflights."""

    def preflight(self, signed: SignatureHeaders) -> tuple[Partner, PartnerSettings]:
        _PREFLIGHTS.append(signed)
        return super().preflight(signed)


_PREFLIGHTS: list[SignatureHeaders] = []


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/v1/registrations", to_json(registration_body("REG-0001")), 202),
        ("GET", "/v1/registrations/REG-NONE", b"", 404),
    ],
)
async def test_a_signed_requests_headers_are_checked_once(
    intake: IntakeService, method: str, path: str, body: bytes, status: int
) -> None:
    """The edge checks them before the body is read; the route verifies the body
    against what the edge found, not reading and checking the headers again."""
    _PREFLIGHTS.clear()
    app = create_app(intake, _CountingVerifier(PARTNERS, window_s=300))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        response = await client.request(method, path, content=body, headers=signed_headers(body))

    assert response.status_code == status
    assert len(_PREFLIGHTS) == 1
