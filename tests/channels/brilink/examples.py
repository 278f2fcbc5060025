"""The documented BRILink exchanges, produced by running the real adapter.

``python -m tests.channels.brilink.examples`` sends each example below, in order,
to one fresh ``kit.world()`` (fixed clock) and rewrites the generated parts of
docs/channels/brilink.md: the worked signature and the request/response pairs.
Answers are never typed by hand; ``test_brilink.py`` replays the page verbatim.
"""

from datetime import timedelta
from typing import Any

from tests.channels.brilink.driver import (
    CLIENT_ID,
    DRIVER,
    SECRET,
    bri_timestamp,
)
from tests.channels.doc_page import DocPage, Example, bad_signature
from tests.channels.kit import (
    BUDI_PAYMENT_CODE,
    DOCS,
    UNKNOWN_NIK,
    WAYAN_PAYMENT_CODE,
    WORLD_NOW,
)
from tests.unit.fakes import BALI_WOMAN_NIK

PAGE = DOCS / "brilink.md"
NEW_MEMBER_NIK = "3273015506920001"
"""A woman born 1992-06-15 in Kota Bandung (Jawa Barat); not a member yet."""

REGISTRATION: dict[str, Any] = {
    "journalSeq": "BRL-REG-20260310-0001",
    "nik": NEW_MEMBER_NIK,
    "fullName": "Siti Rahmawati",
    "birthDate": "1992-06-15",
    "gender": "F",
    "phoneNo": "081234567891",
    "address": "Jl. Dago 10, Bandung",
    "occupation": "pedagang",
    "declaredIncome": 1000000,
    "programs": ["JKK", "JKM"],
    "agentId": "BRILINK-3273-0042",
}
PAYMENT: dict[str, Any] = {
    "journalSeq": "BRL-PAY-20260310-0001",
    "nik": BALI_WOMAN_NIK,
    "months": 1,
    "amount": 16800,
    "transactionDateTime": "2026-03-10T09:58:30+08:00",
    "agentId": "BRILINK-5171-0007",
}


PAGE_DOC = DocPage(PAGE, DRIVER, shown_headers=("Content-Type", "Retry-After"))


ARREARS_NOTE = (
    "A member paid through January 2026, whose KPJ came from the agency's core (no check "
    "digit), pays one month on 10 March: February is collected first (arrears), then March."
)

EXAMPLES = [
    Example(
        "Inquiry by NIK",
        "inquiry",
        {"nik": BALI_WOMAN_NIK, "months": 1},
        "A member paid through February 2026 asks what one more month costs.",
    ),
    Example(
        "Inquiry by brivaNo",
        "inquiry",
        {"brivaNo": BUDI_PAYMENT_CODE, "months": 3},
        "The number on the member's card; this member never paid, so he is inactive.",
    ),
    Example(
        "Inquiry with arrears",
        "inquiry",
        {"brivaNo": WAYAN_PAYMENT_CODE, "months": 1},
        ARREARS_NOTE,
    ),
    Example("Registration approved", "registration", REGISTRATION),
    Example(
        "Registration status",
        "registration_status",
        {"journalSeq": REGISTRATION["journalSeq"]},
        "`ACCEPTED` until the membership store records it; then `RECORDED` with `kpj` and "
        "`brivaNo`, or `REJECTED` with a `reason`.",
    ),
    Example(
        "Payment approved",
        "payment",
        PAYMENT,
        "Sent after the inquiry, with the amount it returned (`transactionDateTime` is the "
        "agent's local time, here WITA).",
    ),
    Example(
        "Payment resent after a timeout",
        "payment",
        PAYMENT,
        "The same message resent (new `BRI-Timestamp`, same `journalSeq` and content) is "
        "answered exactly as the first time, and the contribution is counted once.",
        at=WORLD_NOW + timedelta(seconds=45),
    ),
    Example("Payment status", "payment_status", {"journalSeq": PAYMENT["journalSeq"]}),
    Example(
        "Reversal approved",
        "reversal",
        {
            "journalSeq": "BRL-REV-20260310-0001",
            "origJournalSeq": PAYMENT["journalSeq"],
            "remark": "cash returned to customer",
        },
    ),
    Example(
        "Payment status after its reversal",
        "payment_status",
        {"journalSeq": PAYMENT["journalSeq"]},
    ),
    Example(
        "Second reversal of the same payment",
        "reversal",
        {"journalSeq": "BRL-REV-20260310-0002", "origJournalSeq": PAYMENT["journalSeq"]},
        "Another `journalSeq` for a payment already reversed is refused with `95`; resending "
        "the first reversal's own `journalSeq` would be answered `00` as before.",
    ),
    Example(
        "Reversal of a payment the hub never received",
        "reversal",
        {"journalSeq": "BRL-REV-20260310-0003", "origJournalSeq": "BRL-PAY-20260310-0999"},
        "After its own timeout the agent may reverse a payment that never arrived: `25` "
        "means nothing was taken, so there is nothing to undo. The hub remembers the "
        "reversal: should the payment arrive after all, it is refused (`95`) and never "
        "applied.",
    ),
    Example(
        "Same journalSeq, different payment",
        "payment",
        {**PAYMENT, "months": 3, "amount": 50400},
    ),
    Example(
        "Wrong amount",
        "payment",
        {**PAYMENT, "journalSeq": "BRL-PAY-20260310-0002", "amount": 15000},
        "`data.amount` is the amount due.",
    ),
    Example("Unknown member", "inquiry", {"nik": UNKNOWN_NIK, "months": 1}),
    Example(
        "Missing mandatory field",
        "payment",
        {k: v for k, v in PAYMENT.items() if k != "amount"}
        | {"journalSeq": "BRL-PAY-20260310-0003"},
    ),
    Example(
        "Invalid field format",
        "registration",
        {**REGISTRATION, "journalSeq": "BRL-REG-20260310-0002", "gender": "P", "phoneNo": "12345"},
        "Each bad field is listed with the reason.",
    ),
    bad_signature(
        {"nik": BALI_WOMAN_NIK, "months": 1}, "not-the-bri-secret", "Signed with another secret."
    ),
    Example(
        "Timestamp outside the window",
        "inquiry",
        {"nik": BALI_WOMAN_NIK, "months": 1},
        "Signed correctly, ten minutes ago.",
        at=WORLD_NOW - timedelta(minutes=10),
    ),
]

WORKED = next(e for e in EXAMPLES if e.title == "Payment approved")
"""The example whose signature the page works through step by step."""


def worked_signature() -> str:
    # Tilde fences: kit.http_examples reads backtick fences only, and pairs them in order.
    ts = bri_timestamp(WORKED.at)
    to_sign = (
        f"path={PAGE_DOC.target(WORKED)}&verb=POST&clientId={CLIENT_ID}&timestamp={ts}&body="
        + WORKED.body.decode()
    )
    return (
        f'With secret `{SECRET}`, BRI\'s host signs the "{WORKED.title}" example below. '
        "The string to sign is exactly:\n\n"
        f"~~~text\n{to_sign}\n~~~\n\n"
        "and its signature (base64 of the 32-byte HMAC-SHA256) is:\n\n"
        f"~~~text\n{PAGE_DOC.headers(WORKED)['BRI-Signature']}\n~~~"
    )


def main() -> None:
    PAGE_DOC.write(worked_signature(), EXAMPLES)
    print(f"rewrote {PAGE}")


if __name__ == "__main__":
    main()
