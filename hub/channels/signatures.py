"""Header signatures: who signed a request, when, and whether the signature is theirs.

Every partner signs its requests with an HMAC keyed with its secret, carried in
headers next to its id and a timestamp. What is checked, and in which order, is
the same for every channel and written once here:

1. the headers are all there;
2. they name one of this channel's partners;
3. the timestamp parses and is within the replay window of the hub's clock;
4. the signature is the expected one, compared in constant time.

A channel supplies only pure functions, in a ``SignatureScheme``: how to read its
headers (``claim``), how to parse its timestamp (``sent_at``) and what it signs
(``string_to_sign``, with its ``mac``). Steps 1-3 need no body, so the edge runs
them before reading it (``HeaderVerifier.claimant``); step 4 needs the body or,
for a streamed upload, its SHA-256 (``HeaderVerifier.check``).
"""

import base64
import hashlib
import hmac
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from prometheus_client import Counter

from hub.errors import Unauthenticated
from hub.intake.model import Partner


class Claim(NamedTuple):
    """What a request's headers claim: the partner, when it signed, and its signature."""

    partner_id: str
    timestamp: str
    signature: str


@dataclass(frozen=True, slots=True)
class Body:
    """The signed body: its bytes when held in memory, and always its SHA-256 (hex)."""

    raw: bytes | None
    sha256_hex: str

    @classmethod
    def of(cls, raw: bytes) -> "Body":
        return cls(raw, hashlib.sha256(raw).hexdigest())

    @property
    def bytes(self) -> bytes:
        if self.raw is None:
            raise ValueError("this scheme signs the raw body, which was streamed, not kept")
        return self.raw


class SignedMessage(NamedTuple):
    """Everything a channel's string to sign may cover, besides the secret.

    ``headers`` are all the request's headers, for a scheme that signs more than its
    claim (SNAP BI's access token, the hub API's signature version and nonce).
    """

    method: str
    path: str
    claim: Claim
    body: Body
    headers: Mapping[str, str]


def hex_hmac_sha256(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def base64_hmac_sha256(secret: str, message: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def base64_hmac_sha512(secret: str, message: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha512).digest()).decode()


def as_sent(signature: str) -> str:
    """A base64 signature is compared as sent (without surrounding blanks)."""
    return signature.strip()


def lower_hex(signature: str) -> str:
    """A hex signature is compared in lower case."""
    return signature.strip().lower()


HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
BASE64_SHA256 = re.compile(r"[A-Za-z0-9+/]{43}=")
BASE64_SHA512 = re.compile(r"[A-Za-z0-9+/]{86}==")


def well_formed(
    value: str | None, pattern: re.Pattern[str], header: str, refusal: str | None = None
) -> str:
    """A signature header that has the shape of a signature (checked before the body is read)."""
    if value is None or not pattern.fullmatch(value.strip()):
        raise Unauthenticated(refusal or f"{header} is missing or malformed")
    return value


@dataclass(frozen=True, slots=True)
class SignatureScheme:
    """How one channel signs: all pure functions, no I/O, no secrets held."""

    timestamp_header: str
    """Named in the refusal of a stale timestamp."""
    signature_header: str
    """Named in the refusal of a signature that does not have the signature's shape."""
    shape: re.Pattern[str]
    """What a signature looks like (e.g. ``HEX_SHA256``): checked before the body is read."""
    required: str
    """The refusal when a header is missing, naming the headers."""
    claim: Callable[[Mapping[str, str]], Claim | None]
    """The claim the headers make, or None when one of them is missing or empty."""
    sent_at: Callable[[str, Partner], datetime]
    """The timestamp as an aware time (the partner gives its zone); ``ValueError`` says why not."""
    string_to_sign: Callable[[SignedMessage], bytes]
    mac: Callable[[str, bytes], str] = hex_hmac_sha256
    normalise: Callable[[str], str] = lower_hex
    """The signature header as it is compared (hex in lower case, base64 as sent)."""
    unknown_partner: Callable[[str], str] = field(default=lambda partner_id: "unknown partner")
    """The refusal naming an unknown partner."""
    mismatch: str = "signature does not match"
    malformed: str | None = None
    """The refusal of a signature without the signature's shape (default: names the header)."""
    out_of_window: str | None = None
    """The refusal of a timestamp outside the window (default: says how far off it may be)."""
    future_s: int | None = None
    """How far into the future a timestamp may be; None: as far as into the past (the window)."""


def three_headers(
    partner_header: str, timestamp_header: str, signature_header: str
) -> Callable[[Mapping[str, str]], Claim | None]:
    """The claim of a scheme that sends partner, timestamp and signature in a header each."""

    def claim(headers: Mapping[str, str]) -> Claim | None:
        partner_id = headers.get(partner_header)
        timestamp = headers.get(timestamp_header)
        signature = headers.get(signature_header)
        if not partner_id or not timestamp or not signature:
            return None
        return Claim(partner_id, timestamp, signature)

    return claim


def required_headers(*headers: str) -> str:
    """``A, B and C are required``: the refusal of a request without them."""
    return f"{', '.join(headers[:-1])} and {headers[-1]} are required"


def check_window(
    sent_at: datetime,
    now: datetime,
    header: str,
    window_s: int,
    future_s: int | None = None,
) -> None:
    """Refuse a signature dated outside the replay window, so a captured request stays dead.

    With ``future_s`` the window is ``window_s`` into the past and ``future_s`` into the
    future (the hub's API); without, ``window_s`` either way (the channels).
    """
    age = now - sent_at
    if future_s is None:
        if abs(age) > timedelta(seconds=window_s):
            raise Unauthenticated(f"{header} is more than {window_s} s off the hub's clock")
        return
    if age > timedelta(seconds=window_s):
        raise Unauthenticated(f"{header} is more than {window_s} s old")
    if -age > timedelta(seconds=future_s):
        raise Unauthenticated(f"{header} is more than {future_s} s ahead of the hub's clock")


def signatures_match(expected: str, given: str) -> bool:
    """Constant-time equality; a header with non-ASCII characters is a mismatch, not a crash."""
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))


