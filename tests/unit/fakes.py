"""Small hand-written fakes of intake's ports, plus helpers shared by the unit tests.

The fakes honour the same contracts as the SQL ledger and the Kafka publisher:
``claim`` inserts or returns what is already held under (partner, kind, reference),
and ``publish`` either returns (acknowledged) or raises ``BrokerUnavailable``.
"""

import asyncio
import functools
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy.exc import DBAPIError

from hub.agents.registry import AgentRecord
from hub.bootstrap import coverage_rules, schedule_from
from hub.errors import BrokerUnavailable
from hub.intake import ports
from hub.membership.coverage import CoverageRules
from hub.membership.kpj import kpj_for
from hub.membership.schedule import ContributionSchedule
from hub.settings import PartnerSettings, load_settings
from hub.settlement.business_day import first_open_day
from hub.signing import sign
from schemas.events import ContributionPaid, EventEnvelope, RegistrationSubmitted

BALI_WOMAN_NIK = "5171044508900001"
"""A woman (day 45 -> 05) born 1990-08-05 in Bali (province 51, WITA)."""
JAKARTA_MAN_NIK = "3171011203850002"
"""A man born 1985-03-12 in DKI Jakarta (province 31, WIB)."""

SARI = ports.MemberTerms(
    nik=BALI_WOMAN_NIK,
    full_name="NI MADE SARI",
    programmes=("JKK", "JKM"),
    declared_income=1_000_000,
    paid_through=date(2026, 2, 1),
    kpj=kpj_for(1),
    registered_month=date(2025, 1, 1),
)
"""Recorded, paid through February 2026: owes Rp16,800 a month from March (WITA)."""

DEMO_SECRET = "demo-secret"
OTHER_SECRET = "other-secret"
PARTNERS = {
    "demo": PartnerSettings(secret=DEMO_SECRET),
    "other": PartnerSettings(secret=OTHER_SECRET),
}

NOW = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
"""The unit tests' fixed clock: 10 March 2026, 09:00 WIB."""


@functools.cache
def configured_rules() -> CoverageRules:
    """The arrears, lapse and calendar rules exactly as config/hub.toml declares them."""
    return coverage_rules(load_settings())


@functools.cache
def configured_schedule() -> ContributionSchedule:
    """The contribution schedule exactly as config/hub.toml declares it."""
    return schedule_from(load_settings())


