"""What only Indomaret's host does: its signature and RC 95 for an advice after a
reversal. What both chains do is proved for both in
``tests/channels/test_retail_counter.py``."""

import pytest

from tests.channels.indomaret.driver import signature
from tests.channels.indomaret.examples import PAGE
from tests.channels.kit import http_examples, world
from tests.channels.retail import INDOMARET

PAYMENT = INDOMARET.payment
REVERSAL = INDOMARET.reversal


def test_the_worked_signature_is_the_first_documented_request() -> None:
    first = http_examples("indomaret")[0]
    timestamp = first.headers["X-Indomaret-Timestamp"]
    expected = signature("indomaret-secret", first.body, timestamp)
    assert first.headers["X-Indomaret-Signature"] == expected
    page = PAGE.read_text()
    assert f"`{first.body.decode()}{timestamp}`" in page
    assert f"`{expected}`" in page


@pytest.mark.parametrize("retry", ["advice", "payment"])
async def test_an_advice_after_the_reversal_is_rc_95_already_reversed_not_a_new_notransaksi(
    retry: str,
) -> None:
    async with world() as w:
        await INDOMARET.send(w, "payment", PAYMENT)
        await INDOMARET.send(w, "reversal", REVERSAL)
        advised = await INDOMARET.send(w, retry, PAYMENT)
        assert [p.envelope.event_type for p in w.publisher.published] == [
            "ContributionPaid",
            "PaymentReversed",
        ]
    assert (advised.code, advised.body["Keterangan"]) == (
        "95",
        "Transaksi sudah dibatalkan, jangan terima uang",
    )


async def test_stale_timestamp_is_63_even_when_correctly_signed() -> None:
    async with world() as w:
        body = b'{"KodeBayar":"886600000000018"}'
        stale = "20260310085400"
        response = await w.client.post(
            "/indomaret/v1/inquiry",
            content=body,
            headers={
                "X-Indomaret-Client-Id": "indomaret",
                "X-Indomaret-Timestamp": stale,
                "X-Indomaret-Signature": signature("indomaret-secret", body, stale),
            },
        )
    assert response.json()["RC"] == "63"
    assert "X-Indomaret-Timestamp" in response.json()["Detail"]
