"""Agen BNI 46: ISO 8583 over TCP and signed JSON registrations, against kit.world()."""

import asyncio
import contextlib
import json
import random
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import msgspec
import pytest

from adapters.bni46 import Bni46Adapter, iso
from schemas.events import ContributionPaid, PaymentReversed, RegistrationSubmitted
from tests.channels.bni46 import driver
from tests.channels.bni46.doc_examples import REGISTRATION
from tests.channels.bni46.driver import Switch
from tests.channels.kit import (
    BUDI,
    BUDI_PAYMENT_CODE,
    DOCS,
    SARI,
    UNKNOWN_NIK,
    WORLD_NOW,
    World,
    world,
)

STAMP = int(WORLD_NOW.timestamp())


@pytest.fixture
async def w() -> AsyncIterator[World]:
    async with world() as fresh:
        yield fresh


def adapter(w: World) -> Bni46Adapter:
    channel = w.channels["bni46"]
    assert isinstance(channel, Bni46Adapter)
    return channel


def bill(member: str, months: int) -> str:
    return member.ljust(20) + f"{months:02d}"


def sent(stan: str, rrn: str, **changes: str) -> dict[str, str]:
    fields = {
        "7": "0310020000",
        "11": stan,
        "12": "090000",
        "13": "0310",
        "32": driver.ACQUIRER,
        "37": rrn,
        "41": "BNI46T01",
        "42": "AGEN-BNI-00017 ",
    }
    fields.update(changes)
    return fields


def inquiry(member: str, months: int = 1, stan: str = "000101", **changes: str) -> dict[str, str]:
    return {
        "t": "0200",
        "3": iso.INQUIRY,
        "4": iso.amount_field(0),
        **sent(stan, f"6069020{stan[1:]}"),
        "48": bill(member, months),
        **changes,
    }


def payment(
    member: str, rupiah: int, months: int = 1, stan: str = "000201", rrn: str = "606902000201"
) -> dict[str, str]:
    return {
        "t": "0200",
        "3": iso.PAYMENT,
        "4": iso.amount_field(rupiah),
        **sent(stan, rrn),
        "48": bill(member, months),
    }


def reversal(rrn: str, stan: str = "000301", mti: str = "0400") -> dict[str, str]:
    original = "0200" + "000201" + "0310020000" + driver.ACQUIRER.rjust(11, "0") + "0" * 11
    return {
        "t": mti,
        "3": iso.PAYMENT,
        "4": iso.amount_field(16_800),
        **sent(stan, rrn, **{"7": "0310020500"}),
        "90": original,
    }


async def ask(w: World, fields: dict[str, str]) -> dict[str, str]:
    async with Switch.connect(adapter(w).port) as switch:
        return await switch.ask(fields)


async def link_still_works(w: World) -> None:
    answer = await ask(w, {"t": "0800", "7": "0310020000", "11": "999999", "70": "301"})
    assert (answer["t"], answer["39"], answer["11"]) == ("0810", "00", "999999")


def events(w: World, kind: type) -> list[Any]:
    return [p.envelope for p in w.publisher.published if isinstance(p.envelope.payload, kind)]


def layout(value: str, spec: tuple[tuple[str, int], ...]) -> list[str]:
    parts, at = [], 0
    for _, width in spec:
        parts.append(value[at : at + width])
        at += width
    assert at == len(value)
    return parts


# -- network management ----------------------------------------------------------------------


async def test_echo_test_is_answered_00_with_the_same_stan_and_transmission_time(
    w: World,
) -> None:
    answer = await ask(w, {"t": "0800", "7": "0310015959", "11": "123456", "70": "301"})
    assert answer == {
        "t": "0810",
        "p": answer["p"],
        "1": answer["1"],
        "7": "0310015959",
        "11": "123456",
        "39": "00",
        "70": "301",
    }


async def test_sign_on_and_sign_off_are_approved_and_an_unknown_network_code_is_a_format_error(
    w: World,
) -> None:
    async with Switch.connect(adapter(w).port) as switch:
        for code, expected in (("001", "00"), ("002", "00"), ("999", "30")):
            answer = await switch.ask({"t": "0800", "7": "0310020000", "11": "000001", "70": code})
            assert answer["39"] == expected, code


# -- inquiry --------------------------------------------------------------------------------


