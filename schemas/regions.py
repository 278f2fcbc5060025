"""Province codes (Kemendagri) as they appear in the first two digits of a NIK.

Each province maps to the time zone its residents live in, because a member's
due dates are counted in their own zone (WIB, WITA or WIT).
"""

from dataclasses import dataclass
from datetime import timedelta, timezone
from typing import Literal

TimeZoneName = Literal["WIB", "WITA", "WIT"]

UTC_OFFSET_HOURS: dict[TimeZoneName, int] = {"WIB": 7, "WITA": 8, "WIT": 9}


@dataclass(frozen=True, slots=True)
class Region:
    """A province: its NIK code, its name and the time zone it keeps."""

    code: str
    name: str
    zone: TimeZoneName

    @property
    def tzinfo(self) -> timezone:
        """Indonesia keeps no daylight saving, so a fixed offset is exact."""
        return timezone(timedelta(hours=UTC_OFFSET_HOURS[self.zone]), self.zone)


_PROVINCES: tuple[tuple[str, str, TimeZoneName], ...] = (
    ("11", "Aceh", "WIB"),
    ("12", "Sumatera Utara", "WIB"),
    ("13", "Sumatera Barat", "WIB"),
    ("14", "Riau", "WIB"),
    ("15", "Jambi", "WIB"),
    ("16", "Sumatera Selatan", "WIB"),
    ("17", "Bengkulu", "WIB"),
    ("18", "Lampung", "WIB"),
    ("19", "Kepulauan Bangka Belitung", "WIB"),
    ("21", "Kepulauan Riau", "WIB"),
    ("31", "DKI Jakarta", "WIB"),
    ("32", "Jawa Barat", "WIB"),
    ("33", "Jawa Tengah", "WIB"),
    ("34", "DI Yogyakarta", "WIB"),
    ("35", "Jawa Timur", "WIB"),
    ("36", "Banten", "WIB"),
    ("51", "Bali", "WITA"),
    ("52", "Nusa Tenggara Barat", "WITA"),
    ("53", "Nusa Tenggara Timur", "WITA"),
    ("61", "Kalimantan Barat", "WIB"),
    ("62", "Kalimantan Tengah", "WIB"),
    ("63", "Kalimantan Selatan", "WITA"),
    ("64", "Kalimantan Timur", "WITA"),
    ("65", "Kalimantan Utara", "WITA"),
    ("71", "Sulawesi Utara", "WITA"),
    ("72", "Sulawesi Tengah", "WITA"),
    ("73", "Sulawesi Selatan", "WITA"),
    ("74", "Sulawesi Tenggara", "WITA"),
    ("75", "Gorontalo", "WITA"),
    ("76", "Sulawesi Barat", "WITA"),
    ("81", "Maluku", "WIT"),
    ("82", "Maluku Utara", "WIT"),
    ("91", "Papua", "WIT"),
    ("92", "Papua Barat", "WIT"),
    ("93", "Papua Selatan", "WIT"),
    ("94", "Papua Tengah", "WIT"),
    ("95", "Papua Pegunungan", "WIT"),
    ("96", "Papua Barat Daya", "WIT"),
)

PROVINCES: dict[str, Region] = {code: Region(code, name, zone) for code, name, zone in _PROVINCES}
