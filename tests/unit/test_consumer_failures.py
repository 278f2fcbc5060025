"""The core consumer's failure paths, with honest fakes for the broker client and the store.

The integration tests run the same consumer on the real broker and PostgreSQL; these
make the failures happen on cue: a fetch that errors, an offset commit refused after a
rebalance, a dead-letter send that fails, a store that is down or loses a lock race.
"""

import asyncio
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from uuid import UUID

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import CommitFailedError, KafkaConnectionError
from sqlalchemy.exc import OperationalError

from hub.kafka.consumer import DECODE_STEP, CoreConsumer, _fetched
from hub.settings import load_settings
from hub.store.recording import BatchResult, IncomingEvent
from schemas.events import EventEnvelope
from tests.unit.fakes import envelope, registration_payload, store_refusal

TOPIC = "member-events"
TP = TopicPartition(TOPIC, 0)


@dataclass
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()


@dataclass
class Reassigned:
    """A rebalance while a fetch waits, as aiokafka's ``getmany`` lives through one: the
    group revokes, assigns ``partitions``, and the fetch returns ``records`` fetched
    under the new assignment (the consumer's position is already past them)."""

    partitions: set[TopicPartition]
    records: dict[TopicPartition, list["Record"]]


class FakeKafkaConsumer:
    """Hands out scripted fetches; errors in the script are raised in turn."""

    def __init__(self, script: list[Any]) -> None:
        self.script = script
        self.commits: list[dict[TopicPartition, int]] = []
        self.commit_errors: list[Exception] = []
        self.commit_takes_s: float | None = 0.0
        """How long the broker takes to answer a commit; None: it never answers."""
        self.assigned = {TP, TopicPartition(TOPIC, 1)}
        self.on_revoked: Callable[[], None] = lambda: None

    async def getmany(
        self, *partitions: TopicPartition, **_: Any
    ) -> dict[TopicPartition, list[Record]]:
        """The next scripted fetch. Asked for some partitions only (the whole script is the
        buffer, then): the first scripted fetch's records of those, or nothing."""
        await asyncio.sleep(0)
        if not self.script:
            await asyncio.sleep(0.01)
            return {}
        if partitions:
            for i, step in enumerate(self.script):
                if isinstance(step, dict) and step.keys() & set(partitions):
                    taken = {tp: step.pop(tp) for tp in partitions if tp in step}
                    if not step:
                        del self.script[i]
                    return taken
            return {}
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        if isinstance(step, Reassigned):
            self.on_revoked()
            self.assigned = step.partitions
            return step.records
        return step  # type: ignore[no-any-return]

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        if self.commit_takes_s is None:
            await asyncio.Event().wait()  # as aiokafka waits for a coordinator that is silent
        await asyncio.sleep(self.commit_takes_s or 0)
        if self.commit_errors:
            raise self.commit_errors.pop(0)
        self.commits.append(offsets)

    def assignment(self) -> set[TopicPartition]:
        return self.assigned


class FakeDeadLetters:
    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.sent: list[tuple[str, bytes | None, list[tuple[str, bytes]]]] = []

    async def send_and_wait(
        self, topic: str, value: bytes | None, key: bytes | None, headers: list[tuple[str, bytes]]
    ) -> None:
        if self.failures:
            self.failures -= 1
            raise KafkaConnectionError("broker gone")
        self.sent.append((topic, value, headers))


@dataclass
class FakeRecorder:
    """Applies events in memory; raises the scripted errors first."""

    errors: list[Exception] = field(default_factory=list)
    refuse: set[UUID] = field(default_factory=set)
    applied: list[UUID] = field(default_factory=list)
    rejected: dict[UUID, str] = field(default_factory=dict)
    takes_concurrent_batches: bool = False
    takes_s: float = 0.0
    """How long a transaction takes: others may start meanwhile."""
    fails_for_good_on: int | None = None
    """A partition whose transaction raises a bug (not a store error), early."""
    transactions: list[list[int]] = field(default_factory=list)
    """Each transaction's events, as their partitions, in the order they started."""
    most_at_once: int = 0
    cancelled: int = 0
    _at_once: int = 0

    async def connect_ahead(self, transactions: int) -> None:
        """Nothing to connect to: the fake store is in memory."""

    async def apply(self, events: Sequence[IncomingEvent]) -> BatchResult:
        if self.errors:
            raise self.errors.pop(0)
        self.transactions.append([e.partition for e in events])
        fails = self.fails_for_good_on in {e.partition for e in events}
        self._at_once += 1
        self.most_at_once = max(self.most_at_once, self._at_once)
        try:
            await asyncio.sleep(self.takes_s / 10 if fails else self.takes_s)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self._at_once -= 1
        if fails:
            raise RuntimeError("a bug in the recording service")
        if any(e.envelope.event_id in self.refuse for e in events):
            raise store_refusal("23514")  # check_violation: a real refusal, not an outage
        fresh = [e.envelope.event_id for e in events if e.envelope.event_id not in self.applied]
        self.applied.extend(fresh)
        return BatchResult(len(fresh), 0, len(events) - len(fresh))

    async def reject_dead_letters(self, reasons: dict[UUID, str]) -> int:
        self.rejected.update(reasons)
        return len(reasons)


