"""A reversal of a payment whose fate the hub did not know yet, against the real hub.

BNI's switch reverses a payment it got no clear answer for: the hub answered `91`
because the broker did not acknowledge in time, or the answer never came. The broker may
still have taken the event: the producer keeps it and delivers it when the broker is
back, and the core consumer records it. So "unable to locate original" (`25`), which
tells the switch there is nothing to take back and to close the transaction, is a
promise the hub cannot keep while it holds the payment unacknowledged. Here the broker
is frozen (SIGSTOP) while the payment is sent, then the switch reverses it; after the
broker thaws, what the switch was told and what the store holds must agree.
"""

import asyncio
import json
import os
import random
import signal
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.bni46 import iso
from hub.broker.kafka import ApacheKafka
from hub.broker.process import free_port
from tests.channels.bni46 import driver
from tests.channels.bni46.driver import Switch
from tests.conftest import PG_ADMIN_DSN
from tests.e2e.bni46_switch import bni_registration, bni_request, now_fields
from tests.support.brokers import OwnBroker, hub_env_on
from tests.support.hubproc import configured_env, running_hub
from tests.support.people import applicant
from tests.support.store import fetch_rows, own_database, wait_for_row

ACK_TIMEOUT_S = 2.0
"""The hub's wait for the broker's acknowledgement: under the switch's 5 s answer timeout."""


@pytest.fixture
async def store_url() -> AsyncIterator[str]:
    async with own_database(PG_ADMIN_DSN, "hub_reversal") as url:
        yield url


@pytest.mark.e2e
async def test_a_payment_answered_91_and_then_reversed_is_taken_back_though_the_broker_took_it(
    store_url: str, own_broker: OwnBroker, tmp_path: Path
) -> None:
    broker = own_broker.broker
    assert isinstance(broker, ApacheKafka)
    port = free_port()
    env = {
        **configured_env(bni46={"port": port}, partners={}),
        **hub_env_on(broker, store_url, f"reversal-{uuid.uuid4().hex[:6]}"),
        "HUB_KAFKA_ACK_TIMEOUT_S": str(ACK_TIMEOUT_S),
    }
    person = applicant()
    rrn = f"{random.randrange(10**11, 10**12)}"
    bill = person["nik"].ljust(20) + "01"
    async with running_hub(env, tmp_path / "hub.log", health="/readyz") as url:
        body = json.dumps(bni_registration(person)).encode()
        registered = await bni_request(url, "POST", driver.REGISTRATIONS, body)
        assert registered.json()["response_code"] == "00", registered.text
        member = await wait_for_row(
            store_url, "SELECT id FROM members WHERE nik = $1", person["nik"], within_s=30
        )
        async with Switch.connect(port) as switch:
            due = await switch.ask(
                {"t": "0200", "3": iso.INQUIRY, **now_fields("000001", rrn), "48": bill}
            )
            assert due["39"] == "00", due
            payment = {"t": "0200", "3": iso.PAYMENT, "4": due["4"], **now_fields("000002", rrn)}
            payment["48"] = bill
            reversal = {
                "t": "0400",
                "3": iso.PAYMENT,
                "4": due["4"],
                **now_fields("000003", rrn),
                "90": "0200000002" + payment["7"] + driver.ACQUIRER.rjust(11, "0") + "0" * 11,
            }
            broker_pid = broker.pid()
            assert broker_pid is not None
            os.kill(broker_pid, signal.SIGSTOP)
            try:
                paid = await switch.ask(payment)
                # The switch got no approval: it reverses, as ISO 8583 acquirers do.
                while_frozen = await switch.ask(reversal)
            finally:
                os.kill(broker_pid, signal.SIGCONT)
            assert paid["39"] == "91", paid
            # The hub cannot know yet whether the broker took the payment: not "25".
            assert while_frozen["39"] == "91", while_frozen

            # The switch repeats the reversal (0401, same STAN) until it gets an answer.
            answers = []
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                repeated = await switch.ask({**reversal, "t": "0401"})
                answers.append(repeated["39"])
                if repeated["39"] != "91":
                    break
                await asyncio.sleep(0.5)
            assert answers[-1] == "00", answers

        # What the switch was told (reversed) is what the store holds: the payment, taken back.
        contribution = await wait_for_row(
            store_url,
            "SELECT status FROM contributions WHERE member_id = $1 AND partner_ref = $2"
            " AND status = 'reversed'",
            member["id"],
            rrn,
            within_s=30,
        )
        assert contribution["status"] == "reversed"
        rows = await fetch_rows(
            store_url,
            "SELECT status FROM contributions WHERE member_id = $1",
            member["id"],
        )
        assert [r["status"] for r in rows] == ["reversed"]
        covered = await fetch_rows(
            store_url, "SELECT paid_through FROM members WHERE id = $1", member["id"]
        )
        assert covered[0]["paid_through"] is None
