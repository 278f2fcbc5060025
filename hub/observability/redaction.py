"""The one redaction step: NIKs, phone numbers and names masked before anything leaves.

Every log line passes through ``redact_value`` (a structlog processor), and so does the
``error`` header of every dead letter and every error an operator sees. Personal data
in clear outside the membership store is a leak under Indonesia's UU PDP (2022).
"""

import re
from collections.abc import Mapping, MutableMapping
from typing import Any
from uuid import UUID

from hub.membership.masking import mask_name

# 16 digits on their own: a NIK. The first 6 (province, regency, district) stay readable.
_NIK = re.compile(r"(?<!\d)(\d{6})\d{10}(?!\d)")
# Indonesian mobile numbers as partners send them: +62 8xx, 62 8xx, 08xx, with separators.
_PHONE = re.compile(r"(?<![\d+])(\+?62|0)(8\d)[\d\-. ]{6,14}\d(?!\d)")
# A name given as a key and a value, in JSON, a Python repr or key=value text.
_NAME_KEYS = (
    r"full_?name|fullName|name|nama\w*|Nama\w*|cust(?:omer)?_?[Nn]ame|bill(?:Short)?Name"
    r"|virtualAccountName|member_?name"
)
_NAME_PAIR = re.compile(
    r"""(?P<key>["']?(?:"""
    + _NAME_KEYS
    + r""")["']?\s*[:=]\s*)(?P<quote>["'])(?P<value>[^"'\n]{1,200})(?P=quote)"""
)
_NAME_KEY = re.compile(r"^(?:" + _NAME_KEYS + r")$")
_KEEP_KEYS = frozenset({"masked_name", "logger", "logger_name", "event", "level", "timestamp"})
_DIGIT = re.compile(r"\d")
_HUB_MADE = "timestamp"
"""The field the log pipeline's last step before redaction (``TimeStamper``) sets on every
line, over whatever a caller passed: the clock, never personal data."""
_HUB_REFERENCE = re.compile(r"(?:REG|PAY|REV)-[0-9A-F]{16}")
"""A hub reference as the hub mints it (``hub.intake.model.hub_reference_for``): a prefix
and the first 16 hex digits of the request's event id, a hash. Run through the patterns,
about one in a thousand came out masked (16 decimal digits read as a NIK, or ``0`` and
``8`` and more digits as a phone number), and an operator searching the logs for the
reference a partner quoted would not find its lines."""


def mask_nik(nik: str) -> str:
    """``5171044508900001`` -> ``517104**********``: the region stays, the person does not."""
    return nik[:6] + "*" * (len(nik) - 6)


def _mask_phone(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return f"{match.group(1)}{match.group(2)}{'*' * max(len(digits) - 5, 4)}{digits[-2:]}"


def _mask_pair(match: re.Match[str]) -> str:
    value = match.group("value")
    if "*" in value:  # already masked
        return match.group(0)
    return f"{match.group('key')}{match.group('quote')}{mask_name(value)}{match.group('quote')}"


def redact(text: str) -> str:
    """``text`` with every NIK, phone number and named name masked.

    A NIK and a phone number are digits, and a named name follows a ``:`` or an ``=``:
    text without them is returned as it is, without running the patterns over it (most
    of a log line's fields; this was 27 pattern runs a line).
    """
    if _DIGIT.search(text) is not None:
        text = _NIK.sub(lambda m: mask_nik(m.group(0)), text)
        text = _PHONE.sub(_mask_phone, text)
    if ":" in text or "=" in text:
        text = _NAME_PAIR.sub(_mask_pair, text)
    return text


def redact_value(value: Any, key: str | None = None) -> Any:
    """Redact a log field: strings, and the strings inside mappings and sequences."""
    if isinstance(value, str):
        if key is not None and key not in _KEEP_KEYS and _NAME_KEY.match(key):
            return mask_name(value)
        return redact(value)
    if isinstance(value, UUID):
        # Hex digits in fixed groups: no NIK, and no phone number but by chance (about
        # one event id in a thousand read as one, and was masked past finding).
        return str(value)
    if isinstance(value, Mapping):
        return {k: redact_value(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(v) for v in value]
    if isinstance(value, int | float | bool) or value is None:
        return value
    return redact(str(value))


def redact_event(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> dict[str, Any]:
    """structlog processor: the last step before a line is rendered.

    A line's own ``hub_reference`` in the hub's format is the hub's, and stays whole; any
    other value under that name, or that name inside a field, is redacted as any text."""
    return {
        k: v if k == _HUB_MADE or _is_hub_reference(k, v) else redact_value(v, k)
        for k, v in event.items()
    }


def _is_hub_reference(key: str, value: Any) -> bool:
    return (
        key == "hub_reference"
        and isinstance(value, str)
        and _HUB_REFERENCE.fullmatch(value) is not None
    )
