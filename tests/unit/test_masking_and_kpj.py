"""What a cashier may see of a name, and the KPJ numbers the store hands out."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.membership.kpj import is_valid_kpj, kpj_for
from hub.membership.masking import mask_name


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
    assert not is_valid_kpj(bad)


member_numbers = st.integers(min_value=1, max_value=10**10 - 1)


@given(member_numbers)
def test_every_issued_kpj_is_valid(number: int) -> None:
    kpj = kpj_for(number)

    assert len(kpj) == 11
    assert is_valid_kpj(kpj)


@given(member_numbers, st.integers(0, 10), st.integers(1, 9))
def test_a_single_mistyped_digit_in_a_kpj_is_caught(number: int, position: int, delta: int) -> None:
    kpj = kpj_for(number)
    typo = str((int(kpj[position]) + delta) % 10)
    mistyped = kpj[:position] + typo + kpj[position + 1 :]

    assert not is_valid_kpj(mistyped)


@given(member_numbers, st.integers(0, 9))
def test_swapping_two_different_neighbouring_digits_in_a_kpj_is_caught(
    number: int, position: int
) -> None:
    kpj = kpj_for(number)
    a, b = kpj[position], kpj[position + 1]
    # Luhn's one blind spot: 0<->9 swaps.
    if a == b or {a, b} == {"0", "9"}:
        return
    swapped = kpj[:position] + b + a + kpj[position + 2 :]

    assert not is_valid_kpj(swapped)
