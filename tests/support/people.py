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
