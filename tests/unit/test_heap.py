"""The collector's pauses: start-up's objects are frozen out of its walk, and each
collection's pause is counted under its generation."""

import gc
from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY

from hub.observability.heap import measure_gc_pauses, settle_heap
from hub.settings import load_settings


def _pauses(generation: str) -> float:
    value = REGISTRY.get_sample_value("hub_gc_pause_seconds_count", {"generation": generation})
    return 0.0 if value is None else value


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


@pytest.mark.usefixtures("unfrozen")
def test_settling_the_heap_puts_what_startup_made_out_of_the_collectors_walk() -> None:
    made_at_startup = [object() for _ in range(1000)]
    assert gc.get_freeze_count() == 0

    settle_heap()

    assert gc.get_freeze_count() >= len(made_at_startup)
    assert not any(o is made_at_startup for o in gc.get_objects())


@pytest.fixture
def thresholds_restored() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.set_threshold(*before)


@pytest.mark.usefixtures("unfrozen", "thresholds_restored")
def test_settling_the_heap_sets_the_collectors_thresholds_when_given() -> None:
    gc.set_threshold(700, 10, 10)

    settle_heap((50_000, 20, 100))

    assert gc.get_threshold() == (50_000, 20, 100)


@pytest.mark.usefixtures("unfrozen", "thresholds_restored")
def test_settling_the_heap_without_thresholds_leaves_the_collectors_own() -> None:
    gc.set_threshold(700, 10, 10)

    settle_heap()

    assert gc.get_threshold() == (700, 10, 10)


def test_the_hub_collects_young_objects_every_50000_allocations_by_default() -> None:
    assert load_settings().gc_thresholds == (50_000, 20, 100)


def test_a_process_serving_the_api_collects_young_objects_every_50000_allocations() -> None:
    settings = load_settings()

    assert settings.collector_thresholds(serves_api=True) == (50_000, 20, 100)


def test_a_consumer_only_process_collects_young_objects_every_million_allocations() -> None:
    settings = load_settings()

    assert settings.collector_thresholds(serves_api=False) == (1_000_000, 20, 100)


def test_each_kind_of_process_takes_its_own_configured_thresholds() -> None:
    settings = load_settings(gc_thresholds=(1_000, 2, 3), consumer_gc_thresholds=(4_000, 5, 6))

    assert settings.collector_thresholds(serves_api=True) == (1_000, 2, 3)
    assert settings.collector_thresholds(serves_api=False) == (4_000, 5, 6)


@pytest.fixture
def no_automatic_collections() -> Iterator[None]:
    gc.disable()  # only the test's own collections happen in between
    try:
        yield
    finally:
        gc.enable()


@pytest.mark.usefixtures("no_automatic_collections")
def test_each_collection_is_counted_once_under_its_generation() -> None:
    measure_gc_pauses()
    measure_gc_pauses()  # a second call must not count every pause twice
    full, young = _pauses("2"), _pauses("0")

    gc.collect(2)
    gc.collect(0)

    assert _pauses("2") == full + 1
    assert _pauses("0") == young + 1