async def test_inquiry_by_nik_gives_the_amount_due_in_field_4_and_the_bill_in_field_48(
    w: World,
) -> None:
    answer = await ask(w, inquiry(SARI.nik, months=3))
    assert (answer["t"], answer["39"], answer["11"], answer["37"]) == (
        "0210",
        "00",
        "000101",
        "606902000101",
    )
    assert answer["4"] == iso.amount_field(3 * 16_800)
    assert layout(answer["48"], iso.INQUIRY_ANSWER_LAYOUT) == [
        SARI.nik.ljust(20),
        "03",
        (SARI.kpj or "").ljust(20),
        "N* M*** S***".ljust(30),
        "JKK+JKM    ",
        "active  ",
        "202603",
        "202605",
        iso.amount_field(16_800),
        "00",
        "      ",
    ]


async def test_inquiry_by_payment_code_finds_the_member_of_that_kpj(w: World) -> None:
    answer = await ask(w, inquiry(BUDI_PAYMENT_CODE, months=12))
    assert answer["39"] == "00"
    assert answer["4"] == iso.amount_field(12 * 66_800)
    assert answer["48"].startswith(BUDI_PAYMENT_CODE.ljust(20) + "12" + (BUDI.kpj or ""))
    assert "inactive" in answer["48"]


async def test_inquiry_of_an_unknown_nik_or_payment_code_or_an_invalid_nik_is_14(
    w: World,
) -> None:
    async with Switch.connect(adapter(w).port) as switch:
        for member in (UNKNOWN_NIK, "886600000000034", "9901014101900003"):
            answer = await switch.ask(inquiry(member))
            assert answer["39"] == "14", member
            assert answer["48"] == bill(member, 1)


async def test_a_member_id_that_is_neither_a_nik_nor_a_payment_code_is_14_as_the_page_says(
    w: World,
) -> None:
    async with Switch.connect(adapter(w).port) as switch:
        for member in ("12345", "ABCDEFGHIJKLMNOPQRST", "88660000000001", "1234567890123456789"):
            inquired = await switch.ask(inquiry(member))
            paid = await switch.ask(payment(member, 16_800, rrn="606902000777"))
            assert (inquired["39"], paid["39"]) == ("14", "14"), member
    assert events(w, ContributionPaid) == []


async def test_months_other_than_1_3_6_or_12_are_a_format_error(w: World) -> None:
    assert (await ask(w, inquiry(SARI.nik, months=2)))["39"] == "30"


async def test_paying_further_ahead_than_allowed_is_answered_88() -> None:
    paid_far_ahead = replace(SARI, paid_through=date(2027, 1, 1))
    async with world(members=(paid_far_ahead,)) as w:
        assert (await ask(w, inquiry(SARI.nik, months=1)))["39"] == "00"
        assert (await ask(w, inquiry(SARI.nik, months=3)))["39"] == "88"
        assert (await ask(w, payment(SARI.nik, 3 * 16_800, months=3)))["39"] == "88"


async def test_a_bank_that_is_not_a_partner_learns_nothing_about_members(w: World) -> None:
    answer = await ask(w, inquiry(SARI.nik, **{"32": "014"}))
    assert answer["39"] == "63"
    assert answer["4"] == iso.amount_field(0)
    assert answer["48"] == bill(SARI.nik, 1)


# -- payment --------------------------------------------------------------------------------


async def test_payment_is_published_with_the_rrn_as_reference_and_the_agents_local_time(
    w: World,
) -> None:
    answer = await ask(w, payment(SARI.nik, 16_800, rrn="606902000777"))
    assert answer["39"] == "00"
    [paid] = events(w, ContributionPaid)
    assert (paid.partner_id, paid.channel, paid.partner_ref) == ("bni", "bni46", "606902000777")
    assert paid.payload.amount == 16_800
    assert paid.payload.months == 1
    # 09:00 WIB on 10 March (fields 12 and 13), not field 7.
    assert paid.payload.paid_at == datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
    assert paid.payload.outlet_id == "AGEN-BNI-00017"
    receipt = layout(answer["48"], iso.PAYMENT_ANSWER_LAYOUT)
    assert receipt[:2] == [SARI.nik.ljust(20), "01"]
    assert receipt[2].startswith("PAY-")


