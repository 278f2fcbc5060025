"""Valid, distinct BPU applicants for tests: NIK, birth date and sex that agree.

The people are the simulator's (``hub.simulator.people``); this only numbers them
within the test session and writes them as the hub API's registration body.
"""

import itertools
import random
from typing import Any

from hub.simulator.people import hub_api_registration, person

_counter = itertools.count(1)


def applicant(reference: str | None = None, **overrides: Any) -> dict[str, Any]:
    """A registration body for a new person, unique within the test session."""
    n = next(_counter)
    rng = random.Random(n * 7919 + random.getrandbits(32))
    body = hub_api_registration(person(rng), reference or f"REG-{n}-{rng.getrandbits(40):x}")
    body.update(overrides)
    return body


CORE_EXPORT_HEADER = (
    "kpj,nik,full_name,birth_date,sex,phone,address,occupation,declared_income,"
    "programmes,registered_month,paid_through\n"
)
"""The header of the agency core's member export that ``hub members import`` reads."""


def core_export_row(
    person: dict[str, Any], kpj: str, registered_month: str, paid_through: str
) -> str:
    """``person`` (an ``applicant()`` body) as a line of the core's export, income 1,000,000,
    JKK and JKM; the months are ``YYYY-MM``."""
    return (
        f"{kpj},{person['nik']},{person['full_name']},{person['birth_date']},{person['sex']},"
        f'{person["phone"]},"{person["address"]}",{person["occupation"]},1000000,"JKK,JKM",'
        f"{registered_month},{paid_through}\n"
    )
