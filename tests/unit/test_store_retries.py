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


@pytest.mark.parametrize(
    ("failures", "tries", "raised", "message", "tried"),
    [
        pytest.param(
            (Lost("first"), Lost("second"), Lost("third"), Lost("fourth")),
            3, Lost, "third", 3,
            id="a block that keeps losing is tried three times and its last failure raised",
        ),
        pytest.param(
            (Refused("bad data"),), 3, Refused, "bad data", 1,
            id="a failure no retry cures is raised at once",
        ),
        pytest.param(
            (Lost("first"), Refused("bad data"), Lost("never reached")),
            3, Refused, "bad data", 2,
            id="a failure no retry cures after a lost race is raised at once",
        ),
        pytest.param(
            (Lost("first"),), 1, Lost, "first", 1,
            id="a policy of one try never tries again",
        ),
    ],
)  # fmt: skip
async def test_a_block_that_fails_raises_the_failure_its_policy_stops_at(
    failures: tuple[Exception, ...],
    tries: int,
    raised: type[Exception],
    message: str,
    tried: int,
) -> None:
    block = Block(*failures)

    with pytest.raises(raised, match=message):
        await Retries(worth, tries=tries).run(block)
    assert block.tries == tried


async def test_each_new_try_waits_the_policys_pause_first() -> None:
    block = Block(Lost("first"), Lost("second"))
    started = time.monotonic()

    await Retries(worth, tries=3, pause=wait_fixed(0.05)).run(block)

    assert time.monotonic() - started >= 0.1  # two pauses of 50 ms
