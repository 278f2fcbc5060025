"""Re-drive from the inbox, over the in-memory ledger and a fake broker (fixed clock)."""

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest

from hub.intake.model import Partner
from hub.intake.redrive import Redriver
from hub.intake.requests import PaymentRequest, RegistrationRequest
from hub.intake.service import IntakeService
from hub.observability.metrics import REDRIVES
from tests.unit.fakes import (
    FakePublisher,
    InMemoryRequestLedger,
    configured_schedule,
    registration_body,
)

T0 = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
DEMO = Partner("demo", "hub-api")


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def world() -> tuple[InMemoryRequestLedger, FakePublisher, Clock, IntakeService]:
    ledger, publisher, clock = InMemoryRequestLedger(), FakePublisher(), Clock()
    intake = IntakeService(
        ledger, publisher, configured_schedule(), clock=clock, redrive_after=timedelta(seconds=60)
    )
    return ledger, publisher, clock, intake


def _registration(reference: str) -> RegistrationRequest:
    return RegistrationRequest.model_validate(registration_body(reference))


async def test_an_accepted_request_unrecorded_after_the_threshold_is_published_again(
    world: tuple[InMemoryRequestLedger, FakePublisher, Clock, IntakeService],
) -> None:
    ledger, publisher, clock, intake = world
    await intake.submit_registration(DEMO, _registration("REG-1"))
    first = publisher.published[0]
    redriver = Redriver(ledger, publisher, timedelta(seconds=60), clock=clock)

    clock.now = T0 + timedelta(seconds=59)
    assert await redriver.redrive_due() == (0, 0), "younger than the threshold: left alone"

    clock.now = T0 + timedelta(seconds=61)
    before = REDRIVES.labels("loop")._value.get()
    assert await redriver.redrive_due() == (1, 1)
    assert REDRIVES.labels("loop")._value.get() == before + 1, "hub_redrives_total counts it"
    again = publisher.published[1]
    assert (again.key, again.value) == (first.key, first.value)
    assert again.envelope.event_id == first.envelope.event_id
    # Leased: not published again until another threshold has passed.
    assert await redriver.redrive_due() == (0, 0)
    clock.now = T0 + timedelta(seconds=122)
    assert await redriver.redrive_due() == (1, 1)
    assert redriver.redriven == 2


async def test_recorded_and_rejected_requests_are_never_redriven(
    world: tuple[InMemoryRequestLedger, FakePublisher, Clock, IntakeService],
) -> None:
    ledger, publisher, clock, intake = world
    await intake.submit_registration(DEMO, _registration("REG-1"))
    ledger.record(publisher.published[0].envelope.event_id)
    clock.now = T0 + timedelta(hours=1)
    assert await Redriver(ledger, publisher, timedelta(seconds=60), clock=clock).redrive_due() == (
        0,
        0,
    )
    assert len(publisher.published) == 1


async def test_a_partner_retry_of_a_stale_unrecorded_request_redrives_it_at_once(
    world: tuple[InMemoryRequestLedger, FakePublisher, Clock, IntakeService],
) -> None:
    _, publisher, clock, intake = world
    request = _registration("REG-1")
    accepted = await intake.submit_registration(DEMO, request)

    clock.now = T0 + timedelta(seconds=30)
    assert await intake.submit_registration(DEMO, request) == accepted
    assert len(publisher.published) == 1, "a prompt retry of an accepted request publishes nothing"

    clock.now = T0 + timedelta(seconds=90)
    assert await intake.submit_registration(DEMO, request) == accepted
    assert len(publisher.published) == 2
    assert publisher.published[1].value == publisher.published[0].value


async def test_a_broker_outage_during_redrive_is_waited_out_and_the_rows_are_tried_again(
    world: tuple[InMemoryRequestLedger, FakePublisher, Clock, IntakeService],
    caplog: pytest.LogCaptureFixture,
) -> None:
    ledger, publisher, clock, intake = world
    for i in range(3):
        await intake.submit_registration(DEMO, _registration(f"REG-{i}"))
    redriver = Redriver(ledger, publisher, timedelta(seconds=60), clock=clock)
    publisher.down = True
    clock.now = T0 + timedelta(seconds=61)
    with pytest.raises(Exception, match="broker is down"):
        await redriver.redrive_due()
    publisher.down = False
    clock.now = T0 + timedelta(seconds=122)
    with caplog.at_level(logging.WARNING, logger="hub.redrive"):
        assert await redriver.redrive_due() == (3, 3)
    assert "re-drove 3" in caplog.text
    assert len(publisher.published) == 6


class SlowRegistrations(FakePublisher):
    """A broker that takes longer to acknowledge registrations than payments."""

    async def publish(self, key: str, value: bytes) -> None:
        if b"RegistrationSubmitted" in value:
            await asyncio.sleep(0.02)
        await super().publish(key, value)


async def test_a_members_redriven_registration_goes_out_before_its_redriven_payment() -> None:
    ledger, clock = InMemoryRequestLedger(), Clock()
    intake = IntakeService(ledger, FakePublisher(), configured_schedule(), clock=clock)
    registration = _registration("REG-1")
    await intake.submit_registration(DEMO, registration)
    await intake.submit_payment(
        DEMO,
        PaymentRequest(
            reference="PAY-1", nik=registration.nik, months=1, amount=16_800, paid_at=T0
        ),
    )
    publisher = SlowRegistrations()
    clock.now = T0 + timedelta(minutes=5)
    assert await Redriver(ledger, publisher, timedelta(seconds=60), clock=clock).redrive_due() == (
        2,
        2,
    )
    assert [p.envelope.event_type for p in publisher.published] == [
        "RegistrationSubmitted",
        "ContributionPaid",
    ]
