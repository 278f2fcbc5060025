"""A person's particulars: who they are and how to reach them, as a registration form says."""

from dataclasses import dataclass
from datetime import date


@dataclass(slots=True)
class Particulars:
    """A person as a BPU registration form names them: the NIK (which encodes the birth date
    and sex, and must agree with them), the name, how to reach them and what they do.

    What a member record holds of its member (``hub.membership.apply.MemberRecord``) and
    what the simulator makes up for its applicants (``hub.simulator.people``).
    """

    nik: str
    full_name: str
    birth_date: date
    sex: str
    phone: str
    address: str
    occupation: str
