"""Made-up BPU applicants whose NIK, birth date and sex agree (MISSION.md's NIK rules)."""

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

_PROVINCES = ("11", "12", "31", "32", "33", "35", "51", "52", "53", "61", "64", "73", "91")
_GIVEN = ("I Wayan", "Ni Made", "Siti", "Budi", "Agus", "Dewi", "Rina", "Yohanes", "Nur")
_FAMILY = ("Sudiarta", "Lestari", "Rahmawati", "Santoso", "Setiawan", "Kartika", "Hidayat")
_OCCUPATIONS = ("pedagang", "petani", "nelayan", "ojek", "penjahit", "tukang")


@dataclass(frozen=True, slots=True)
class Person:
    nik: str
    full_name: str
    birth_date: date
    sex: str
    phone: str
    address: str
    occupation: str


def person(rng: random.Random) -> Person:
    sex = rng.choice("MF")
    born = date(1965, 1, 1) + timedelta(days=rng.randrange(0, 365 * 40))
    day = born.day + (40 if sex == "F" else 0)
    nik = (
        rng.choice(_PROVINCES)
        + f"{rng.randrange(1, 80):02d}{rng.randrange(1, 40):02d}"
        + f"{day:02d}{born.month:02d}{born.year % 100:02d}"
        + f"{rng.randrange(1, 10000):04d}"
    )
    return Person(
        nik=nik,
        full_name=f"{rng.choice(_GIVEN)} {rng.choice(_FAMILY)}",
        birth_date=born,
        sex=sex,
        phone=f"08{rng.choice('1259')}{rng.randrange(10**8, 10**9)}",
        address=f"Jl. Pasar {rng.randrange(1, 200)}",
        occupation=rng.choice(_OCCUPATIONS),
    )


def hub_api_registration(
    p: Person,
    reference: str,
    declared_income: int = 1_000_000,
    programmes: tuple[str, ...] = ("JKK", "JKM"),
) -> dict[str, Any]:
    """``p`` applying through the hub's own API: the body of ``POST /v1/registrations``."""
    return {
        "reference": reference,
        "nik": p.nik,
        "full_name": p.full_name,
        "birth_date": p.birth_date.isoformat(),
        "sex": p.sex,
        "phone": p.phone,
        "address": p.address,
        "occupation": p.occupation,
        "declared_income": declared_income,
        "programmes": list(programmes),
    }
