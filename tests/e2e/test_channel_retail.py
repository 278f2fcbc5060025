"""Indomaret's and Alfamart's hosts drive the running hub over real HTTP; PostgreSQL shows it.

Each chain signs as its own host does (tests/channels/<chain>/driver.py), against
the real hub (real Tansu, real PostgreSQL, test config). What matters is what ends
up in the membership store: one member per person, contributions applied once,
reversed contributions marked so and the member's coverage put back.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import httpx
import pytest

from tests.channels.alfamart import driver as alfamart
from tests.channels.indomaret import driver as indomaret
from tests.channels.kit import WireAnswer
from tests.e2e.partner_forms import KTP_SEX, in_terms
from tests.support.people import applicant

WITHIN_S = 10.0


@dataclass(frozen=True)
class Chain:
    """One retail chain's vocabulary, enough to run the counter flow through it."""

    slug: str
    ok: str
    send: Callable[[httpx.AsyncClient, str, Any, datetime], Awaitable[WireAnswer]]
    registration: Callable[[dict[str, Any]], dict[str, Any]]
    inquiry: Callable[[str, int], dict[str, Any]]
    payment: Callable[[str, str, int, int], dict[str, Any]]
    reversal: Callable[[str, str, int], dict[str, Any]]
    status: Callable[[str, str], dict[str, Any]]
    hub_reference: str
    amount: str
    name: str
    kpj: str
    state: str
    recorded: str


def _indomaret_now() -> str:
    return indomaret.host_time(datetime.now(UTC))


INDOMARET = Chain(
    slug="indomaret",
    ok="00",
    send=indomaret.post,
    registration=lambda p: in_terms(
        p,
        "indomaret",
        KodeToko="TJKT01",
        TglLahir=date.fromisoformat(p["birth_date"]).strftime("%d-%m-%Y"),
        JenisKelamin=KTP_SEX[p["sex"]],
        Program=",".join(p["programmes"]),
    ),
    inquiry=lambda typed, months: {"KodeBayar": typed, "JumlahBulan": months},
    payment=lambda ref, typed, months, amount: {
        "NoTransaksi": ref,
        "KodeBayar": typed,
        "KodeToko": "TJKT01",
        "JumlahBulan": months,
        "Nominal": amount,
        "TglTransaksi": _indomaret_now(),
    },
    # Indomaret names a reversal by the payment's own NoTransaksi.
    reversal=lambda _ref, payment_ref, amount: {"NoTransaksi": payment_ref, "Nominal": amount},
    status=lambda ref, kind: {
        "NoTransaksi": ref,
        "JenisTransaksi": "REGISTRASI" if kind == "registration" else "PEMBAYARAN",
    },
    hub_reference="NoReferensi",
    amount="Nominal",
    name="NamaPeserta",
    kpj="NoKPJ",
    state="Status",
    recorded="TERCATAT",
)

ALFAMART = Chain(
    slug="alfamart",
    ok="0000",
    send=alfamart.post,
    registration=lambda p: in_terms(p, "alfamart", store_code="A0123"),
    inquiry=lambda typed, months: {"payment_code": typed, "months": months},
    payment=lambda ref, typed, months, amount: {
        "trx_id": ref,
        "store_code": "A0123",
        "payment_code": typed,
        "months": months,
        "amount": amount,
        "datetime": alfamart.store_time(datetime.now(UTC)),
    },
    reversal=lambda ref, payment_ref, amount: {
        "trx_id": ref,
        "original_trx_id": payment_ref,
        "amount": amount,
    },
    status=lambda ref, kind: {"trx_id": ref, "trx_type": kind},
    hub_reference="ref_no",
    amount="amount",
    name="customer_name",
    kpj="kpj",
    state="status",
    recorded="RECORDED",
)


class Host:
    """A chain's host talking to the running hub, signing each message at the current time."""

    def __init__(self, chain: Chain, http: httpx.AsyncClient) -> None:
        self.chain = chain
        self.http = http

    async def send(self, operation: str, wire: dict[str, Any]) -> WireAnswer:
        return await self.chain.send(self.http, operation, wire, datetime.now(UTC))

    async def ok(self, operation: str, wire: dict[str, Any]) -> dict[str, Any]:
        answer = await self.send(operation, wire)
        assert answer.code == self.chain.ok, (operation, answer)
        body: dict[str, Any] = answer.body
        return body

    async def recorded(self, reference: str, kind: str) -> dict[str, Any]:
        """Poll the chain's status call until the store recorded the transaction."""
        deadline = time.monotonic() + WITHIN_S
        body: dict[str, Any] = {}
        while time.monotonic() < deadline:
            body = await self.ok("status", self.chain.status(reference, kind))
            if body[self.chain.state] == self.chain.recorded:
                return body
            await asyncio.sleep(0.05)
        raise AssertionError(f"{kind} {reference} not recorded within {WITHIN_S} s: {body}")


