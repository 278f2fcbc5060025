"""The documented Alfamart exchanges, produced by running the real adapter.

``HUB_ENV=test python -m tests.channels.alfamart.examples`` sends each example
below, in order, to one fresh ``kit.world()`` (fixed clock) and rewrites the
generated parts of docs/channels/alfamart.md: the worked signature and the
request/response pairs. Answers are never typed by hand: ``test_alfamart.py``
replays the page verbatim and expects exactly what it shows.
"""

import hashlib
from datetime import timedelta

from tests.channels.alfamart.driver import (
    DRIVER,
    PARTNER_ID,
    SECRET,
    signature,
    store_time,
)
from tests.channels.doc_page import DocPage, Example, another_channels_partner, bad_signature
from tests.channels.kit import (
    BUDI_PAYMENT_CODE,
    DOCS,
    SARI_PAYMENT_CODE,
    WAYAN_PAYMENT_CODE,
    WORLD_NOW,
)
from tests.unit.fakes import JAKARTA_MAN_NIK

PAGE = DOCS / "alfamart.md"
NEW_MEMBER_NIK = "3273011708880004"
"""A man born 1988-08-17 in Kota Bandung; not a member yet."""
UNKNOWN_PAYMENT_CODE = "886600000000034"
"""A well-formed payment code (valid KPJ check digit) that no member holds."""

REGISTRATION = {
    "trx_id": "ALF-REG-20260310-0001",
    "store_code": "A0123",
    "nik": NEW_MEMBER_NIK,
    "name": "Agus Setiawan",
    "birth_date": "1988-08-17",
    "gender": "M",
    "phone": "+6285712345678",
    "address": "Jl. Dago 45, Bandung",
    "occupation": "ojek",
    "income": 1500000,
    "programs": ["JKK", "JKM", "JHT"],
}
PAYMENT = {
    "trx_id": "ALF-PAY-20260310-0001",
    "store_code": "A0456",
    "payment_code": SARI_PAYMENT_CODE,
    "months": 1,
    "amount": 16800,
    "datetime": "2026-03-10T09:59:30+08:00",
}
PAYMENT_BY_NIK = {
    "trx_id": "ALF-PAY-20260310-0002",
    "store_code": "A0123",
    "payment_code": JAKARTA_MAN_NIK,
    "months": 3,
    "amount": 200400,
    "datetime": "2026-03-10T08:59:45+07:00",
}

PAYMENT_STATUS = {"trx_id": PAYMENT["trx_id"], "trx_type": "payment"}
"""Asked before and after the reversal: the same question, two answers."""

PAGE_DOC = DocPage(PAGE, DRIVER, shown_headers=("WWW-Authenticate", "Retry-After"))


