import nhs_number
import pytest

from core.nhs import check_digit, synthetic_nhs_number


def test_synthetic_numbers_are_valid_distinct_and_from_the_999_range():
    numbers = [synthetic_nhs_number(index) for index in range(5000)]

    assert len(set(numbers)) == 5000
    assert all(number.startswith("999") for number in numbers)
    assert all(nhs_number.is_valid(number) for number in numbers)


def test_the_check_digit_matches_the_published_example():
    # NHS Digital's worked example: 943 476 591 has check digit 9.
    assert check_digit("943476591") == 9


def test_an_index_outside_the_range_is_refused():
    with pytest.raises(ValueError):
        synthetic_nhs_number(500_000)