def _records(count: int, start: int = 0, partition: int = 0) -> list[Record]:
    out = []
    for i in range(count):
        event = envelope(registration_payload(), partner_ref=f"REF-{uuid.uuid4().hex[:8]}")
        out.append(
            Record(
                TOPIC,
                partition,
                start + i,
                event.member_key.encode(),
                event.model_dump_json().encode(),
            )
        )
    return out


def _consumer(
    script: list[Any],
    recorder: FakeRecorder,
    dead: FakeDeadLetters | None = None,
    ack_timeout_s: float = 5.0,
) -> tuple[CoreConsumer, FakeKafkaConsumer, FakeDeadLetters]:
    settings = load_settings(
        kafka_bootstrap_servers="127.0.0.1:1",
        kafka_member_events_topic=TOPIC,
        kafka_ack_timeout_s=ack_timeout_s,
    )
    core = CoreConsumer(settings, "127.0.0.1:1", recorder)  # type: ignore[arg-type]
    fake, letters = FakeKafkaConsumer(script), dead or FakeDeadLetters()
    core._consumer = fake  # type: ignore[assignment]
    fake.on_revoked = core._revoked
    core._dead_letters = letters  # type: ignore[assignment]
    return core, fake, letters


async def _run_until(core: CoreConsumer, done: Any, within_s: float = 10.0) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(core.run(stop))
    try:
        async with asyncio.timeout(within_s):
            while not done():
                await asyncio.sleep(0.01)
    finally:
        stop.set()
        await task


async def test_fetch_errors_are_waited_out_and_logged_once_then_consuming_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    recorder = FakeRecorder()
    records = _records(3)
    core, fake, _ = _consumer(
        [KafkaConnectionError("1"), KafkaConnectionError("2"), {TP: records}], recorder
    )
    with caplog.at_level(logging.WARNING, logger="hub.kafka.consumer"):
        await _run_until(core, lambda: len(recorder.applied) == 3)
    assert fake.commits == [{TP: 3}]
    unavailable = [r for r in caplog.records if "unavailable" in r.getMessage()]
    back = [r for r in caplog.records if "available again" in r.getMessage()]
    assert (len(unavailable), len(back)) == (1, 1), "one line per state change, not per retry"


async def test_a_refused_offset_commit_leaves_the_batch_applied_and_its_replay_harmless() -> None:
    recorder = FakeRecorder()
    records = _records(2)
    core, fake, _ = _consumer([{TP: records}, {TP: records}], recorder)
    fake.commit_errors.append(CommitFailedError("rebalanced"))
    await _run_until(core, lambda: core.stats.batches == 2)
    assert len(recorder.applied) == 2
    assert core.stats.duplicates == 2, "the replayed batch was recognised, not applied again"
    assert fake.commits == [{TP: 2}]


async def test_a_stop_waits_for_a_commit_the_broker_never_answers_only_the_ack_timeout(
    caplog: pytest.LogCaptureFixture,
) -> None:
    recorder = FakeRecorder()
    core, fake, _ = _consumer([{TP: _records(2)}], recorder, ack_timeout_s=0.3)
    fake.commit_takes_s = None
    stop = asyncio.Event()
    running = asyncio.create_task(core.run(stop))
    async with asyncio.timeout(5):
        while core.stats.batches < 1:
            await asyncio.sleep(0.01)
    stopped_at = asyncio.get_running_loop().time()
    stop.set()
    with caplog.at_level(logging.WARNING, logger="hub.kafka.consumer"):
        await asyncio.wait_for(running, 5)
    took = asyncio.get_running_loop().time() - stopped_at
    assert 0.25 <= took < 1.5, f"stopped {took:.2f} s after stop was set"
    assert len(recorder.applied) == 2, "the batch in hand was still applied"
    assert fake.commits == []
    assert "offsets not committed within 0 s of the stop" in caplog.text


