"""The NIK: structure, province, and agreement with the stated birth date and sex."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from schemas.nik import Nik, nik_of, parse_nik
from schemas.regions import PROVINCES
from tests.unit.fakes import BALI_WOMAN_NIK, JAKARTA_MAN_NIK

NIK = TypeAdapter(Nik)


def test_nik_of_a_woman_has_forty_added_to_the_birth_day() -> None:
    info = parse_nik(BALI_WOMAN_NIK)

    assert info.sex == "F"
    assert (info.birth_day, info.birth_month, info.birth_year_2) == (5, 8, 90)


def test_a_made_up_person_gets_the_nik_their_district_birth_date_sex_and_serial_spell() -> None:
    assert nik_of("517104", date(1990, 8, 5), "F", 1) == BALI_WOMAN_NIK
    assert nik_of("317101", date(1985, 3, 12), "M", 2) == JAKARTA_MAN_NIK


def test_nik_of_a_balinese_woman_names_her_province_and_its_zone() -> None:
    info = parse_nik(BALI_WOMAN_NIK)

    assert (info.region.code, info.region.name, info.region.zone) == ("51", "Bali", "WITA")
    assert (info.regency, info.district, info.serial) == ("71", "04", "0001")


def test_nik_of_a_jakarta_man_keeps_the_birth_day_as_is() -> None:
    info = parse_nik(JAKARTA_MAN_NIK)

    assert info.sex == "M"
    assert (info.birth_day, info.birth_month, info.birth_year_2) == (12, 3, 85)
    assert (info.region.name, info.region.zone) == ("DKI Jakarta", "WIB")


def test_nik_agrees_with_the_birth_date_and_sex_it_encodes() -> None:
    assert parse_nik(BALI_WOMAN_NIK).agrees_with(date(1990, 8, 5), "F") is None
    assert parse_nik(JAKARTA_MAN_NIK).agrees_with(date(1985, 3, 12), "M") is None


def test_nik_of_a_woman_contradicts_a_man_stating_it() -> None:
    reason = parse_nik(BALI_WOMAN_NIK).agrees_with(date(1990, 8, 5), "M")

    assert reason is not None
    assert "sex" in reason
    assert "day 45" in reason


@pytest.mark.parametrize(
    "stated",
    [date(1990, 8, 6), date(1990, 9, 5), date(1991, 8, 5), date(1990, 5, 8)],
)
def test_nik_contradicts_a_birth_date_it_does_not_encode(stated: date) -> None:
    reason = parse_nik(BALI_WOMAN_NIK).agrees_with(stated, "F")

    assert reason is not None
    assert "05-08-90" in reason


def test_nik_only_knows_the_last_two_digits_of_the_birth_year() -> None:
    assert parse_nik(BALI_WOMAN_NIK).agrees_with(date(1890, 8, 5), "F") is None


@pytest.mark.parametrize(
    ("nik", "why"),
    [
        ("2071044508900001", "unknown province code '20'"),
        ("0071044508900001", "unknown province code '00'"),
        ("517104450890001", "16 digits"),
        ("51710445089000011", "16 digits"),
        ("51710445O8900001", "16 digits"),
        ("5171 44508900001", "16 digits"),
        ("", "16 digits"),
        ("5171043208900001", "not a calendar date"),
        ("5171047208900001", "not a calendar date"),
        ("5171040008900001", "not a calendar date"),
        ("5171044008900001", "not a calendar date"),
        ("5171041213900001", "not a calendar date"),
        ("5171041200900001", "not a calendar date"),
        ("5171043002900001", "not a calendar date"),
        ("5171044508900000", "serial is never 0000"),
        ("5100044508900001", "never 00"),
        ("5171004508900001", "never 00"),
    ],
)
def test_nik_that_cannot_be_one_is_refused_with_the_reason(nik: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_nik(nik)


def test_nik_of_the_twenty_ninth_of_february_parses() -> None:
    info = parse_nik("3171012902000001")

    assert (info.birth_day, info.birth_month) == (29, 2)
    assert info.agrees_with(date(2000, 2, 29), "M") is None


def test_nik_field_strips_surrounding_spaces() -> None:
    assert NIK.validate_python(f"  {BALI_WOMAN_NIK}\n") == BALI_WOMAN_NIK


@pytest.mark.parametrize("bad", ["2071044508900001", "5171043208900001", 5171044508900001, None])
def test_nik_field_refuses_what_parse_nik_refuses(bad: object) -> None:
    with pytest.raises(ValidationError):
        NIK.validate_python(bad)


def test_nik_field_reports_the_unknown_province_to_the_partner() -> None:
    with pytest.raises(ValidationError, match="unknown province code '20'"):
        NIK.validate_python("2071044508900001")


def test_nik_with_non_ascii_digits_is_refused() -> None:
    with pytest.raises(ValueError):
        parse_nik("51710445089000０１")


@st.composite
def niks(draw: st.DrawFn) -> tuple[str, date, str]:
    """A structurally valid NIK with the birth date and sex it encodes."""
    province = draw(st.sampled_from(sorted(PROVINCES)))
    regency = draw(st.integers(1, 99))
    district = draw(st.integers(1, 99))
    born = draw(st.dates(min_value=date(1940, 1, 1), max_value=date(2010, 12, 31)))
    sex = draw(st.sampled_from(["M", "F"]))
    serial = draw(st.integers(1, 9999))
    day = born.day + (40 if sex == "F" else 0)
    nik = (
        f"{province}{regency:02d}{district:02d}"
        f"{day:02d}{born.month:02d}{born.year % 100:02d}{serial:04d}"
    )
    return nik, born, sex


@given(niks())
def test_every_well_formed_nik_agrees_with_the_person_it_was_made_for(
    case: tuple[str, date, str],
) -> None:
    nik, born, sex = case

    info = parse_nik(nik)

    assert info.agrees_with(born, sex) is None
    assert info.sex == sex
    assert NIK.validate_python(nik) == nik


@given(niks(), st.integers(1, 400))
def test_a_nik_never_agrees_with_a_different_day_of_birth(
    case: tuple[str, date, str], shift: int
) -> None:
    nik, born, sex = case
    other = date.fromordinal(born.toordinal() + shift)

    assert parse_nik(nik).agrees_with(other, sex) is not None
