"""Valid, distinct BPU applicants for tests: NIK, birth date and sex that agree."""

import itertools
import random
from datetime import date, timedelta
from typing import Any

_counter = itertools.count(1)
_PROVINCES = ["11", "31", "32", "35", "51", "52", "53", "64", "73", "91", "94"]


def applicant(reference: str | None = None, **overrides: Any) -> dict[str, Any]:
    """A registration body for a new person, unique within the test session."""
    n = next(_counter)
    rng = random.Random(n * 7919 + random.getrandbits(32))
    sex = rng.choice("MF")
    born = date(1960, 1, 1) + timedelta(days=rng.randrange(0, 365 * 45))
    day = born.day + (40 if sex == "F" else 0)
    nik = (
        rng.choice(_PROVINCES)
        + f"{rng.randrange(1, 80):02d}{rng.randrange(1, 40):02d}"
        + f"{day:02d}{born.month:02d}{born.year % 100:02d}"
        + f"{rng.randrange(1, 10000):04d}"
    )
    body: dict[str, Any] = {
        "reference": reference or f"REG-{n}-{rng.getrandbits(40):x}",
        "nik": nik,
        "full_name": rng.choice(["I Wayan Sudiarta", "Ni Made Ayu", "Siti Rahma", "Budi Santoso"]),
        "birth_date": born.isoformat(),
        "sex": sex,
        "phone": f"0812{rng.randrange(10**7, 10**8)}",
        "address": "Jl. Gatot Subroto 12, Denpasar",
        "occupation": rng.choice(["pedagang", "petani", "nelayan", "ojek"]),
        "declared_income": 1_000_000,
        "programmes": ["JKK", "JKM"],
    }
    body.update(overrides)
    return body