SIGNATURE_EXAMPLE = Example(
    "Inquiry by payment code",
    "inquiry",
    {"payment_code": SARI_PAYMENT_CODE, "months": 1},
    "The cashier scanned or typed the code on the member's card. The answer is what to show "
    "and collect: the masked name, the months covered and `amount`.",
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
        {
            "trx_id": "ALF-INQ-20260310-0002",
            "store_code": "A0123",
            "payment_code": JAKARTA_MAN_NIK,
            "months": 3,
        },
        "The cashier typed a NIK instead. This member never paid, so he is `INACTIVE`; "
        "`member_payment_code` is his payment code, worth printing on the receipt.",
    ),
    Example(
        "Inquiry with arrears",
        "inquiry",
        {
            "trx_id": "ALF-INQ-20260310-0003",
            "store_code": "A0123",
            "payment_code": WAYAN_PAYMENT_CODE,
            "months": 1,
        },
        ARREARS_NOTE,
    ),
    Example("Registration", "registration", REGISTRATION),
    Example(
        "Registration status",
        "status",
        {"trx_id": REGISTRATION["trx_id"], "trx_type": "registration"},
        "`ACCEPTED` until the membership store records it; then `RECORDED` with `kpj` and "
        "`member_payment_code`, or `REJECTED` with a `reason`.",
    ),
    Example(
        "Payment",
        "payment",
        PAYMENT,
        "Sent after the inquiry, with the `amount` it returned; `datetime` is the store's "
        "local time (here WITA, +08:00).",
    ),
    Example(
        "Advice after a timeout",
        "advice",
        PAYMENT,
        "The host's timeout fired, so it repeats the payment as an advice (new timestamp, "
        "same `trx_id` and content): answered exactly as the payment, with the original "
        "`ref_no`, and the contribution is counted once.",
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
            "trx_id": "ALF-REV-20260310-0001",
            "original_trx_id": PAYMENT["trx_id"],
            "store_code": PAYMENT["store_code"],
            "amount": PAYMENT["amount"],
            "reason": "store timeout",
        },
        "Takes the payment back (until its business day is closed); a repeat with the same "
        "`trx_id` gets the same answer.",
        at=WORLD_NOW + timedelta(seconds=90),
    ),
    Example(
        "Payment status after the reversal",
        "status",
        PAYMENT_STATUS,
        "`reversal` shows it.",
    ),
    Example(
        "A second reversal of a reversed payment",
        "reversal",
        {
            "trx_id": "ALF-REV-20260310-0002",
            "original_trx_id": PAYMENT["trx_id"],
            "amount": PAYMENT["amount"],
        },
        "Another `trx_id` for a payment already taken back: refused, nothing changes.",
    ),
    Example(
        "Reversal of a payment never received",
        "reversal",
        {
            "trx_id": "ALF-REV-20260310-0003",
            "original_trx_id": "ALF-PAY-20260310-0099",
            "store_code": "A0456",
            "amount": 16800,
        },
        "The payment's request never reached the hub, so nothing was collected on our side "
        "and nothing is taken back: `0104`. The host can close the transaction: the hub "
        "remembers the reversal, and should the payment arrive after all, it is refused "
        "(`0106`) and never applied.",
    ),
    Example("Payment by NIK", "payment", PAYMENT_BY_NIK),
    Example(
        "Wrong amount",
        "payment",
        {
            "trx_id": "ALF-PAY-20260310-0003",
            "store_code": "A0123",
            "payment_code": BUDI_PAYMENT_CODE,
            "months": 1,
            "amount": 16800,
            "datetime": "2026-03-10T08:59:50+07:00",
        },
        "`amount_due` is what the member owes for `months`.",
    ),
    Example(
        "Unknown payment code",
        "inquiry",
        {"payment_code": UNKNOWN_PAYMENT_CODE, "months": 1},
    ),
    Example(
        "trx_id reused for another payment",
        "payment",
        {**PAYMENT_BY_NIK, "months": 1, "amount": 66800},
        "Same `trx_id` as an earlier payment, different content: refused, nothing changes.",
    ),
    Example(
        "Missing field",
        "payment",
        {k: v for k, v in PAYMENT_BY_NIK.items() if k != "amount"} | {"trx_id": "ALF-PAY-X1"},
    ),
    Example(
        "Invalid field",
        "registration",
        {**REGISTRATION, "trx_id": "ALF-REG-20260310-0002", "birth_date": "17-08-1988"},
        "`errors` names each field and the reason.",
    ),
    bad_signature(SIGNATURE_EXAMPLE.wire, "not-the-secret", "Signed with the wrong secret."),
    another_channels_partner(
        SIGNATURE_EXAMPLE.wire,
        {"partner_id": "indomaret", "secret": "indomaret-secret"},
        "Indomaret's credentials, correctly signed, are unknown on the Alfamart channel.",
    ),
]


def worked_signature() -> str:
    """How the first example's signature is computed, step by step, from its real values."""
    example = SIGNATURE_EXAMPLE
    timestamp = store_time(example.at)
    digest = hashlib.sha256(example.body).hexdigest()
    return "\n".join(
        [
            f"- secret: `{SECRET}` (the test partner `{PARTNER_ID}`)",
            f"- raw body: `{example.body.decode()}`",
            f"- SHA-256 of the body, lowercase hex: `{digest}`",
            f"- `X-Alfa-Timestamp`: `{timestamp}`",
            "- string to sign (four lines joined by `\\n`, no trailing newline):",
            "",
            "  ```text",
            "  POST",
            f"  {PAGE_DOC.target(example)}",
            f"  {timestamp}",
            f"  {digest}",
            "  ```",
            "",
            "- base64 HMAC-SHA512(secret, string to sign): "
            f"`{signature(SECRET, PAGE_DOC.target(example), timestamp, example.body)}`",
            f"- so `Authorization: ALFA {PARTNER_ID}:"
            f"{signature(SECRET, PAGE_DOC.target(example), timestamp, example.body)}`",
            "",
            "The first example below is this very request.",
        ]
    )


def main() -> None:
    PAGE_DOC.write(worked_signature(), EXAMPLES)


if __name__ == "__main__":
    main()
