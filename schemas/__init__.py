"""Canonical, versioned contract between channel adapters and the hub's core.

Adapters and the hub both import this package; it imports neither.
"""

from schemas.events import (
    SCHEMA_VERSION,
    ContributionPaid,
    EventEnvelope,
    EventPayload,
    PaymentReversed,
    RegistrationSubmitted,
)
from schemas.fields import (
    Months,
    PersonName,
    PhoneE164,
    Programme,
    Rupiah,
    Sex,
)
from schemas.nik import Nik, NikInfo, parse_nik
from schemas.regions import Region, TimeZoneName

__all__ = [
    "SCHEMA_VERSION",
    "ContributionPaid",
    "EventEnvelope",
    "EventPayload",
    "Months",
    "Nik",
    "NikInfo",
    "PaymentReversed",
    "PersonName",
    "PhoneE164",
    "Programme",
    "Region",
    "RegistrationSubmitted",
    "Rupiah",
    "Sex",
    "TimeZoneName",
    "parse_nik",
]
