"""Made-up BPU applicants whose NIK, birth date and sex agree (MISSION.md's NIK rules)."""

import random
from datetime import date, timedelta
from typing import Any

from hub.membership.particulars import Particulars
from schemas.nik import nik_of

_PROVINCES = ("11", "12", "31", "32", "33", "35", "51", "52", "53", "61", "64", "73", "91")
_GIVEN = ("I Wayan", "Ni Made", "Siti", "Budi", "Agus", "Dewi", "Rina", "Yohanes", "Nur")
_FAMILY = ("Sudiarta", "Lestari", "Rahmawati", "Santoso", "Setiawan", "Kartika", "Hidayat")
_OCCUPATIONS = ("pedagang", "petani", "nelayan", "ojek", "penjahit", "tukang")


def person(rng: random.Random) -> Particulars:
    sex = rng.choice("MF")
    born = date(1965, 1, 1) + timedelta(days=rng.randrange(0, 365 * 40))
    district = rng.choice(_PROVINCES) + f"{rng.randrange(1, 80):02d}{rng.randrange(1, 40):02d}"
    return Particulars(
        nik=nik_of(district, born, sex, rng.randrange(1, 10000)),
        full_name=f"{rng.choice(_GIVEN)} {rng.choice(_FAMILY)}",
        birth_date=born,
        sex=sex,
        phone=f"08{rng.choice('1259')}{rng.randrange(10**8, 10**9)}",
        address=f"Jl. Pasar {rng.randrange(1, 200)}",
        occupation=rng.choice(_OCCUPATIONS),
    )


_TERMS = {
    "hub-api": ("nik", "full_name", "birth_date", "sex", "phone", "address", "occupation"),
    "pos": ("nik", "namaLengkap", "tanggalLahir", "jenisKelamin", "noHp", "alamat", "pekerjaan"),
    "brilink": ("nik", "fullName", "birthDate", "gender", "phoneNo", "address", "occupation"),
    "indomaret": ("NIK", "NamaLengkap", "TglLahir", "JenisKelamin", "NoHP", "Alamat", "Pekerjaan"),
    "alfamart": ("nik", "name", "birth_date", "gender", "phone", "address", "occupation"),
    "bank": ("nik", "fullName", "birthDate", "sex", "phoneNo", "address", "occupation"),
    "bni46": (
        "nik",
        "customer_name",
        "birth_date",
        "gender",
        "customer_phone",
        "customer_address",
        "occupation",
    ),
}
"""A person's NIK, name, birth date, sex, phone, address and occupation (in the order
``Particulars`` lists them) under each channel's own field names (docs/channels/*.md)."""
_SEXES = {"pos": ("P", "L"), "indomaret": ("P", "L"), "bni46": ("P", "L")}
"""How a channel writes female and male (Perempuan / Laki-laki), where not F and M."""
_BIRTH_DATES = {"indomaret": "%d-%m-%Y"}
"""How a channel writes a birth date, where not ISO 8601."""


def in_terms_of(channel: str, p: Particulars) -> dict[str, Any]:
    """``p`` as ``channel``'s registration names a person: its field names and codes."""
    female, male = _SEXES.get(channel, ("F", "M"))
    values = (
        p.nik,
        p.full_name,
        p.birth_date.strftime(_BIRTH_DATES.get(channel, "%Y-%m-%d")),
        female if p.sex == "F" else male,
        p.phone,
        p.address,
        p.occupation,
    )
    return dict(zip(_TERMS[channel], values, strict=True))


def hub_api_registration(
    p: Particulars,
    reference: str,
    declared_income: int = 1_000_000,
    programmes: tuple[str, ...] = ("JKK", "JKM"),
) -> dict[str, Any]:
    """``p`` applying through the hub's own API: the body of ``POST /v1/registrations``."""
    return {
        "reference": reference,
        **in_terms_of("hub-api", p),
        "declared_income": declared_income,
        "programmes": list(programmes),
    }
