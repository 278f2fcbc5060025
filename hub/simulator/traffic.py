"""The traffic: a steady rate of partner requests, a realistic mix, and a share of faults.

Mostly new registrations, then inquiries followed by payments for people registered
earlier in the run; with faults on, retries of the same request (the answer must be the
same), reversals of recent payments, and bad requests (a wrong amount, a NIK that
contradicts the birth date) that the hub must refuse in the partner's own codes.
"""

import asyncio
import ipaddress
import random
import socket
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from hub.membership.particulars import Particulars
from hub.simulator.partners import Answer, SimulatedPartner
from hub.simulator.people import person

FAULTS = ("retry", "reversal", "bad")


class NotLoopback(ValueError):
    """The simulator only ever targets this machine."""


def require_loopback(url: str) -> None:
    """Refuse any URL whose host is not a loopback address."""
    host = urlsplit(url).hostname
    if not host:
        raise NotLoopback(f"{url!r} has no host")
    try:
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(host, None)}
    except socket.gaierror as exc:
        raise NotLoopback(f"{host!r} does not resolve: {exc}") from None
    if not addresses or not all(ipaddress.ip_address(a).is_loopback for a in addresses):
        raise NotLoopback(f"{host} is not loopback ({', '.join(sorted(addresses))})")


@dataclass
class ChannelTally:
    sent: int = 0
    succeeded: int = 0
    refused_as_expected: int = 0
    unexpected: int = 0
    codes: Counter[str] = field(default_factory=Counter)


@dataclass
class Tally:
    channels: dict[str, ChannelTally] = field(default_factory=dict)

    def count(self, channel: str, answer: Answer, expect_ok: bool) -> None:
        t = self.channels.setdefault(channel, ChannelTally())
        t.sent += 1
        t.codes[answer.code] += 1
        if answer.ok and expect_ok:
            t.succeeded += 1
        elif not answer.ok and not expect_ok:
            t.refused_as_expected += 1
        else:
            t.unexpected += 1


@dataclass
class _Payment:
    ref: str
    amount: int


@dataclass
class _ChannelState:
    partner: SimulatedPartner
    people: list[Particulars] = field(default_factory=list)
    payments: list[_Payment] = field(default_factory=list)
    last: Callable[[], Awaitable[Answer]] | None = None


class Simulator:
    def __init__(
        self,
        partners: Sequence[SimulatedPartner],
        monthly_amount: int,
        faults: Sequence[str],
        seed: int | None = None,
    ) -> None:
        self._channels = [_ChannelState(p) for p in partners]
        self._monthly = monthly_amount
        self._faults = set(faults)
        self._rng = random.Random(seed)  # noqa: S311 - traffic, not secrets
        self._run = f"{self._rng.getrandbits(24):06x}"
        self._n = 0
        self.tally = Tally()
        self.errors: Counter[str] = Counter()

    def _ref(self, prefix: str) -> str:
        self._n += 1
        return f"SIM-{self._run}-{prefix}{self._n}"

    async def run(self, rate: float, duration_s: float, concurrency: int = 64) -> Tally:
        """``rate`` requests a second for ``duration_s`` seconds, at most ``concurrency`` open."""
        gate = asyncio.Semaphore(concurrency)
        tasks: set[asyncio.Task[None]] = set()
        started = time.monotonic()
        sent = 0
        while (elapsed := time.monotonic() - started) < duration_s:
            due = int(elapsed * rate) + 1
            while sent < due:
                sent += 1
                await gate.acquire()
                task = asyncio.create_task(self._one(self._channels[sent % len(self._channels)]))
                task.add_done_callback(tasks.discard)
                task.add_done_callback(lambda _: gate.release())
                tasks.add(task)
            await asyncio.sleep(min(1 / rate, 0.05))
        await asyncio.gather(*tasks, return_exceptions=True)
        return self.tally

    async def _one(self, state: _ChannelState) -> None:
        channel = state.partner.channel
        roll = self._rng.random()
        try:
            if "retry" in self._faults and state.last is not None and roll < 0.08:
                # The partner's own timeout fired: it resends the very same request.
                self.tally.count(channel, await state.last(), expect_ok=True)
            elif "reversal" in self._faults and state.payments and roll < 0.13:
                await self._reversal(state)
            elif "bad" in self._faults and roll < 0.23:
                await self._bad(state)
            elif state.people and roll < 0.55:
                await self._inquiry_and_payment(state)
            else:
                await self._registration(state)
        except NotImplementedError:
            await self._registration(state)
        except Exception as exc:  # noqa: BLE001 - a demo keeps going, and says what failed
            self.errors[f"{channel}: {type(exc).__name__}: {exc}"[:200]] += 1

    async def _registration(self, state: _ChannelState) -> None:
        who, ref = person(self._rng), self._ref("R")

        def send() -> Awaitable[Answer]:
            return state.partner.register(who, ref)

        answer = await send()
        self.tally.count(state.partner.channel, answer, expect_ok=True)
        if answer.ok:
            state.people.append(who)
            state.last = send

    async def _inquiry_and_payment(self, state: _ChannelState) -> None:
        who = self._rng.choice(state.people)
        months = 1
        inquiry = await state.partner.inquiry(who, months)
        self.tally.count(state.partner.channel, inquiry, expect_ok=True)
        if not inquiry.ok:
            return
        ref, amount = self._ref("P"), self._monthly * months

        def send() -> Awaitable[Answer]:
            return state.partner.pay(who, ref, months, amount)

        answer = await send()
        self.tally.count(state.partner.channel, answer, expect_ok=True)
        if answer.ok:
            state.payments.append(_Payment(ref, amount))
            state.last = send
            # Paid once is enough for a demo: keep people within the months allowed ahead.
            if who in state.people:
                state.people.remove(who)

    async def _reversal(self, state: _ChannelState) -> None:
        payment = state.payments.pop(self._rng.randrange(len(state.payments)))
        answer = await state.partner.reverse(self._ref("V"), payment.ref, payment.amount)
        self.tally.count(state.partner.channel, answer, expect_ok=True)

    async def _bad(self, state: _ChannelState) -> None:
        if state.people and self._rng.random() < 0.5:
            who = self._rng.choice(state.people)
            answer = await state.partner.pay(who, self._ref("B"), 1, self._monthly + 1)
        else:
            who = person(self._rng)
            contradicting = replace(who, sex="M" if who.sex == "F" else "F")
            answer = await state.partner.register(contradicting, self._ref("B"))
        self.tally.count(state.partner.channel, answer, expect_ok=False)
