"""KPJ (Kartu Peserta Jamsostek) numbers the store assigns.

Format: 11 digits, a 10-digit zero-padded member number followed by a Luhn
check digit, so a mistyped KPJ at a counter is caught before any lookup.
"""

KPJ_DIGITS = 11


def luhn_check_digit(digits: str) -> int:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10


def kpj_for(member_number: int) -> str:
    """The KPJ for the store's ``member_number`` (1 .. 9,999,999,999)."""
    if not 0 < member_number < 10**10:
        raise ValueError("member number out of range for an 11-digit KPJ")
    body = f"{member_number:010d}"
    return body + str(luhn_check_digit(body))


def is_valid_kpj(value: str) -> bool:
    return (
        len(value) == KPJ_DIGITS
        and value.isdigit()
        and luhn_check_digit(value[:-1]) == int(value[-1])
    )