async def test_a_commit_the_broker_answers_within_the_grace_is_kept_at_stop() -> None:
    recorder = FakeRecorder()
    core, fake, _ = _consumer([{TP: _records(2)}], recorder, ack_timeout_s=2.0)
    fake.commit_takes_s = 0.2
    stop = asyncio.Event()
    running = asyncio.create_task(core.run(stop))
    async with asyncio.timeout(5):
        while core.stats.batches < 1:
            await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(running, 5)
    assert fake.commits == [{TP: 2}], "a stop does not cut short a commit that is answered"


async def test_a_partition_still_owned_is_applied_when_its_fetch_spanned_a_rebalance() -> None:
    recorder = FakeRecorder()
    records = _records(6)
    tp1 = TopicPartition(TOPIC, 1)
    script = [{TP: records[:2]}, Reassigned({TP, tp1}, {TP: records[2:4]}), {TP: records[4:]}]
    core, fake, _ = _consumer(script, recorder)
    await _run_until(core, lambda: fake.commits and fake.commits[-1] == {TP: 6})
    assert sorted(recorder.applied) == sorted(envelope_id(r) for r in records), "none skipped"


async def test_records_of_a_partition_given_away_in_a_rebalance_are_left_to_its_new_owner() -> None:
    recorder = FakeRecorder()
    ours, theirs = _records(2), _records(2, partition=1)
    tp1 = TopicPartition(TOPIC, 1)
    script = [Reassigned({TP}, {TP: ours, tp1: theirs}), {TP: _records(1, start=2)}]
    core, fake, _ = _consumer(script, recorder)
    await _run_until(core, lambda: fake.commits and fake.commits[-1] == {TP: 3})
    assert not {envelope_id(r) for r in theirs} & set(recorder.applied)
    assert {envelope_id(r) for r in ours} <= set(recorder.applied)
    assert all(tp1 not in offsets for offsets in fake.commits), "the new owner's offset untouched"


async def test_a_store_outage_and_a_deadlock_are_waited_out_never_dead_lettered() -> None:
    recorder = FakeRecorder(
        errors=[
            OperationalError("SELECT 1", {}, ConnectionRefusedError("down")),
            store_refusal("40P01"),
            store_refusal("40001"),
        ]
    )
    core, fake, letters = _consumer([{TP: _records(4)}], recorder)
    await _run_until(core, lambda: fake.commits)
    assert len(recorder.applied) == 4
    assert letters.sent == []
    assert core.stats.dead_lettered == 0


@pytest.mark.parametrize(
    "state",
    [
        pytest.param("53100", id="disk full"),
        pytest.param("53200", id="out of memory"),
        pytest.param("25006", id="read-only store (failover, maintenance)"),
        pytest.param("57014", id="statement timeout"),
        pytest.param("57P05", id="idle session timeout"),
        pytest.param("25P03", id="idle in transaction timeout"),
        pytest.param("08007", id="commit outcome unknown"),
    ],
)
async def test_a_store_that_refuses_every_write_for_a_while_is_waited_out_never_dead_lettered(
    state: str,
) -> None:
    # The store's state refuses the batch, and would refuse each of its events alone:
    # taken for poison, every event would be dead-lettered and its request rejected.
    recorder = FakeRecorder(errors=[store_refusal(state), store_refusal(state)])
    core, fake, letters = _consumer([{TP: _records(4)}], recorder)
    await _run_until(core, lambda: fake.commits)
    assert len(recorder.applied) == 4
    assert (letters.sent, recorder.rejected, core.stats.dead_lettered) == ([], {}, 0)


async def test_a_refused_event_is_dead_lettered_alone_and_its_request_rejected() -> None:
    records = _records(5)
    refused = envelope_id(records[2])
    recorder = FakeRecorder(refuse={refused})
    core, fake, letters = _consumer([{TP: records}], recorder)
    await _run_until(core, lambda: fake.commits)
    assert sorted(recorder.applied) == sorted(
        envelope_id(r) for r in records if envelope_id(r) != refused
    )
    assert [value for _, value, _ in letters.sent] == [records[2].value]
    assert list(recorder.rejected) == [refused]
    assert "refused" in recorder.rejected[refused]
    assert fake.commits == [{TP: 5}], "the partition moves on past the poison"