class InMemoryRequestLedger:
    """``RequestLedger`` in a dict, unique by (partner_id, kind, reference)."""

    def __init__(self, members: dict[str, ports.MemberTerms] | None = None) -> None:
        self.requests: dict[tuple[str, str, str], ports.ClaimedRequest] = {}
        self.members: dict[str, ports.MemberTerms] = dict(members or {})
        self.closed: set[tuple[str, date]] = set()
        """Closed business days, (partner, day), as ``hub settle close`` leaves them."""
        self.redrives: dict[UUID, int] = {}
        self.reversal_references: dict[tuple[str, str], ports.ReversalReference] = {}

    async def claim(self, request: ports.NewRequest) -> ports.ClaimedRequest:
        # Yield once, as a real database round trip would, so concurrent claims interleave.
        await asyncio.sleep(0)
        key = (request.partner_id, request.kind, request.reference)
        held = self.requests.get(key)
        if held is None:
            # Dated as the store dates it: a closed day's request goes to the next open day.
            facts, day = request.settlement, None
            if facts is not None:
                closed = {d for partner, d in self.closed if partner == request.partner_id}
                day = first_open_day(facts.business_date, closed)
            after_close = facts is not None and day != facts.business_date
            # What the request says, under the same names; the rest is what a new claim is.
            said = {name: getattr(request, name) for name in request.__struct_fields__}
            held = ports.ClaimedRequest(
                **{
                    name: said[name]
                    for name in ports.ClaimedRequest.__struct_fields__
                    if name in said
                },
                status="pending",
                kpj=None,
                reason=None,
                created_at=request.received_at,
                updated_at=request.received_at,
                business_date=day,
                after_close=after_close,
            )
            self.requests[key] = held
        return held

    async def mark_accepted(self, event_id: UUID, at: datetime) -> None:
        for key, held in self.requests.items():
            if held.event_id == event_id and held.status in ("pending", "accepted"):
                self.requests[key] = msgspec.structs.replace(held, status="accepted", updated_at=at)

    async def lease_unrecorded(
        self, accepted_before: datetime, now: datetime, limit: int
    ) -> list[ports.UnrecordedRequest]:
        due = [  # in claim order, as the store leases them
            (key, held)
            for key, held in self.requests.items()
            if held.status == "accepted"
            and held.updated_at is not None
            and held.updated_at < accepted_before
        ][:limit]
        leased = []
        for key, held in due:
            self.requests[key] = msgspec.structs.replace(held, updated_at=now)
            self.redrives[held.event_id] = self.redrives.get(held.event_id, 0) + 1
            leased.append(
                ports.UnrecordedRequest(
                    held.partner_id,
                    held.kind,
                    held.reference,
                    held.event_id,
                    held.member_key,
                    held.event_json,
                    self.redrives[held.event_id],
                )
            )
        return leased

    def record(self, event_id: UUID) -> None:
        """What the core consumer does once it applied the event."""
        for key, held in self.requests.items():
            if held.event_id == event_id:
                self.requests[key] = msgspec.structs.replace(held, status="recorded")

    async def find(
        self, partner_id: str, kind: ports.RequestKind, reference: str
    ) -> ports.ClaimedRequest | None:
        return self.requests.get((partner_id, kind, reference))

    async def claim_many(self, requests: Sequence[ports.NewRequest]) -> list[ports.ClaimedRequest]:
        return [await self.claim(request) for request in requests]

    async def claim_reversal_reference(
        self, reference: ports.ReversalReference
    ) -> ports.ReversalReference:
        await asyncio.sleep(0)
        key = (reference.partner_id, reference.reference)
        return self.reversal_references.setdefault(key, reference)

    async def find_reversal_reference(
        self, partner_id: str, reference: str
    ) -> ports.ReversalReference | None:
        return self.reversal_references.get((partner_id, reference))

    async def reversal_named(
        self, partner_id: str, payment_reference: str, agent_id: str | None
    ) -> bool:
        await asyncio.sleep(0)
        return any(
            (r.partner_id, r.payment_reference, r.agent_id)
            == (partner_id, payment_reference, agent_id)
            for r in self.reversal_references.values()
        )

    async def member_terms(self, nik: str) -> ports.MemberTerms | None:
        if nik in self.members:
            return self.members[nik]
        for held in self.requests.values():
            if held.kind == "registration" and held.member_key == nik and held.status == "accepted":
                return ports.MemberTerms.of_accepted_registration(held.event_json)
        return None

    async def member_terms_by_kpj(self, kpj: str) -> ports.MemberTerms | None:
        return next((m for m in self.members.values() if m.kpj == kpj), None)

    async def is_closed(self, partner_id: str, day: date) -> bool:
        return (partner_id, day) in self.closed

    def close_day_of(self, partner_id: str, reference: str) -> None:
        """Close the business day of one of the partner's payments."""
        day = self.requests[(partner_id, "payment", reference)].business_date
        assert day is not None
        self.closed.add((partner_id, day))

    def statuses(self) -> list[str]:
        return [held.status for held in self.requests.values()]


class InMemoryNonces:
    """``NonceRegistry`` in a set."""

    def __init__(self) -> None:
        self.seen: set[tuple[str, date, str]] = set()

    async def first_use(self, partner_id: str, day: date, nonce: str) -> bool:
        key = (partner_id, day, nonce)
        if key in self.seen:
            return False
        self.seen.add(key)
        return True


PERISAI_AGENCY = "perisai-bali"
"""The Perisai agency of config/test.toml (secret ``perisai-bali-secret``, WITA)."""


def _agent(agent_id: str, name: str, salt: str) -> AgentRecord:
    issued = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)
    return AgentRecord(agent_id, PERISAI_AGENCY, name, salt, issued, "ops: Dewi", issued)


AGENT_KETUT = _agent("prs-bali-0001", "Ketut (Desa Sanur Kaja)", "5f2b9c0e7a1d4e6f8a3b2c1d0e9f8a7b")
# printf 'BPU-AGENT-KEY-V1\nprs-bali-0001\n5f2b9c0e7a1d4e6f8a3b2c1d0e9f8a7b' \
#   | openssl dgst -sha256 -hmac perisai-bali-secret
AGENT_KETUT_KEY = "548fa84ccbe760fc8cfb1fc55b39134b00a27a72b1c7e26cf12c2885e0d5765d"
AGENT_MADE = _agent("prs-bali-0002", "Made (Desa Kesiman)", "0123456789abcdef0123456789abcdef")
# the same with prs-bali-0002 and its salt
AGENT_MADE_KEY = "526267e556858fa83c80b811308fa5737ca4d563ff97f1975667f5de2fb2e1a4"


