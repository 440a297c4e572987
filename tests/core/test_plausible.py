"""The plausibility rules every way in shares (#14 point 4): text, dates and JSON files."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from core.plausible import (
    check_birth_date,
    check_referral_date,
    check_text,
    json_load,
    quoted,
    read_bytes,
    shown,
)

TODAY = datetime.date(2026, 11, 23)


def messages(check, *args, **kwargs) -> list[str]:
    with pytest.raises(ValidationError) as refusal:
        check(*args, **kwargs)
    return refusal.value.messages


def test_plain_text_comes_back_as_it_was():
    assert check_text("Edna O'Neill-Żółć", max_length=100) == "Edna O'Neill-Żółć"
    assert check_text("x" * 100, max_length=100) == "x" * 100


@pytest.mark.parametrize(
    ("value", "code", "position"),
    [
        ("Ed\x00na", "0000", 3),
        ("\x1b[2J", "001B", 1),
        ("tab\there", "0009", 4),
        ("line\nbreak", "000A", 5),
        ("del\x7f", "007F", 4),
        ("c1\x85", "0085", 3),
    ],
)
def test_a_control_character_is_named_with_its_position(value, code, position):
    assert messages(check_text, value, max_length=100) == [
        f"Contains a control character (U+{code}) at position {position}; remove it."
    ]


def test_free_text_may_hold_tabs_and_line_breaks_but_no_other_control():
    assert check_text("a\tb\r\nc", max_length=100, multiline=True) == "a\tb\r\nc"
    assert messages(check_text, "a\nb\x00", max_length=100, multiline=True) == [
        "Contains a control character (U+0000) at position 4; remove it."
    ]


def test_a_lone_surrogate_is_refused_as_it_cannot_be_stored():
    assert messages(check_text, "a\ud800", max_length=100) == [
        "Contains a lone surrogate (U+D800) at position 2; remove it."
    ]


def test_an_over_long_value_says_how_long_and_the_most():
    assert messages(check_text, "x" * 1250, max_length=1000) == [
        "Too long: 1,250 characters; the most is 1,000."
    ]


def test_a_value_with_both_problems_gets_both_messages():
    assert messages(check_text, "\x00" * 3, max_length=2) == [
        "Too long: 3 characters; the most is 2.",
        "Contains a control character (U+0000) at position 1; remove it.",
    ]


@pytest.mark.parametrize("born", ["1900-01-01", "1938-05-17", "2026-11-23"])
def test_a_birth_from_1900_to_today_is_plausible(born):
    day = datetime.date.fromisoformat(born)
    assert check_birth_date(day, today=TODAY) == day


@pytest.mark.parametrize(
    ("born", "message"),
    [
        ("0001-01-01", "Cannot be before 1 January 1900; check the year."),
        ("1800-01-01", "Cannot be before 1 January 1900; check the year."),
        ("1899-12-31", "Cannot be before 1 January 1900; check the year."),
        ("2026-11-24", "Cannot be in the future."),
        ("9999-12-31", "Cannot be in the future."),
    ],
)
def test_a_birth_before_1900_or_after_today_is_not(born, message):
    day = datetime.date.fromisoformat(born)
    assert messages(check_birth_date, day, today=TODAY) == [message]


def test_a_referral_date_runs_from_2000_to_today():
    for day in (datetime.date(2000, 1, 1), TODAY):
        assert check_referral_date(day, today=TODAY) == day
    assert messages(check_referral_date, datetime.date(1999, 12, 31), today=TODAY) == [
        "Cannot be before 1 January 2000; check the year."
    ]
    assert messages(check_referral_date, datetime.date(2026, 11, 24), today=TODAY) == [
        "Cannot be in the future."
    ]


def test_a_moment_must_be_turned_into_its_day_by_the_caller():
    with pytest.raises(TypeError):
        check_referral_date(datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC), today=TODAY)


def test_json_within_its_depth_is_read_as_json_reads_it():
    assert json_load('{"a": [[1, 2.5]], "b": "[[[["}', max_depth=3) == {
        "a": [[1, 2.5]],
        "b": "[[[[",
    }


def test_json_nested_past_its_depth_is_refused_where_it_goes_too_deep():
    assert messages(json_load, "[" * 100_000 + "]" * 100_000, max_depth=64) == [
        "line 1 column 65: nested more than 64 levels deep."
    ]
    assert messages(json_load, '{"a":\n "\\"[", "b": [[[]]]}', max_depth=3) == [
        "line 2 column 16: nested more than 3 levels deep."
    ]


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_json_constants_that_are_not_json_are_refused_where_they_are(constant):
    assert messages(json_load, f'[1,\n  {constant}, "NaN"]', max_depth=8) == [
        f"line 2 column 3: {constant} is not a number JSON has; give a number or null."
    ]


def test_json_numbers_too_large_to_hold_are_refused():
    assert messages(json_load, "[1e400]", max_depth=8) == ["1e400 is too large a number to hold."]
    assert messages(json_load, "9" * 5000, max_depth=8) == [
        "99999999999999999999… (5,000 digits) is too large a number to hold."
    ]


def test_text_that_is_not_json_says_where():
    assert messages(json_load, "{not json", max_depth=8) == [
        "Not JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)."
    ]


def test_a_file_is_read_up_to_its_limit_and_no_further(tmp_path):
    path = tmp_path / "file.csv"
    path.write_bytes(b"x" * 10)

    assert read_bytes(path, max_bytes=10) == b"x" * 10
    assert messages(read_bytes, path, max_bytes=9) == [
        "The file is larger than 9 bytes, the most one import takes; split it into smaller files."
    ]


def test_values_are_shown_as_they_are_only_when_short_and_printable():
    assert shown("Age UK Eastern") == "Age UK Eastern"
    assert shown("a\x1b[2J") == "'a\\x1b[2J'"
    assert shown(7) == "7"
    assert quoted("x" * 100) == "'" + "x" * 59 + "…"