async def test_a_large_fetch_is_decoded_in_steps_between_which_other_batches_run() -> None:
    records = _records(2 * DECODE_STEP + 100)
    poison = 2 * DECODE_STEP + 50  # in the last step
    records[poison] = replace(records[poison], value=b"{not an envelope")
    turns = 0

    async def batch_being_applied() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    other = asyncio.create_task(batch_being_applied())
    await asyncio.sleep(0)
    before = turns
    try:
        fetched = await _fetched({TP: records}, generation=0)
    finally:
        other.cancel()

    assert turns - before >= 2, "three steps: the other batch ran between them"
    assert [event.offset for event, _ in fetched.events] == [
        r.offset for r in records if r.offset != poison
    ]
    assert [letter.record.offset for letter in fetched.dead] == [poison]
    assert fetched.offsets == {TP: len(records)}


async def test_a_failing_dead_letter_send_is_retried_until_it_lands_before_the_commit() -> None:
    poison = Record(TOPIC, 0, 0, b"k", b'{"event_type": "RegistrationSubmitted"}')
    good = _records(1, start=1)
    recorder = FakeRecorder()
    core, fake, letters = _consumer([{TP: [poison, *good]}], recorder, FakeDeadLetters(failures=2))
    await _run_until(core, lambda: fake.commits)
    assert len(letters.sent) == 1
    assert letters.sent[0][1] == poison.value
    headers = dict(letters.sent[0][2])
    assert headers["source-offset"] == b"0"
    assert fake.commits == [{TP: 2}]
    assert len(recorder.applied) == 1


async def test_a_stop_during_a_store_outage_leaves_the_batch_uncommitted() -> None:
    recorder = FakeRecorder(
        errors=[OperationalError("SELECT 1", {}, ConnectionRefusedError())] * 50
    )
    core, fake, _ = _consumer([{TP: _records(2)}], recorder)
    stop = asyncio.Event()
    task = asyncio.create_task(core.run(stop))
    await asyncio.sleep(0.5)
    assert not task.done(), "an outage does not end the consumer"
    stop.set()
    await asyncio.wait_for(task, 15)
    assert fake.commits == [], "nothing is committed for a batch that was not stored"


def envelope_id(record: Record) -> UUID:
    return EventEnvelope.model_validate_json(record.value or b"").event_id


async def test_a_dead_lettered_requests_stored_reason_names_no_nik_in_clear() -> None:
    event_id = uuid.uuid4()
    poison = Record(
        TOPIC,
        0,
        0,
        b"k",
        f'{{"event_id": "{event_id}", "member_key": "5171044508900001"}}'.encode(),
    )
    recorder = FakeRecorder()
    core, fake, _ = _consumer([{TP: [poison]}], recorder)
    await _run_until(core, lambda: fake.commits)
    reason = recorder.rejected[event_id]
    assert reason.startswith("not a valid event envelope")
    assert "5171044508900001" not in reason
    assert "517104**********" in reason


# --- batches of different partitions, applied at once ----------------------------------

TP1 = TopicPartition(TOPIC, 1)


async def test_batches_of_other_partitions_are_applied_at_once_and_committed_in_order() -> None:
    recorder = FakeRecorder(takes_concurrent_batches=True, takes_s=0.1)
    script: list[Any] = [{TP: _records(3)}, {TP1: _records(2, partition=1)}]
    core, fake, _ = _consumer(script, recorder)
    await _run_until(core, lambda: len(fake.commits) == 2)
    assert recorder.transactions == [[0, 0, 0], [1, 1]]
    assert recorder.most_at_once == 2
    assert fake.commits == [{TP: 3}, {TP1: 2}]


@pytest.mark.parametrize(
    ("concurrent", "second"),
    [
        (True, {TP: 2}),  # partition 0 again, while its batch is being applied
        (False, {TP1: 2}),  # a store with one writer (SQLite)
    ],
)
async def test_a_batch_sharing_a_partition_or_a_single_writer_store_waits_its_turn(
    concurrent: bool, second: dict[TopicPartition, int]
) -> None:
    recorder = FakeRecorder(takes_concurrent_batches=concurrent, takes_s=0.05)
    fetch = {
        tp: _records(n, start=3 if tp == TP else 0, partition=tp.partition)
        for tp, n in second.items()
    }
    core, fake, _ = _consumer([{TP: _records(3)}, fetch], recorder)
    await _run_until(core, lambda: len(fake.commits) == 2)
    assert recorder.most_at_once == 1
    assert fake.commits == [{TP: 3}, {tp: (3 if tp == TP else 0) + n for tp, n in second.items()}]


