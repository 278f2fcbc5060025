"""BNI 46 against the real hub: JSON registration, then ISO 8583 over a real TCP socket.

The running hub (Tansu + PostgreSQL, test config) listens for ISO 8583 on the
``bni46_port`` fixture; what BNI sends must end as rows in ``members`` and
``contributions``.
"""

import asyncio
import json
import random

from adapters.bni46 import iso
from tests.channels.bni46 import driver
from tests.channels.bni46.driver import Switch
from tests.e2e.bni46_switch import bni_registration, bni_request, now_fields
from tests.support.people import applicant
from tests.support.store import fetch_rows, wait_for_row


async def test_bni_registration_then_iso_payment_and_reversal_end_as_rows_in_postgresql(
    hub_url: str, bni46_port: int, database_url: str
) -> None:
    person = applicant()
    body = json.dumps(bni_registration(person)).encode()
    response = await bni_request(hub_url, "POST", driver.REGISTRATIONS, body)
    assert response.status_code == 200, response.text
    assert response.json()["response_code"] == "00"

    rrn = f"{random.randrange(10**11, 10**12)}"
    bill = person["nik"].ljust(20) + "01"
    async with Switch.connect(bni46_port) as switch:
        echo = await switch.ask({"t": "0800", **now_fields("000001", rrn), "70": "301"})
        assert echo["39"] == "00"

        inquiry = {"t": "0200", "3": iso.INQUIRY, **now_fields("000002", rrn), "48": bill}
        due = await switch.ask(inquiry)
        assert due["39"] == "00", due
        assert due["4"] == iso.amount_field(16_800)

        payment = {
            "t": "0200",
            "3": iso.PAYMENT,
            "4": due["4"],
            **now_fields("000003", rrn),
            "48": bill,
        }
        paid = await switch.ask(payment)
        assert (paid["39"], paid["11"], paid["37"]) == ("00", "000003", rrn)
        receipt = paid["48"][22:].strip()

        # The switch missed the answer and retransmits: same receipt, one contribution.
        again = await switch.ask({**payment, "11": "000004"})
        assert (again["39"], again["48"][22:].strip()) == ("00", receipt)

    member = await wait_for_row(
        database_url, "SELECT id, kpj, registered_channel FROM members WHERE nik=$1", person["nik"]
    )
    assert member["registered_channel"] == "bni46"
    contribution = await wait_for_row(
        database_url,
        "SELECT amount, months, channel, partner_ref, status FROM contributions WHERE member_id=$1",
        member["id"],
    )
    assert dict(contribution) == {
        "amount": 16_800,
        "months": 1,
        "channel": "bni46",
        "partner_ref": rrn,
        "status": "applied",
    }

    status = await bni_request(hub_url, "GET", f"{driver.REGISTRATIONS}/{person['reference']}")
    assert status.json()["kpj"] == member["kpj"]

    original = payment["7"]
    async with Switch.connect(bni46_port) as switch:
        reversal = {
            "t": "0400",
            "3": iso.PAYMENT,
            "4": payment["4"],
            **now_fields("000005", rrn),
            "90": "0200000003" + original + driver.ACQUIRER.rjust(11, "0") + "0" * 11,
        }
        assert (await switch.ask(reversal))["39"] == "00"
    reversed_ = await wait_for_row(
        database_url,
        "SELECT status FROM contributions WHERE member_id=$1 AND status='reversed'",
        member["id"],
    )
    assert reversed_["status"] == "reversed"


async def test_the_real_server_survives_garbage_and_keeps_serving(bni46_port: int) -> None:
    for garbage in (b"\xff\xff" + b"x" * 64, b"\x00\x05\x80\x81\x82\x83\x84", b"\x00\x00"):
        reader, writer = await asyncio.open_connection("127.0.0.1", bni46_port)
        writer.write(garbage)
        await writer.drain()
        assert await asyncio.wait_for(reader.read(1), 10) == b""
        writer.close()
    async with Switch.connect(bni46_port) as switch:
        echo = await switch.ask({"t": "0800", "7": "0310020000", "11": "424242", "70": "301"})
    assert (echo["39"], echo["11"]) == ("00", "424242")


async def test_a_payment_that_arrives_after_the_switch_reversed_it_is_refused_and_never_applied(
    hub_url: str, bni46_port: int, database_url: str
) -> None:
    """The switch timed out on a 0200 still on its way (another connection, a queue) and
    reversed it: told `25`, it closes the transaction. The late 0200 must not be applied."""
    person = applicant()
    body = json.dumps(bni_registration(person)).encode()
    assert (await bni_request(hub_url, "POST", driver.REGISTRATIONS, body)).status_code == 200
    await wait_for_row(database_url, "SELECT id FROM members WHERE nik=$1", person["nik"])
    rrn = f"{random.randrange(10**11, 10**12)}"
    bill = person["nik"].ljust(20) + "01"
    payment = {
        "t": "0200",
        "3": iso.PAYMENT,
        "4": iso.amount_field(16_800),
        **now_fields("000021", rrn),
        "48": bill,
    }
    reversal = {
        "t": "0400",
        "3": iso.PAYMENT,
        "4": payment["4"],
        **now_fields("000022", rrn),
        "90": "0200000021" + payment["7"] + driver.ACQUIRER.rjust(11, "0") + "0" * 11,
    }
    async with Switch.connect(bni46_port) as second, Switch.connect(bni46_port) as first:
        assert (await second.ask(reversal))["39"] == "25"
        assert (await first.ask(payment))["39"] == "94"
        assert (await first.ask({**payment, "11": "000023"}))["39"] == "94"
        # Then a payment the switch stands by, for the same member (the same partition).
        other = f"{random.randrange(10**11, 10**12)}"
        paid = await first.ask({**payment, **now_fields("000024", other)})
        assert paid["39"] == "00", paid

    # Once the later payment is applied, anything published before it was too: the
    # reversed RRN never was.
    await wait_for_row(database_url, "SELECT id FROM contributions WHERE partner_ref=$1", other)
    rows = await fetch_rows(database_url, "SELECT id FROM contributions WHERE partner_ref=$1", rrn)
    assert rows == []