async def test_payment_retransmitted_with_the_same_rrn_is_approved_with_the_same_receipt_once(
    w: World,
) -> None:
    first = await ask(w, payment(SARI.nik, 16_800, stan="000201", rrn="606902000201"))
    again = payment(SARI.nik, 16_800, stan="000202", rrn="606902000201")
    again["7"] = "0310020107"
    second = await ask(w, again)
    assert (first["39"], second["39"]) == ("00", "00")
    assert second["48"] == first["48"]
    assert second["11"] == "000202"
    assert len(events(w, ContributionPaid)) == 1


async def test_an_rrn_reused_for_a_different_payment_is_94_and_changes_nothing(
    w: World,
) -> None:
    assert (await ask(w, payment(SARI.nik, 16_800)))["39"] == "00"
    assert (await ask(w, payment(BUDI.nik, 66_800)))["39"] == "94"
    assert len(events(w, ContributionPaid)) == 1


async def test_wrong_amount_and_amounts_with_cents_are_13(w: World) -> None:
    assert (await ask(w, payment(BUDI.nik, 60_000, rrn="606902000001")))["39"] == "13"
    with_cents = payment(BUDI.nik, 66_800, rrn="606902000002")
    with_cents["4"] = "000006680050"
    assert (await ask(w, with_cents))["39"] == "13"
    assert events(w, ContributionPaid) == []


async def test_a_payment_without_its_amount_is_a_format_error(w: World) -> None:
    fields = payment(BUDI.nik, 66_800)
    del fields["4"]
    assert (await ask(w, fields))["39"] == "30"


async def test_payment_when_the_broker_does_not_acknowledge_is_91_and_the_retry_is_approved(
    w: World,
) -> None:
    w.publisher.down = True
    assert (await ask(w, payment(SARI.nik, 16_800)))["39"] == "91"
    w.publisher.down = False
    assert (await ask(w, payment(SARI.nik, 16_800)))["39"] == "00"
    assert len(events(w, ContributionPaid)) == 1


async def test_a_member_registered_over_json_can_pay_over_iso_at_once(w: World) -> None:
    assert (await driver.DRIVER.register(w, REGISTRATION)).code == "00"
    assert (await ask(w, payment(str(REGISTRATION["nik"]), 16_800)))["39"] == "00"


# -- reversal -------------------------------------------------------------------------------


async def test_reversal_of_a_payment_by_its_rrn_is_approved_and_published(w: World) -> None:
    assert (await ask(w, payment(SARI.nik, 16_800, rrn="606902000201")))["39"] == "00"
    answer = await ask(w, reversal("606902000201"))
    assert (answer["t"], answer["39"], answer["11"], answer["37"]) == (
        "0410",
        "00",
        "000301",
        "606902000201",
    )
    [reversed_] = events(w, PaymentReversed)
    assert reversed_.payload.original_partner_ref == "606902000201"
    assert reversed_.partner_ref == "606902000201-000301"


async def test_reversal_repeated_as_0401_is_answered_the_same_and_applied_once(
    w: World,
) -> None:
    await ask(w, payment(SARI.nik, 16_800, rrn="606902000201"))
    first = await ask(w, reversal("606902000201", stan="000301"))
    repeat = await ask(w, reversal("606902000201", stan="000301", mti="0401"))
    assert (first["39"], repeat["39"], repeat["t"]) == ("00", "00", "0410")
    assert len(events(w, PaymentReversed)) == 1


async def test_a_second_reversal_with_another_stan_of_a_reversed_payment_is_94(
    w: World,
) -> None:
    await ask(w, payment(SARI.nik, 16_800, rrn="606902000201"))
    assert (await ask(w, reversal("606902000201", stan="000301")))["39"] == "00"
    assert (await ask(w, reversal("606902000201", stan="000302")))["39"] == "94"


async def test_reversal_of_a_payment_never_received_is_25(w: World) -> None:
    assert (await ask(w, reversal("606902999999")))["39"] == "25"
    assert events(w, PaymentReversed) == []


