"""KPJ (Kartu Peserta Jamsostek) numbers.

A KPJ is 11 digits. The agency's core issues most of them, with no check digit
anyone outside can verify, so a KPJ typed at a counter is looked up exactly as
typed: a mistyped one is simply not found. KPJs this hub mints for members it
registers are a 10-digit zero-padded member number followed by a Luhn digit;
they keep it, but nothing rejects a KPJ for lacking one.
"""

from schemas.fields import ascii_digits

KPJ_DIGITS = 11


_DOUBLED = str.maketrans("0123456789", "0246813579")
"""Luhn's doubled digit, its digits summed: 2 * d, less 9 when over 9."""


def luhn_check_digit(digits: str) -> int:
    # String operations only, no loop in Python: the consumer mints one KPJ per new member.
    backwards = digits[::-1]
    doubled, kept = backwards[0::2].translate(_DOUBLED), backwards[1::2]
    total = sum(doubled.encode()) + sum(kept.encode()) - 48 * len(digits)
    return (10 - total % 10) % 10


def kpj_for(member_number: int) -> str:
    """The KPJ the hub mints for the store's ``member_number`` (1 .. 9,999,999,999)."""
    if not 0 < member_number < 10**10:
        raise ValueError("member number out of range for an 11-digit KPJ")
    body = f"{member_number:010d}"
    return body + str(luhn_check_digit(body))


def is_kpj(value: str) -> bool:
    """Shaped like a KPJ: 11 digits. Whether it exists is the store's answer, not a checksum."""
    return len(value) == KPJ_DIGITS and ascii_digits(value)


def has_hub_check_digit(value: str) -> bool:
    """A KPJ this hub could have minted (its last digit is the Luhn digit of the rest)."""
    return is_kpj(value) and luhn_check_digit(value[:-1]) == int(value[-1])
