"""The documented Indomaret exchanges, produced by running the real adapter.

``HUB_ENV=test python -m tests.channels.indomaret.examples`` sends each example
below, in order, to one fresh ``kit.world()`` (fixed clock) and rewrites the
generated parts of docs/channels/indomaret.md: the worked signature and the
request/response pairs. Answers are never typed by hand: ``test_indomaret.py``
replays the page verbatim and expects exactly what it shows.
"""

from datetime import timedelta

from tests.channels.doc_page import DocPage, Example, another_channels_partner, bad_signature
from tests.channels.indomaret.driver import (
    CLIENT_ID,
    DRIVER,
    SECRET,
    host_time,
    signature,
)
from tests.channels.kit import (
    BUDI_PAYMENT_CODE,
    DOCS,
    SARI_PAYMENT_CODE,
    WAYAN_PAYMENT_CODE,
    WORLD_NOW,
)
from tests.unit.fakes import JAKARTA_MAN_NIK

PAGE = DOCS / "indomaret.md"
NEW_MEMBER_NIK = "3174015506920003"
"""A woman born 1992-06-15 in Jakarta Barat; not a member yet."""
UNKNOWN_PAYMENT_CODE = "886600000000034"
"""A well-formed payment code (valid KPJ check digit) that no member holds."""

REGISTRATION = {
    "NoTransaksi": "IDM-REG-20260310-0001",
    "KodeToko": "TJKT01",
    "NIK": NEW_MEMBER_NIK,
    "NamaLengkap": "Siti Rahmawati",
    "TglLahir": "15-06-1992",
    "JenisKelamin": "P",
    "NoHP": "081298765432",
    "Alamat": "Jl. Kebon Jeruk 7, Jakarta Barat",
    "Pekerjaan": "pedagang",
    "Penghasilan": 1000000,
    "Program": "JKK,JKM",
}
PAYMENT = {
    "NoTransaksi": "IDM-PAY-20260310-0001",
    "KodeBayar": SARI_PAYMENT_CODE,
    "KodeToko": "TDPS07",
    "JumlahBulan": 1,
    "Nominal": 16800,
    "TglTransaksi": "20260310085930",
}
PAYMENT_BY_NIK = {
    "NoTransaksi": "IDM-PAY-20260310-0002",
    "KodeBayar": JAKARTA_MAN_NIK,
    "KodeToko": "TJKT01",
    "JumlahBulan": 3,
    "Nominal": 200400,
    "TglTransaksi": "20260310085945",
}

PAYMENT_STATUS = {"NoTransaksi": PAYMENT["NoTransaksi"], "JenisTransaksi": "PEMBAYARAN"}
"""Asked before and after the reversal: the same question, two answers."""

PAGE_DOC = DocPage(PAGE, DRIVER)


SIGNATURE_EXAMPLE = Example(
    "Inquiry by payment code",
    "inquiry",
    {"KodeBayar": SARI_PAYMENT_CODE, "JumlahBulan": 1},
    "The cashier typed the code on the member's card. The answer is what to show and "
    "collect: the masked name, the months covered and `Nominal`.",
    compact=True,
)

ARREARS_NOTE = (
    "A member paid through January 2026, whose KPJ came from the agency's core (no check "
    "digit), pays one month on 10 March: February is collected first (arrears), then March."
)

