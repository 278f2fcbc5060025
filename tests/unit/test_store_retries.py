"""A block is tried again only for the failures its policy names, as many times in all as
it says, with its pause before each new try; the last failure is what the caller sees."""

import time

import pytest
from tenacity import wait_fixed

from hub.store.outage import Retries


class Lost(Exception):
    """A failure worth another try (a lost lock race, say)."""


class Refused(Exception):
    """A failure no retry cures."""


class Block:
    """Fails with the given errors in turn, then answers ``"done"``; counts its tries."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.tries = 0

    async def __call__(self) -> str:
        self.tries += 1
        if self.failures:
            raise self.failures.pop(0)
        return "done"


def worth(exc: BaseException) -> bool:
    return isinstance(exc, Lost)


async def test_a_block_that_succeeds_first_time_runs_once() -> None:
    block = Block()

    assert await Retries(worth, tries=3).run(block) == "done"
    assert block.tries == 1


async def test_a_block_that_lost_a_race_twice_answers_on_its_third_try() -> None:
    block = Block(Lost("first"), Lost("second"))

    assert await Retries(worth, tries=3).run(block) == "done"
    assert block.tries == 3


async def test_a_block_that_keeps_losing_is_tried_three_times_and_its_last_failure_raised() -> None:
    block = Block(Lost("first"), Lost("second"), Lost("third"), Lost("fourth"))

    with pytest.raises(Lost, match="third"):
        await Retries(worth, tries=3).run(block)
    assert block.tries == 3


async def test_a_failure_no_retry_cures_is_raised_at_once() -> None:
    block = Block(Refused("bad data"))

    with pytest.raises(Refused, match="bad data"):
        await Retries(worth, tries=3).run(block)
    assert block.tries == 1


async def test_a_failure_no_retry_cures_after_a_lost_race_is_raised_at_once() -> None:
    block = Block(Lost("first"), Refused("bad data"), Lost("never reached"))

    with pytest.raises(Refused, match="bad data"):
        await Retries(worth, tries=3).run(block)
    assert block.tries == 2


async def test_a_policy_of_one_try_never_tries_again() -> None:
    block = Block(Lost("first"))

    with pytest.raises(Lost, match="first"):
        await Retries(worth, tries=1).run(block)
    assert block.tries == 1


async def test_each_new_try_waits_the_policys_pause_first() -> None:
    block = Block(Lost("first"), Lost("second"))
    started = time.monotonic()

    await Retries(worth, tries=3, pause=wait_fixed(0.05)).run(block)

    assert time.monotonic() - started >= 0.1  # two pauses of 50 ms