async def _contribution(
    db: asyncpg.Connection, chain: Chain, reference: str, status: str
) -> asyncpg.Record:
    """The contribution row of (chain, reference) once it has ``status``, with its member."""
    deadline = time.monotonic() + WITHIN_S
    row = None
    while time.monotonic() < deadline:
        row = await db.fetchrow(
            "SELECT c.status, c.amount, c.months, c.channel, c.previous_paid_through, "
            "m.paid_through, m.kpj FROM contributions c JOIN members m ON m.id = c.member_id "
            "WHERE c.partner_id = $1 AND c.partner_ref = $2",
            chain.slug,
            reference,
        )
        if row is not None and row["status"] == status:
            return row
        await asyncio.sleep(0.05)
    raise AssertionError(f"contribution {reference} not {status!r} within {WITHIN_S} s: {row}")


@pytest.mark.parametrize("chain", [INDOMARET, ALFAMART], ids=lambda c: c.slug)
async def test_counter_flow_through_a_retail_chain_ends_as_rows_in_postgresql(
    chain: Chain, http: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    host = Host(chain, http)
    person = applicant()
    nik, tag = person["nik"], person["reference"]

    await host.ok("registration", chain.registration(person))

    bill = await host.ok("inquiry", chain.inquiry(nik, 1))
    assert bill[chain.amount] == 16_800
    assert "*" in bill[chain.name]

    payment = chain.payment(f"PAY-{tag}", nik, 1, bill[chain.amount])
    paid = await host.ok("payment", payment)
    # The host's timeout fired: it repeats the very same payment as an advice.
    advised = await host.ok("advice", payment)
    assert advised[chain.hub_reference] == paid[chain.hub_reference]

    applied = await _contribution(db, chain, f"PAY-{tag}", "applied")
    assert (applied["amount"], applied["months"], applied["channel"]) == (16_800, 1, chain.slug)
    assert applied["previous_paid_through"] is None
    assert applied["paid_through"] is not None
    count = await db.fetchval(
        "SELECT count(*) FROM contributions WHERE partner_id = $1 AND partner_ref = $2",
        chain.slug,
        f"PAY-{tag}",
    )
    assert count == 1

    await host.ok("reversal", chain.reversal(f"REV-{tag}", f"PAY-{tag}", 16_800))
    reversed_ = await _contribution(db, chain, f"PAY-{tag}", "reversed")
    assert reversed_["paid_through"] is None, "the reversal put the member's coverage back"

    # Once recorded, the member has a KPJ, and so a payment code for the counter.
    kpj = await db.fetchval("SELECT kpj FROM members WHERE nik = $1", nik)
    assert kpj
    payment_code = "8866" + kpj
    by_code = await host.ok("inquiry", chain.inquiry(payment_code, 3))
    assert by_code[chain.kpj] == kpj
    assert by_code[chain.amount] == 3 * 16_800
    await host.ok("payment", chain.payment(f"PAY2-{tag}", payment_code, 3, 3 * 16_800))
    by_code_row = await _contribution(db, chain, f"PAY2-{tag}", "applied")
    assert (by_code_row["amount"], by_code_row["months"]) == (3 * 16_800, 3)
    assert by_code_row["paid_through"] is not None


async def test_a_person_registered_at_indomaret_then_alfamart_is_one_member(
    http: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    person = applicant()
    at_indomaret = Host(INDOMARET, http)
    at_alfamart = Host(ALFAMART, http)

    await at_indomaret.ok("registration", INDOMARET.registration(person))
    first = await at_indomaret.recorded(person["reference"], "registration")
    again = {**person, "reference": f"ALF-{person['reference']}"}
    await at_alfamart.ok("registration", ALFAMART.registration(again))
    second = await at_alfamart.recorded(again["reference"], "registration")

    assert first["NoKPJ"] and second["kpj"] == first["NoKPJ"]
    rows = await db.fetch(
        "SELECT kpj, registered_channel FROM members WHERE nik = $1", person["nik"]
    )
    assert [(r["kpj"], r["registered_channel"]) for r in rows] == [(first["NoKPJ"], "indomaret")]


async def test_a_reversal_of_a_payment_the_hub_never_received_changes_nothing(
    http: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    for chain, code in ((INDOMARET, "25"), (ALFAMART, "0104")):
        answer = await Host(chain, http).send(
            "reversal", chain.reversal("REV-NEVER", f"PAY-NEVER-{chain.slug}", 16_800)
        )
        assert answer.code == code, answer
    count = await db.fetchval(
        "SELECT count(*) FROM contributions WHERE partner_ref LIKE 'PAY-NEVER-%'"
    )
    assert count == 0
