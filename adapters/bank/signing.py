"""How a bank signs a SNAP BI transaction, as the channel kit checks it.

``X-SIGNATURE`` = base64 HMAC-SHA512(client secret,
``METHOD:path:accessToken:sha256hex(minify(body)):X-TIMESTAMP``) (``snap``), with the
bank in ``X-PARTNER-ID``. The order of the checks is the kit's
(``hub.channels.signatures``); what SNAP adds is said here: a missing header is a
missing field (400), not a refusal, and the string to sign covers the access token.
"""

import base64
import binascii
from collections.abc import Mapping
from datetime import datetime

from adapters.bank.snap import transaction_string_to_sign
from adapters.bank.wire import header, snap_timestamp
from hub.channels.signatures import (
    BASE64_SHA512,
    Claim,
    SignatureScheme,
    SignedMessage,
    base64_hmac_sha512,
)
from hub.intake.model import Partner

PARTNER_HEADER = "X-PARTNER-ID"
TIMESTAMP_HEADER = "X-TIMESTAMP"
SIGNATURE_HEADER = "X-SIGNATURE"


def access_token(headers: Mapping[str, str]) -> str:
    """The bearer token of ``Authorization`` (what the bank signs), or what stands there."""
    _, _, token = header(headers, "Authorization").partition(" ")
    return token.strip()


def _claim(headers: Mapping[str, str]) -> Claim:
    """SNAP names an absent header as a missing field (``header`` raises a 400)."""
    return Claim(
        header(headers, PARTNER_HEADER),
        header(headers, TIMESTAMP_HEADER),
        header(headers, SIGNATURE_HEADER),
    )


def _sent_at(value: str, partner: Partner) -> datetime:
    """``X-TIMESTAMP``: ISO 8601 with its offset; otherwise a field format error (400)."""
    return snap_timestamp(value)


def _signed(message: SignedMessage) -> bytes:
    token = access_token(message.headers)
    string = transaction_string_to_sign(
        message.method, message.path, token, message.body.bytes, message.claim.timestamp
    )
    return string.encode()


def canonical_base64(signature: str) -> str:
    """The signature as its bytes say it: a bank's padding bits do not decide a match."""
    try:
        return base64.b64encode(base64.b64decode(signature.strip(), validate=True)).decode()
    except (binascii.Error, ValueError):
        return signature.strip()


SCHEME = SignatureScheme(
    timestamp_header=TIMESTAMP_HEADER,
    signature_header=SIGNATURE_HEADER,
    shape=BASE64_SHA512,
    required=f"{PARTNER_HEADER}, {TIMESTAMP_HEADER} and {SIGNATURE_HEADER} are required",
    claim=_claim,
    sent_at=_sent_at,
    string_to_sign=_signed,
    mac=base64_hmac_sha512,
    normalise=canonical_base64,
    unknown_partner=lambda partner_id: "Unknown partner",
    mismatch="Invalid signature",
    malformed="Invalid signature",
    out_of_window=f"{TIMESTAMP_HEADER} out of range",
)
"""A transaction signed by one of the channel's banks, within the window, over this request."""
