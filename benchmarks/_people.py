"""Valid test people, as many as a benchmark needs, and their registrations."""

from __future__ import annotations

from datetime import date, timedelta

import orjson

from hub.membership.particulars import Particulars
from hub.simulator.people import hub_api_registration
from schemas.nik import nik_of

PROVINCE = "51"  # Bali (WITA)


_FIRST_BIRTH_DATE = date(1960, 1, 1)


_BIRTH_DATE_SPAN_DAYS = 16_000  # 1960 .. 2003


_GIVEN = ("KETUT", "MADE", "WAYAN", "NYOMAN", "PUTU", "KADEK", "GEDE", "AYU", "DEWI", "AGUS")


_FAMILY = ("SUTRISNO", "LESTARI", "WIJAYA", "PRATAMA", "SARI", "SANTOSO", "HANDAYANI", "PUTRA")


_OCCUPATIONS = ("pedagang", "tukang jahit", "petani", "nelayan", "ojek online", "buruh harian")


MAX_PEOPLE = 99 * 99 * 9999


def person(i: int) -> Particulars:
    """The ``i``-th distinct valid person (0 <= i < MAX_PEOPLE): NIKs never repeat."""
    if not 0 <= i < MAX_PEOPLE:
        raise ValueError("person index out of range")
    regency = 1 + i % 99
    district = 1 + (i // 99) % 99
    serial = 1 + i // (99 * 99)
    birth = _FIRST_BIRTH_DATE + timedelta(days=(i * 7919) % _BIRTH_DATE_SPAN_DAYS)
    sex = "F" if i % 2 else "M"
    return Particulars(
        nik=nik_of(f"{PROVINCE}{regency:02d}{district:02d}", birth, sex, serial),
        full_name=f"{_GIVEN[i % len(_GIVEN)]} {_FAMILY[(i // 10) % len(_FAMILY)]}",
        birth_date=birth,
        sex=sex,
        phone=f"0812{i % 100_000_000:08d}",
        address=f"Jl. Gatot Subroto {1 + i % 400}, Denpasar",
        occupation=_OCCUPATIONS[i % len(_OCCUPATIONS)],
    )


def registration_body(reference: str, p: Particulars) -> bytes:
    """The JSON body of a POST /v1/registrations, compact as a partner's host sends it."""
    return orjson.dumps(hub_api_registration(p, reference))
