"""Shared field types: names as KTP prints them, phones in E.164, strict rupiah."""

import pytest
from pydantic import TypeAdapter, ValidationError

from schemas.fields import Address, Months, Occupation, PersonName, PhoneE164, Reason, Rupiah

NAME = TypeAdapter(PersonName)
PHONE = TypeAdapter(PhoneE164)
RUPIAH = TypeAdapter(Rupiah)


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("i wayan sudiarta", "I WAYAN SUDIARTA"),
        ("  Ni   Made\tSari ", "NI MADE SARI"),
        ("siti nur'aini", "SITI NUR'AINI"),
        ("a.  b-c", "A. B-C"),
    ],
)
def test_person_name_is_trimmed_single_spaced_and_upper_cased(raw: str, stored: str) -> None:
    assert NAME.validate_python(raw) == stored


@pytest.mark.parametrize("bad", ["Budi 2", "R2D2", "", "   ", "-BUDI", "BUDI@", "X" * 101])
def test_person_name_with_digits_symbols_or_nothing_is_refused(bad: str) -> None:
    with pytest.raises(ValidationError):
        NAME.validate_python(bad)


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ("Ñoño Śląski", "'Ñ', 'Ś', 'Ą'"),
        ("José", "'É'"),
        ("Müller-Łukasz", "'Ü', 'Ł'"),
    ],
)
def test_an_accented_name_is_refused_naming_the_letters_a_ktp_name_cannot_hold(
    raw: str, named: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        NAME.validate_python(raw)

    message = refused.value.errors()[0]["msg"]
    assert "A to Z" in message
    assert f"{named} cannot be in a name" in message


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("0812-3456-7890", "+6281234567890"),
        ("628123456789", "+628123456789"),
        ("+62 812 3456 789", "+628123456789"),
        ("(0361) 234.567", "+62361234567"),
    ],
)
def test_indonesian_phone_is_normalised_to_e164(raw: str, e164: str) -> None:
    assert PHONE.validate_python(raw) == e164


@pytest.mark.parametrize(
    "bad", ["12345", "+6512345678", "0812", "08123456789012345", "0012345678", "+62 0812 3456"]
)
def test_phone_that_is_not_indonesian_is_refused(bad: str) -> None:
    with pytest.raises(ValidationError):
        PHONE.validate_python(bad)


@pytest.mark.parametrize("good", [0, 16_800, 213_800, 10_000_000_000])
def test_rupiah_takes_whole_rupiah(good: int) -> None:
    assert RUPIAH.validate_python(good) == good
    assert RUPIAH.validate_json(str(good)) == good


@pytest.mark.parametrize("bad", [16800.5, 16800.0, "16800", True, -1, 10_000_000_001])
def test_rupiah_refuses_fractions_strings_and_out_of_range(bad: object) -> None:
    with pytest.raises(ValidationError):
        RUPIAH.validate_python(bad)


@pytest.mark.parametrize("bad", ["16800.5", '"16800"'])
def test_rupiah_refuses_fractions_and_strings_in_json(bad: str) -> None:
    with pytest.raises(ValidationError):
        RUPIAH.validate_json(bad)


MONTHS: TypeAdapter[int] = TypeAdapter(Months)


@pytest.mark.parametrize("good", [1, 3, 6, 12])
def test_months_takes_1_3_6_or_12(good: int) -> None:
    assert MONTHS.validate_python(good) == good
    assert MONTHS.validate_json(str(good)) == good


@pytest.mark.parametrize("bad", ["true", "false", "1.0", "3.0", '"3"', "2", "0", "null"])
def test_months_refuses_booleans_fractions_strings_and_other_counts_in_json(bad: str) -> None:
    # ``true`` compares equal to 1, and was once read as a month by the hub's JSON API.
    with pytest.raises(ValidationError):
        MONTHS.validate_json(bad)


def test_phone_with_non_ascii_digits_is_refused() -> None:
    with pytest.raises(ValidationError):
        PHONE.validate_python("08１２34567890")


@pytest.mark.parametrize(
    ("field", "raw", "message"),
    [
        (Address, "J" * 301, "String should have at most 300 characters"),
        (Address, " \t\n ", "String should have at least 1 character"),
        (Occupation, "P" * 101, "String should have at most 100 characters"),
        (Reason, "R" * 201, "String should have at most 200 characters"),
        (PersonName, "B" * 101, "String should have at most 100 characters"),
        (PersonName, "   ", "String should have at least 1 character"),
    ],
)
def test_a_text_too_long_or_blank_once_trimmed_is_refused_in_characters(
    field: object, raw: str, message: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        TypeAdapter(field).validate_python(raw)
    assert [e["msg"] for e in refused.value.errors()] == [message]


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("JL. MERDEKA NO. 10 RT 01", "JL. MERDEKA NO. 10 RT 01"),
        ("Jl. Merdeka 10\r\nKel. Sukamaju", "Jl. Merdeka 10 Kel. Sukamaju"),
        ("Jl.  Merdeka \t 10", "Jl. Merdeka 10"),
        ("\tGang Mawar\n", "Gang Mawar"),
        ("Gang\t Mawar\n \n  7", "Gang Mawar 7"),
        ("a\x0bb\x0cc", "a b c"),
        ("a \n", "a"),
        ("a\u00a0b", "a\u00a0b"),  # a no-break space is a character of the text, kept
    ],
)
def test_free_text_is_kept_on_one_line_with_single_spaces(raw: str, stored: str) -> None:
    assert TypeAdapter(Address).validate_python(raw) == stored
