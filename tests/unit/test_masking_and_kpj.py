"""What a cashier may see of a name, and the KPJ numbers the store hands out."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.membership.kpj import has_hub_check_digit, is_kpj, kpj_for
from hub.membership.masking import mask_name
from hub.membership.payment_code import PaymentCodes


def test_masked_name_keeps_the_first_letter_of_each_word() -> None:
    assert mask_name("I WAYAN SUDIARTA") == "I W**** S*******"


def test_masked_name_keeps_the_length_of_each_word() -> None:
    assert mask_name("NI  MADE SARI") == "N* M*** S***"


def test_kpj_is_eleven_digits() -> None:
    kpj = kpj_for(1)

    assert len(kpj) == 11
    assert kpj.isdigit()
    assert kpj.startswith("0000000001")


def test_kpj_of_the_last_member_number_is_still_eleven_digits() -> None:
    assert len(kpj_for(9_999_999_999)) == 11


@pytest.mark.parametrize("number", [0, -1, 10**10])
def test_kpj_refuses_member_numbers_that_do_not_fit(number: int) -> None:
    with pytest.raises(ValueError):
        kpj_for(number)


@pytest.mark.parametrize("bad", ["", "1234567890", "123456789012", "0000000001a", "abcdefghijk"])
def test_kpj_of_the_wrong_shape_is_invalid(bad: str) -> None:
    assert not is_kpj(bad)


@pytest.mark.parametrize(
    "kpj",
    # Agency-issued KPJs: 11 digits whose last digit is NOT the Luhn digit of the rest.
    ["21012345671", "19034567892", "24000000010"],
)
def test_a_kpj_from_the_agency_without_a_luhn_digit_is_still_a_kpj(kpj: str) -> None:
    assert not has_hub_check_digit(kpj)
    assert is_kpj(kpj)
    assert PaymentCodes("8866").kpj_of("8866" + kpj) == kpj


member_numbers = st.integers(min_value=1, max_value=10**10 - 1)


@given(member_numbers)
def test_every_issued_kpj_is_valid(number: int) -> None:
    kpj = kpj_for(number)

    assert len(kpj) == 11
    assert has_hub_check_digit(kpj)


@given(member_numbers, st.integers(0, 10), st.integers(1, 9))
def test_a_single_mistyped_digit_in_a_hub_minted_kpj_breaks_its_check_digit(
    number: int, position: int, delta: int
) -> None:
    kpj = kpj_for(number)
    typo = str((int(kpj[position]) + delta) % 10)
    mistyped = kpj[:position] + typo + kpj[position + 1 :]

    assert not has_hub_check_digit(mistyped)


@given(member_numbers, st.integers(0, 9))
def test_swapping_neighbouring_digits_in_a_hub_minted_kpj_breaks_its_check_digit(
    number: int, position: int
) -> None:
    kpj = kpj_for(number)
    a, b = kpj[position], kpj[position + 1]
    # Luhn's one blind spot: 0<->9 swaps.
    if a == b or {a, b} == {"0", "9"}:
        return
    swapped = kpj[:position] + b + a + kpj[position + 2 :]

    assert not has_hub_check_digit(swapped)


@pytest.mark.parametrize(
    ("member_number", "kpj"),
    [
        (1, "00000000018"),
        # The textbook Luhn example: payload 7992739871, check digit 3.
        (7_992_739_871, "79927398713"),
        (1_234_567_890, "12345678903"),
        # Every doubled 9 counts 9: ten 9s sum to 90, check digit 0.
        (9_999_999_999, "99999999990"),
    ],
)
def test_a_minted_kpj_ends_in_the_luhn_digit_of_the_member_number(
    member_number: int, kpj: str
) -> None:
    assert kpj_for(member_number) == kpj
    assert has_hub_check_digit(kpj)
