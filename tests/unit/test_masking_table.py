"""What a cashier sees of a member's name, as a table.

``mask_name`` keeps the first character of each whitespace-separated word and
stars the rest; it gives apostrophes, hyphens and dots no special treatment, so
inside a word they are starred like letters.
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.membership.masking import mask_name


@pytest.mark.parametrize(
    ("full_name", "masked"),
    [
        pytest.param("I WAYAN SUDIARTA", "I W**** S*******", id="balinese-name"),
        pytest.param("NI MADE SARI", "N* M*** S***", id="two-letter-word"),
        pytest.param("I", "I", id="a-single-letter"),
        pytest.param("I B", "I B", id="only-single-letters"),
        pytest.param("A B C", "A B C", id="three-initials"),
        pytest.param("SUKARNO", "S******", id="one-word"),
        pytest.param("AB", "A*", id="one-two-letter-word"),
        pytest.param("  NI  MADE   SARI  ", "N* M*** S***", id="extra-spaces"),
        pytest.param("NI\tMADE\nSARI", "N* M*** S***", id="tab-and-newline"),
        pytest.param("MA'RUF AMIN", "M***** A***", id="apostrophe-is-starred"),
        pytest.param("O'NEILL", "O******", id="apostrophe-after-first-letter"),
        pytest.param("SITI-AMINAH", "S**********", id="hyphenated-name-is-one-word"),
        pytest.param("SITI - AMINAH", "S*** - A*****", id="lone-hyphen-is-its-own-word"),
        pytest.param("R. A. KARTINI", "R* A* K******", id="initials-with-dots"),
        pytest.param("ANAK AGUNG GEDE", "A*** A**** G***", id="three-words"),
        pytest.param("budi santoso", "b*** s******", id="case-is-kept"),
        pytest.param("", "", id="empty"),
        pytest.param("   ", "", id="only-spaces"),
    ],
)
def test_masked_name(full_name: str, masked: str) -> None:
    assert mask_name(full_name) == masked


names = st.lists(
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ.,'-", min_size=1, max_size=20),
    min_size=1,
    max_size=6,
).map(" ".join)


@given(names)
def test_a_masked_name_shows_one_character_per_word_and_keeps_each_words_length(
    full_name: str,
) -> None:
    masked_words = mask_name(full_name).split(" ")
    words = full_name.split(" ")

    assert len(masked_words) == len(words)
    for word, masked in zip(words, masked_words, strict=True):
        assert masked[0] == word[0]
        assert masked[1:] == "*" * (len(word) - 1)