class InMemoryAgentStore:
    """``AgentStore`` in a dict; ``revoke`` as ``hub agents revoke`` leaves a record."""

    def __init__(self, *records: AgentRecord) -> None:
        self.records = {r.agent_id: r for r in records}

    async def get(self, agent_id: str) -> AgentRecord | None:
        return self.records.get(agent_id)

    async def active_agencies(self) -> dict[str, str]:
        return {a: r.partner_id for a, r in self.records.items() if r.active}

    def revoke(self, agent_id: str, at: datetime = NOW) -> None:
        self.records[agent_id] = replace(
            self.records[agent_id], revoked_at=at, revoked_by="ops: Dewi", revoke_reason="test"
        )


@dataclass(frozen=True, slots=True)
class Published:
    key: str
    value: bytes

    @property
    def envelope(self) -> EventEnvelope:
        return EventEnvelope.model_validate_json(self.value)


class FakePublisher:
    """``EventPublisher`` that records what the broker acknowledged; can be taken down."""

    def __init__(self) -> None:
        self.published: list[Published] = []
        self.down = False

    async def publish(self, key: str, value: bytes) -> None:
        await asyncio.sleep(0)
        if self.down:
            raise BrokerUnavailable("fake broker is down", retry_after_s=7)
        self.published.append(Published(key, value))

    async def refusing(self, send: Callable[[], Awaitable[object]]) -> BrokerUnavailable:
        """Take the broker down (it stays down) and ``send``: its partner is told to try
        again. Returns the refusal."""
        self.down = True
        try:
            await send()
        except BrokerUnavailable as refused:
            return refused
        raise AssertionError("sent while the broker was down, and not refused")

    async def publish_many(
        self, events: Sequence[tuple[str, bytes]]
    ) -> list[BrokerUnavailable | None]:
        results: list[BrokerUnavailable | None] = []
        for key, value in events:
            try:
                await self.publish(key, value)
                results.append(None)
            except BrokerUnavailable as unavailable:
                results.append(unavailable)
        return results


def signed_headers(
    body: bytes,
    partner_id: str = "demo",
    secret: str = DEMO_SECRET,
    timestamp: int | None = None,
) -> dict[str, str]:
    """The three headers a partner sends with ``body``."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "X-Partner-Id": partner_id,
        "X-Timestamp": stamp,
        "X-Signature": sign(secret, stamp, body),
        "Content-Type": "application/json",
    }


def to_json(data: dict[str, Any]) -> bytes:
    return json.dumps(data).encode()


def registration_body(reference: str = "REG-0001", **changes: Any) -> dict[str, Any]:
    """A valid registration request of the Bali woman, as a partner sends it."""
    body: dict[str, Any] = {
        "reference": reference,
        "nik": BALI_WOMAN_NIK,
        "full_name": "Ni Made Sari",
        "birth_date": "1990-08-05",
        "sex": "F",
        "phone": "0812-3456-7890",
        "address": "Jl. Raya Ubud 1, Gianyar",
        "occupation": "pedagang",
        "declared_income": 1_000_000,
        "programmes": ["JKK", "JKM"],
    }
    body.update(changes)
    return body


def registration_payload(nik: str = BALI_WOMAN_NIK, **changes: Any) -> RegistrationSubmitted:
    fields: dict[str, Any] = {
        "nik": nik,
        "full_name": "NI MADE SARI",
        "birth_date": date(1990, 8, 5),
        "sex": "F",
        "phone": "+6281234567890",
        "address": "Jl. Raya Ubud 1, Gianyar",
        "occupation": "pedagang",
        "declared_income": 1_000_000,
        "programmes": ("JKK", "JKM"),
    }
    if nik == JAKARTA_MAN_NIK:
        fields.update(full_name="BUDI SANTOSO", birth_date=date(1985, 3, 12), sex="M")
    fields.update(changes)
    return RegistrationSubmitted(**fields)


def envelope(
    payload: RegistrationSubmitted | ContributionPaid | Any,
    partner_ref: str = "REF-1",
    at: datetime = datetime(2026, 1, 10, 3, 0, tzinfo=UTC),
    partner_id: str = "demo",
) -> EventEnvelope:
    """An envelope around ``payload`` as the hub's own API channel would publish it."""
    return EventEnvelope(
        event_id=uuid.uuid4(),
        event_type=payload.event_type,
        channel="hub-api",
        partner_id=partner_id,
        partner_ref=partner_ref,
        occurred_at=at,
        received_at=at,
        member_key=payload.nik,
        payload=payload,
    )


class _DriverError(Exception):
    """What asyncpg raises, as far as the hub reads it: an error with a SQLSTATE."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def store_refusal(sqlstate: str) -> DBAPIError:
    """A statement the store refused with ``sqlstate``, as SQLAlchemy raises it."""
    return DBAPIError("INSERT ...", {}, _DriverError(sqlstate))