async def test_a_payment_answered_91_is_reversed_once_the_broker_answers_never_25(
    w: World,
) -> None:
    # The switch got 91 (no broker acknowledgement in time) and reverses, as an acquirer
    # does. The broker may have taken the payment all the same, so the hub cannot say
    # "no such payment" (25): while the broker is away the reversal is 91 too, and once
    # it answers, the payment is published again ahead of its reversal and both stand.
    w.publisher.down = True
    assert (await ask(w, payment(SARI.nik, 16_800, rrn="606902000201")))["39"] == "91"
    assert (await ask(w, reversal("606902000201")))["39"] == "91"
    w.publisher.down = False

    repeated = await ask(w, reversal("606902000201", mti="0401"))

    assert (repeated["t"], repeated["39"], repeated["37"]) == ("0410", "00", "606902000201")
    assert [type(p.envelope.payload) for p in w.publisher.published] == [
        ContributionPaid,
        PaymentReversed,
    ]
    [reversed_] = events(w, PaymentReversed)
    assert reversed_.payload.original_partner_ref == "606902000201"


async def test_reversal_after_the_payments_business_day_closed_or_of_a_refused_payment_is_12(
    w: World,
) -> None:
    await ask(w, payment(SARI.nik, 16_800, stan="000201", rrn="606902000201"))
    await ask(w, payment(BUDI.nik, 66_800, stan="000202", rrn="606902000202"))
    w.ledger.close_day_of("bni", "606902000201")
    key = ("bni", "payment", "606902000202")
    w.ledger.requests[key] = msgspec.structs.replace(
        w.ledger.requests[key], status="rejected", reason="member unknown"
    )
    assert (await ask(w, reversal("606902000201")))["39"] == "12"
    assert (await ask(w, reversal("606902000202", stan="000302")))["39"] == "12"


async def test_reversal_of_a_payment_refused_at_once_is_25_and_the_page_says_so(w: World) -> None:
    refused = await ask(w, payment(SARI.nik, 99_999, rrn="606902000201"))
    reversed_ = await ask(w, reversal("606902000201"))

    assert (refused["39"], reversed_["39"]) == ("13", "25")
    page = (DOCS / "bni46.md").read_text()
    row = next(line for line in page.splitlines() if line.startswith("| `25` |"))
    assert "refused at once" in row, row
    assert events(w, PaymentReversed) == []


async def test_a_reversal_whose_field_90_does_not_name_a_0200_is_a_format_error(
    w: World,
) -> None:
    await ask(w, payment(SARI.nik, 16_800, rrn="606902000201"))
    fields = reversal("606902000201")
    fields["90"] = "0100" + fields["90"][4:]
    assert (await ask(w, fields))["39"] == "30"


# -- one persistent connection ------------------------------------------------------------------


async def test_many_requests_on_one_connection_are_each_answered_with_their_own_stan(
    w: World,
) -> None:
    stans = [f"{n:06d}" for n in range(1, 21)]
    async with Switch.connect(adapter(w).port) as switch:
        await switch.write(
            b"".join(iso.frame(iso.encode(inquiry(SARI.nik, stan=s))) for s in stans)
        )
        answers = [await switch.answer() for _ in stans]
    assert sorted(a["11"] for a in answers) == stans
    assert {a["39"] for a in answers} == {"00"}