async def test_the_last_batch_is_committed_without_waiting_for_another_fetch() -> None:
    recorder = FakeRecorder(takes_concurrent_batches=True, takes_s=0.05)
    core, fake, _ = _consumer([{TP: _records(2)}], recorder)
    await _run_until(core, lambda: fake.commits, within_s=2)
    assert fake.commits == [{TP: 2}]


async def test_a_batch_failing_for_good_cancels_the_next_and_commits_neither() -> None:
    recorder = FakeRecorder(takes_concurrent_batches=True, takes_s=0.3, fails_for_good_on=0)
    script: list[Any] = [{TP: _records(3)}, {TP1: _records(2, partition=1)}]
    core, fake, _ = _consumer(script, recorder)
    with pytest.raises(RuntimeError, match="a bug"):
        await asyncio.wait_for(core.run(asyncio.Event()), 10)
    assert recorder.most_at_once == 2
    assert recorder.cancelled == 1, "the later batch is rolled back, not left running"
    assert fake.commits == []


async def test_a_backlog_is_fetched_from_the_other_partitions_first_and_applied_at_once() -> None:
    recorder = FakeRecorder(takes_concurrent_batches=True, takes_s=0.05)
    first, more, other = _records(3), _records(2, start=3), _records(2, partition=1)
    # The buffer would hand out partition 0 twice before partition 1.
    script: list[Any] = [{TP: first}, {TP: more}, {TP1: other}]
    core, fake, _ = _consumer(script, recorder)
    await _run_until(core, lambda: len(fake.commits) == 3)
    assert recorder.transactions == [[0, 0, 0], [1, 1], [0, 0]]
    assert recorder.most_at_once == 2
    assert fake.commits == [{TP: 3}, {TP1: 2}, {TP: 5}]


class Starting:
    """A client's ``start``: fails ``failures`` times (a broker away), then waits for
    ``barrier`` (when given) before it connects."""

    def __init__(self, failures: int = 0, barrier: asyncio.Barrier | None = None) -> None:
        self.failures = failures
        self.barrier = barrier
        self.started = False

    async def __call__(self) -> None:
        if self.failures:
            self.failures -= 1
            raise KafkaConnectionError("broker away")
        if self.barrier is not None:
            await self.barrier.wait()
        self.started = True


async def test_the_consumer_and_its_dead_letter_producer_connect_at_once() -> None:
    # Each start waits until the other has begun: one after the other, neither would end.
    core, fake, letters = _consumer([], FakeRecorder())
    both = asyncio.Barrier(2)
    fake.start = consumer_start = Starting(barrier=both)  # type: ignore[attr-defined]
    letters.start = letters_start = Starting(barrier=both)  # type: ignore[attr-defined]

    async with asyncio.timeout(5):
        await core.start()

    assert consumer_start.started and letters_start.started
    assert core._started


async def test_a_broker_away_at_start_is_waited_out_by_each_client() -> None:
    core, fake, letters = _consumer([], FakeRecorder())
    fake.start = consumer_start = Starting(failures=1)  # type: ignore[attr-defined]
    letters.start = letters_start = Starting(failures=2)  # type: ignore[attr-defined]

    async with asyncio.timeout(10):
        await core.start()

    assert consumer_start.started and letters_start.started
    assert core._started


async def test_a_stop_during_start_ends_it_unstarted_and_cancels_the_other_client() -> None:
    stop = asyncio.Event()
    core, fake, letters = _consumer([], FakeRecorder())
    fake.start = consumer_start = Starting(failures=1_000)  # type: ignore[attr-defined]
    never = asyncio.Barrier(3)  # nobody else comes: waits until cancelled
    letters.start = letters_start = Starting(barrier=never)  # type: ignore[attr-defined]
    asyncio.get_running_loop().call_later(0.3, stop.set)

    async with asyncio.timeout(5):
        await core.start(stop)

    assert not core._started
    assert not consumer_start.started and not letters_start.started
    assert never.n_waiting == 0  # the waiting start was cancelled, not left behind
