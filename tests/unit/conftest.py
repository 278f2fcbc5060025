"""Fixtures of the unit tests: the intake service over in-memory fakes."""

import pytest

from hub.intake.service import IntakeService
from tests.unit.fakes import NOW, FakePublisher, InMemoryRequestLedger, configured_schedule


@pytest.fixture
def ledger() -> InMemoryRequestLedger:
    return InMemoryRequestLedger()


@pytest.fixture
def publisher() -> FakePublisher:
    return FakePublisher()


@pytest.fixture
def intake(ledger: InMemoryRequestLedger, publisher: FakePublisher) -> IntakeService:
    return IntakeService(ledger, publisher, configured_schedule(), clock=lambda: NOW)