async def test_an_echo_is_not_held_up_behind_a_slow_payment(
    w: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = asyncio.Event()
    publish = w.publisher.publish

    async def slow_broker(key: str, value: bytes) -> None:
        await release.wait()
        await publish(key, value)

    monkeypatch.setattr(w.publisher, "publish", slow_broker)
    async with Switch.connect(adapter(w).port) as switch:
        await switch.send(payment(SARI.nik, 16_800, stan="000201"))
        await switch.send({"t": "0800", "7": "0310020000", "11": "000202", "70": "301"})
        first = await switch.answer()
        release.set()
        second = await switch.answer()
    assert (first["t"], first["11"]) == ("0810", "000202")
    assert (second["t"], second["11"], second["39"]) == ("0210", "000201", "00")


async def test_a_frame_arriving_in_pieces_is_answered_once_whole(w: World) -> None:
    data = iso.frame(iso.encode(inquiry(SARI.nik)))
    async with Switch.connect(adapter(w).port) as switch:
        for i in range(0, len(data), 7):
            await switch.write(data[i : i + 7])
            await asyncio.sleep(0.01)
        assert (await switch.answer())["39"] == "00"


async def test_stopping_the_server_answers_the_requests_already_read_first(
    w: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish = w.publisher.publish

    async def slow_broker(key: str, value: bytes) -> None:
        await asyncio.sleep(0.2)
        await publish(key, value)

    monkeypatch.setattr(w.publisher, "publish", slow_broker)
    async with Switch.connect(adapter(w).port) as switch:
        await switch.send(payment(SARI.nik, 16_800))
        await asyncio.sleep(0.05)
        stopping = asyncio.create_task(adapter(w).stop())
        answer = await switch.answer()
        await stopping
        assert answer["39"] == "00"
        assert await switch.hung_up()


async def test_a_switch_that_hangs_up_mid_request_does_not_disturb_the_server(
    w: World,
) -> None:
    async with Switch.connect(adapter(w).port) as switch:
        await switch.send(payment(SARI.nik, 16_800))
    await asyncio.sleep(0.1)
    assert len(events(w, ContributionPaid)) == 1
    await link_still_works(w)


# -- malformed frames never stop the server -------------------------------------------------------


async def test_a_truncated_message_is_answered_30_with_what_could_be_read(w: World) -> None:
    message = iso.encode(payment(SARI.nik, 16_800, stan="000444"))[:-30]
    async with Switch.connect(adapter(w).port) as switch:
        await switch.write(iso.frame(message))
        answer = await switch.answer()
        assert (answer["t"], answer["39"], answer["11"]) == ("0210", "30", "000444")
        # The connection stays usable.
        assert (await switch.ask(inquiry(SARI.nik)))["39"] == "00"


async def test_a_bitmap_that_is_not_hex_is_answered_30(w: World) -> None:
    message = bytearray(iso.encode(inquiry(SARI.nik)))
    message[4:20] = b"ZZZZZZZZZZZZZZZZ"
    async with Switch.connect(adapter(w).port) as switch:
        await switch.write(iso.frame(bytes(message)))
        answer = await switch.answer()
    assert (answer["t"], answer["39"]) == ("0210", "30")
    await link_still_works(w)


async def test_a_bitmap_announcing_fields_that_are_not_there_is_answered_30(w: World) -> None:
    message = iso.encode({"t": "0800", "7": "0310020000", "11": "000777", "70": "301"})
    # Field 2 announced too: its length is read from field 7's digits, and the rest is off.
    message = message[:4] + b"C" + message[5:]
    async with Switch.connect(adapter(w).port) as switch:
        await switch.write(iso.frame(message))
        answer = await switch.answer()
    assert (answer["t"], answer["39"]) == ("0810", "30")
    await link_still_works(w)


async def test_an_mti_the_channel_does_not_answer_closes_only_that_connection(w: World) -> None:
    for mti in ("0100", "0210", "0420", "ABCD"):
        async with Switch.connect(adapter(w).port) as switch:
            await switch.write(iso.frame(iso.encode({**inquiry(SARI.nik), "t": mti})))
            assert await switch.hung_up(), mti
    await link_still_works(w)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"\xff\xff" + b"0" * 100, id="huge length prefix"),
        pytest.param(b"\x00\x00", id="zero length"),
        pytest.param(b"\x00\x10\x80\x81\x82garbage-bytes", id="non-ascii mti"),
        pytest.param(b"\x00\x0202", id="shorter than an mti"),
    ],
)
async def test_frames_that_cannot_be_answered_close_the_connection_and_the_server_goes_on(
    w: World, data: bytes
) -> None:
    async with Switch.connect(adapter(w).port) as switch:
        await switch.write(data)
        assert await switch.hung_up()
    await link_still_works(w)


async def test_random_bytes_never_crash_the_server() -> None:
    rng = random.Random(8583)
    async with world() as w:
        for n in range(150):
            size = rng.randrange(0, 300)
            body = bytes(rng.randrange(256) for _ in range(size))
            if n % 3 == 0:
                # Keep a valid MTI so the decoder, not the MTI check, meets the garbage.
                body = rng.choice([b"0200", b"0400", b"0401", b"0800"]) + body
            if n % 2 == 0:
                body = len(body).to_bytes(2, "big") + body
            answer = await driver.exchange(adapter(w).port, body)
            assert answer.code in {"closed", "30", "no answer"}, (n, answer)
        await link_still_works(w)