EXAMPLES = [
    SIGNATURE_EXAMPLE,
    Example(
        "Inquiry by NIK",
        "inquiry",
        {"NoTransaksi": "IDM-INQ-20260310-0002", "KodeBayar": JAKARTA_MAN_NIK, "JumlahBulan": 3},
        "The cashier typed a NIK instead. This member never paid, so he is `TIDAK AKTIF`; "
        "`KodeBayarPeserta` is his payment code, worth printing on the receipt.",
    ),
    Example(
        "Inquiry with arrears",
        "inquiry",
        {"NoTransaksi": "IDM-INQ-20260310-0003", "KodeBayar": WAYAN_PAYMENT_CODE, "JumlahBulan": 1},
        ARREARS_NOTE.replace("arrears", "`Tunggakan`, arrears"),
    ),
    Example("Registration", "registration", REGISTRATION),
    Example(
        "Registration status",
        "status",
        {"NoTransaksi": REGISTRATION["NoTransaksi"], "JenisTransaksi": "REGISTRASI"},
        "`DITERIMA` until the membership store records it; then `TERCATAT` with `NoKPJ` and "
        "`KodeBayarPeserta`, or `DITOLAK` with an `Alasan`.",
    ),
    Example(
        "Payment",
        "payment",
        PAYMENT,
        "Sent after the inquiry, with the `Nominal` it returned.",
    ),
    Example(
        "Advice after a timeout",
        "advice",
        PAYMENT,
        "The host's timeout fired, so it repeats the payment as an advice (new timestamp, "
        "same `NoTransaksi` and content): answered exactly as the payment, with the original "
        "`NoReferensi`, and the contribution is counted once.",
        at=WORLD_NOW + timedelta(seconds=45),
    ),
    Example(
        "Payment status",
        "status",
        PAYMENT_STATUS,
    ),
    Example(
        "Reversal",
        "reversal",
        {
            "NoTransaksi": PAYMENT["NoTransaksi"],
            "KodeToko": PAYMENT["KodeToko"],
            "Nominal": PAYMENT["Nominal"],
            "Alasan": "timeout di kasir",
        },
        "Takes the payment back (until its business day is closed); a repeat gets the same answer.",
        at=WORLD_NOW + timedelta(seconds=90),
    ),
    Example(
        "Payment status after the reversal",
        "status",
        PAYMENT_STATUS,
        "`Pembatalan` shows the reversal.",
    ),
    Example(
        "Reversal of a payment never received",
        "reversal",
        {"NoTransaksi": "IDM-PAY-20260310-0099", "KodeToko": "TDPS07", "Nominal": 16800},
        "The payment's request never reached the hub, so nothing was collected on our side "
        "and nothing is taken back: RC `25`. The host can close the transaction: the hub "
        "remembers the reversal, and should the payment arrive after all, it is refused "
        "(RC `95`) and never applied.",
    ),
    Example("Payment by NIK", "payment", PAYMENT_BY_NIK),
    Example(
        "Wrong amount",
        "payment",
        {
            "NoTransaksi": "IDM-PAY-20260310-0003",
            "KodeBayar": BUDI_PAYMENT_CODE,
            "KodeToko": "TJKT01",
            "JumlahBulan": 1,
            "Nominal": 16800,
            "TglTransaksi": "20260310085950",
        },
        "`NominalTagihan` is what the member owes for `JumlahBulan`.",
    ),
    Example(
        "Unknown payment code",
        "inquiry",
        {"KodeBayar": UNKNOWN_PAYMENT_CODE, "JumlahBulan": 1},
    ),
    Example(
        "NoTransaksi reused for another payment",
        "payment",
        {**PAYMENT_BY_NIK, "JumlahBulan": 1, "Nominal": 66800},
        "Same `NoTransaksi` as an earlier payment, different content: refused, nothing changes.",
    ),
    Example(
        "Malformed message",
        "registration",
        {**REGISTRATION, "NoTransaksi": "IDM-REG-20260310-0002", "TglLahir": "1992-06-15"},
        "`Detail` names the field and the reason.",
    ),
    bad_signature(SIGNATURE_EXAMPLE.wire, "not-the-secret", "Signed with the wrong secret."),
    another_channels_partner(
        SIGNATURE_EXAMPLE.wire,
        {"client_id": "alfamart", "secret": "alfamart-secret"},
        "Alfamart's credentials, correctly signed, are unknown on the Indomaret channel.",
    ),
]


def worked_signature() -> str:
    """How the first example's signature is computed, step by step, from its real values."""
    example = SIGNATURE_EXAMPLE
    timestamp = host_time(example.at)
    message = example.body.decode() + timestamp
    return "\n".join(
        [
            f"- secret: `{SECRET}` (the test partner `{CLIENT_ID}`)",
            f"- raw body: `{example.body.decode()}`",
            f"- `X-Indomaret-Timestamp`: `{timestamp}` (09:00:00 WIB, 10 March 2026)",
            f"- message = body + timestamp: `{message}`",
            f"- `X-Indomaret-Signature` = hex HMAC-SHA256(secret, message): "
            f"`{signature(SECRET, example.body, timestamp)}`",
            "",
            "The first example below is this very request.",
        ]
    )


def main() -> None:
    PAGE_DOC.write(worked_signature(), EXAMPLES)


if __name__ == "__main__":
    main()
