"""An applicant (``tests.support.people``, the hub's field names) in a partner's words.

Each partner's name for each field of a registration form, side by side, as the
channel pages (docs/channels/<slug>.md) write them; ``None`` where the partner writes
the field its own way (its end-to-end test gives it), or not at all.
"""

from collections.abc import Mapping
from typing import Any

KTP_SEX = {"M": "L", "F": "P"}
"""Sex as Indonesian forms write it: L (laki-laki) or P (perempuan)."""

CHANNELS = ("bank", "bni46", "brilink", "pos", "indomaret", "alfamart")
"""The columns of ``FORM_NAMES``."""

FORM_NAMES: dict[str, tuple[str | None, ...]] = {
    "reference": (
        "partnerReferenceNo",
        "trx_id",
        "journalSeq",
        "noReferensi",
        "NoTransaksi",
        "trx_id",
    ),
    "nik": ("nik", "nik", "nik", "nik", "NIK", "nik"),
    "full_name": ("fullName", "customer_name", "fullName", "namaLengkap", "NamaLengkap", "name"),
    "birth_date": ("birthDate", "birth_date", "birthDate", "tanggalLahir", None, "birth_date"),
    "sex": ("sex", None, "gender", None, None, "gender"),
    "phone": ("phoneNo", "customer_phone", "phoneNo", "noHp", "NoHP", "phone"),
    "address": ("address", "customer_address", "address", "alamat", "Alamat", "address"),
    "occupation": (
        "occupation",
        "occupation",
        "occupation",
        "pekerjaan",
        "Pekerjaan",
        "occupation",
    ),
    "declared_income": (
        None,
        "monthly_income",
        "declaredIncome",
        "penghasilan",
        "Penghasilan",
        "income",
    ),
    "programmes": ("programmes", "programs", "programs", "program", None, "programs"),
}
"""Hub field -> each partner's name for it, in the order of ``CHANNELS``."""


def in_terms(person: Mapping[str, Any], channel: str, **own: Any) -> dict[str, Any]:
    """``person``'s fields under ``channel``'s names, then the partner's ``own`` fields."""
    column = CHANNELS.index(channel)
    named = {hub: names[column] for hub, names in FORM_NAMES.items()}
    return {name: person[hub] for hub, name in named.items() if name is not None} | own