@contextlib.asynccontextmanager
async def server_with(w: World, **changed: float) -> AsyncIterator[int]:
    """Another ISO 8583 server of the world's channel, with options ``changed``: its port."""
    server = Bni46Adapter(adapter(w).context, adapter(w).options.model_copy(update=changed))
    await server.start()
    try:
        yield server.port
    finally:
        await server.stop()


async def test_a_frame_that_never_completes_is_dropped_after_the_frame_timeout(
    w: World,
) -> None:
    async with server_with(w, frame_timeout_s=0.2, idle_timeout_s=0.5) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"\x00\x50" + b"0200")
        await writer.drain()
        assert await asyncio.wait_for(reader.read(1), 2) == b""
        writer.close()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await asyncio.wait_for(reader.read(1), 2) == b"", "an idle connection is closed"
        writer.close()


async def test_one_byte_of_the_length_prefix_then_silence_is_dropped_after_the_frame_timeout(
    w: World,
) -> None:
    async with server_with(w, frame_timeout_s=0.2, idle_timeout_s=30) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"\x00")
        await writer.drain()
        assert await asyncio.wait_for(reader.read(1), 3) == b"", "held past the frame timeout"
        writer.close()


# -- registrations over JSON -----------------------------------------------------------------------


async def register(
    w: World,
    body: dict[str, Any] | bytes,
    partner_id: str = driver.PARTNER_ID,
    secret: str = driver.SECRET,
    stamp: int = STAMP,
) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = driver.signed_headers(raw, stamp, secret)
    headers["X-Partner-Id"] = partner_id
    return await w.client.post(driver.REGISTRATIONS, content=raw, headers=headers)


async def test_registration_is_published_in_the_hubs_terms(w: World) -> None:
    response = await register(w, REGISTRATION)
    assert response.status_code == 200
    assert response.json()["response_code"] == "00"
    [submitted] = [p.envelope for p in w.publisher.published]
    assert isinstance(submitted.payload, RegistrationSubmitted)
    assert (submitted.partner_id, submitted.channel, submitted.partner_ref) == (
        "bni",
        "bni46",
        REGISTRATION["trx_id"],
    )
    assert submitted.payload.sex == "F"
    assert submitted.payload.full_name == "SITI RAHMAWATI"
    assert submitted.payload.phone == "+6281234567891"
    assert submitted.payload.outlet_id == "AGEN-BNI-00017"
    assert submitted.payload.programmes == ("JKK", "JKM")


async def test_registration_status_is_visible_to_its_partner_only(w: World) -> None:
    await register(w, REGISTRATION)
    path = f"{driver.REGISTRATIONS}/{REGISTRATION['trx_id']}"
    mine = await w.client.get(path, headers=driver.signed_headers(b"", STAMP))
    assert mine.status_code == 200
    assert mine.json()["status"] == "accepted"
    stranger = driver.signed_headers(b"", STAMP, "bri-secret")
    stranger["X-Partner-Id"] = "bri"
    response = await w.client.get(path, headers=stranger)
    assert response.status_code == 401
    assert response.json()["response_code"] == "63"


async def test_partners_of_other_channels_stale_timestamps_and_bad_signatures_are_63(
    w: World,
) -> None:
    for response in (
        await register(w, REGISTRATION, partner_id="demo", secret="demo-secret"),
        await register(w, REGISTRATION, stamp=STAMP - 301),
        await register(w, REGISTRATION, secret="bri-secret"),
    ):
        assert response.status_code == 401
        assert response.json()["response_code"] == "63"
    assert w.publisher.published == []


async def test_a_body_that_is_not_json_or_has_unknown_fields_is_30(w: World) -> None:
    for body in (b"{not json", {**REGISTRATION, "nama_ibu": "SITI"}, [REGISTRATION]):
        response = await register(w, body)  # type: ignore[arg-type]
        assert response.status_code == 400
        assert response.json()["response_code"] == "30"


async def test_an_income_that_is_not_a_bracket_is_named_in_bnis_words(w: World) -> None:
    response = await register(w, {**REGISTRATION, "monthly_income": 1_200_000})
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["monthly_income"]


async def test_registration_when_the_broker_does_not_acknowledge_is_91_with_retry_after(
    w: World,
) -> None:
    w.publisher.down = True
    response = await register(w, REGISTRATION)
    assert response.status_code == 503
    assert response.json()["response_code"] == "91"
    assert response.headers["Retry-After"] == "7"