PREVIOUS_SECRET_USES = Counter(
    "hub_previous_secret_requests_total",
    "Requests accepted with a signature by the partner's previous secret (a rotation under way)",
    ["partner"],
)


def signed_with(partner: Partner, expected: Sequence[str], given: str) -> bool:
    """Whether ``given`` is one of the signatures ``expected`` (the current secret's first).

    Every one is compared, each in constant time, so the time taken does not say which
    secret matched. A match by the previous secret is counted: the operator removes it
    once the count stops moving.
    """
    matches = [signatures_match(signature, given) for signature in expected]
    if any(matches[1:]) and not matches[0]:
        PREVIOUS_SECRET_USES.labels(partner.partner_id).inc()
    return any(matches)


@dataclass(frozen=True, slots=True)
class Claimant:
    """A request's partner, its secrets and its claim, before the signature is checked."""

    partner: Partner
    secrets: tuple[str, ...]
    """The secrets it may have signed with: its current one, then a previous one in rotation."""
    claim: Claim
    headers: Mapping[str, str]


PartnerLookup = Callable[[str], tuple[Partner, tuple[str, ...]] | None]
"""This channel's partner and secrets by id (``PartnerSettings.signing_secrets``); None for
an unknown one (or another channel's)."""


@dataclass(frozen=True, slots=True)
class HeaderVerifier:
    """A channel's ``SignatureScheme`` checked against its partners and the hub's clock."""

    scheme: SignatureScheme
    partner: PartnerLookup
    clock: Callable[[], datetime]
    window_s: int

    def claimant(self, headers: Mapping[str, str]) -> Claimant:
        """Steps 1-3 (headers, partner, time window): all that needs no body."""
        claim = self.scheme.claim(headers)
        if claim is None:
            raise Unauthenticated(self.scheme.required)
        known = self.partner(claim.partner_id)
        if known is None:
            raise Unauthenticated(self.scheme.unknown_partner(claim.partner_id))
        partner, secrets = known
        try:
            sent_at = self.scheme.sent_at(claim.timestamp, partner)
        except ValueError as exc:
            raise Unauthenticated(str(exc)) from None
        scheme = self.scheme
        try:
            check_window(
                sent_at, self.clock(), scheme.timestamp_header, self.window_s, scheme.future_s
            )
        except Unauthenticated:
            if scheme.out_of_window is None:
                raise
            raise Unauthenticated(scheme.out_of_window) from None
        return Claimant(partner, secrets, claim, headers)

    def preflight(self, headers: Mapping[str, str]) -> Claimant:
        """``claimant`` and a signature of the right shape: what the edge checks before the body."""
        claimant = self.claimant(headers)
        scheme = self.scheme
        well_formed(
            claimant.claim.signature, scheme.shape, scheme.signature_header, scheme.malformed
        )
        return claimant

    def check(self, claimant: Claimant, method: str, path: str, body: Body) -> None:
        """Step 4: the signature over this request is the claimant's."""
        message = SignedMessage(method, path, claimant.claim, body, claimant.headers)
        text = self.scheme.string_to_sign(message)
        expected = [self.scheme.mac(secret, text) for secret in claimant.secrets]
        given = self.scheme.normalise(claimant.claim.signature)
        if not signed_with(claimant.partner, expected, given):
            raise Unauthenticated(self.scheme.mismatch)

    def verify(self, headers: Mapping[str, str], method: str, path: str, body: bytes) -> Partner:
        """The partner that signed this request; ``Unauthenticated`` if none did."""
        claimant = self.claimant(headers)
        self.check(claimant, method, path, Body.of(body))
        return claimant.partner


def in_headers(
    headers: tuple[str, str, str],
    shape: re.Pattern[str],
    sent_at: Callable[[str, Partner], datetime],
    string_to_sign: Callable[[SignedMessage], bytes],
    *,
    mac: Callable[[str, bytes], str] = hex_hmac_sha256,
    normalise: Callable[[str], str] = lower_hex,
    unknown_partner: Callable[[str], str] = lambda partner_id: "unknown partner",
    mismatch: str = "signature does not match",
    malformed: str | None = None,
    future_s: int | None = None,
) -> SignatureScheme:
    """The scheme of a channel that sends (partner, timestamp, signature) in a header each."""
    return SignatureScheme(
        timestamp_header=headers[1],
        signature_header=headers[2],
        shape=shape,
        required=required_headers(*headers),
        claim=three_headers(*headers),
        sent_at=sent_at,
        string_to_sign=string_to_sign,
        mac=mac,
        normalise=normalise,
        unknown_partner=unknown_partner,
        mismatch=mismatch,
        malformed=malformed,
        future_s=future_s,
    )
