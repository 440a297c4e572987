"""Plausible input: the rules on text and dates that every way in applies (the screens' forms
and the imports), written once.

Each check returns the value it was given, so a form's clean_<field> can `return` it, and raises
Django's ValidationError with a message that reads well next to the field or after an import's
"row N, column C: ". The messages name the problem and where it is, never the whole value.

json_load and read_bytes bound what a file may make the parser and memory do.
"""

import json
import re
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

from django.core.exceptions import ValidationError

# A name or a code takes none of these; a reason or a description (multiline) may break lines
# and hold tabs. C0 and C1 controls and DEL are never text people mean to type: they are left
# by a bad export or put there to confuse a terminal or a log, and PostgreSQL refuses NUL
# outright. Lone surrogates (U+D800 to U+DFFF) cannot be written as UTF-8 at all.
_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_FORBIDDEN_MULTILINE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")

# A reason or a note, as the screens' text boxes take it.
NOTE_MAX_LENGTH = 2000
# A description or eligibility text in the directory or a specification.
DESCRIPTION_MAX_LENGTH = 10_000

# Nobody alive now was born before 1900; an earlier year is a typing slip (0001-01-01 is what
# some systems write for "unknown").
EARLIEST_BIRTH_DATE = date(1900, 1, 1)
# Referrals to the voluntary sector as VSO Care knows them began long after this; an earlier
# referral, consent or closing date is a slip of the year.
EARLIEST_REFERRAL_DATE = date(2000, 1, 1)

IN_THE_FUTURE = "Cannot be in the future."


def check_text(value: str, *, max_length: int, multiline: bool = False) -> str:
    """value, or ValidationError for a control character or a value over max_length.

    multiline allows tab, line feed and carriage return, for a reason or a description.
    Positions count characters from 1, as a person reading the value would.
    """
    messages = []
    if len(value) > max_length:
        messages.append(
            ValidationError(
                "Too long: %(length)s characters; the most is %(max_length)s.",
                code="too_long",
                params={"length": f"{len(value):,}", "max_length": f"{max_length:,}"},
            )
        )
    found = (_FORBIDDEN_MULTILINE if multiline else _FORBIDDEN).search(value)
    if found:
        character = found.group()
        surrogate = "\ud800" <= character <= "\udfff"
        messages.append(
            ValidationError(
                "Contains %(kind)s (U+%(code)04X) at position %(position)s; remove it.",
                code="control_character",
                params={
                    "kind": "a lone surrogate" if surrogate else "a control character",
                    "code": ord(character),
                    "position": found.start() + 1,
                },
            )
        )
    if messages:
        raise ValidationError(messages)
    return value


def is_plain_text(value: str) -> bool:
    """Whether check_text would find no character to refuse, even in a one-line field: a quick
    screen for many values joined together, before checking each on its own."""
    return _FORBIDDEN.search(value) is None


def check_birth_date(value: date, *, today: date, what: str = "") -> date:
    """value, or ValidationError unless it is from 1 January 1900 to today. `what` names the
    date in the message ("The date of birth cannot be…"), for a form's error summary, where
    the message stands without its field; an import's row and column name it already."""
    _refuse_a_moment(value)
    if value < EARLIEST_BIRTH_DATE:
        raise _refused(
            what, "Cannot be before 1 January 1900; check the year.", "birth_date_too_early"
        )
    if value > today:
        raise _refused(what, IN_THE_FUTURE, "in_the_future")
    return value


def check_referral_date(value: date, *, today: date, what: str = "") -> date:
    """value, or ValidationError unless it is from 1 January 2000 to today: the day of a
    referral, or of what happens to one (consent, closing)."""
    _refuse_a_moment(value)
    if value < EARLIEST_REFERRAL_DATE:
        raise _refused(
            what, "Cannot be before 1 January 2000; check the year.", "referral_date_too_early"
        )
    if value > today:
        raise _refused(what, IN_THE_FUTURE, "in_the_future")
    return value


def check_period_day(value: date, *, today: date, what: str = "") -> date:
    """value, or ValidationError unless it can bound a report's period: from 1 January 2000
    (no referral is older) to the end of next year (a period may run ahead, as a whole year
    chosen in November does; beyond that is a typing slip, and near year 9999 the day after
    it does not exist)."""
    _refuse_a_moment(value)
    last = date(today.year + 1, 12, 31)
    if value < EARLIEST_REFERRAL_DATE:
        raise _refused(
            what, "Cannot be before 1 January 2000; check the year.", "referral_date_too_early"
        )
    if value > last:
        raise _refused(
            what,
            f"Cannot be after {last.day} December {last.year}; check the year.",
            "period_too_late",
        )
    return value


def _refused(what: str, message: str, code: str) -> ValidationError:
    if what:
        message = f"{what} {message[:1].lower()}{message[1:]}"
    return ValidationError(message, code=code)


def _refuse_a_moment(value: date) -> None:
    # A datetime is a date to isinstance, but comparing one with a date raises TypeError, and
    # which day a moment falls on depends on the clock it is read in: the caller decides.
    if isinstance(value, datetime):
        raise TypeError("Pass the day (a date) the moment falls on, in UK time.")


def quoted(value: object, *, max_length: int = 60) -> str:
    """How a message quotes a value it refuses: repr, so that a control character is escaped
    and never reaches a terminal or a log as it is, cut short after max_length characters."""
    text = repr(value)
    return text if len(text) <= max_length else f"{text[:max_length]}…"


def shown(value: object, *, max_length: int = 100) -> str:
    """How a message names something by a value from a file (a name, an id): as it is when it
    is short, printable text, quoted otherwise."""
    if isinstance(value, str) and value.isprintable() and len(value) <= max_length:
        return value
    return quoted(value)


# A JSON string, then any bracket outside one, then the constants Python's json takes and JSON
# does not. The string pattern is the unrolled loop, linear on any input.
_JSON_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]|-?Infinity|NaN', re.DOTALL)


def json_load(
    text: str, *, max_depth: int, parse_float: Callable[[str], object] | None = None
) -> object:
    """The JSON document in text, or ValidationError: not JSON, nested deeper than max_depth,
    or holding NaN or Infinity, which JSON does not have.

    The depth is measured before parsing, because json.loads recurses in C and a deep enough
    file raises RecursionError instead of saying where the file is wrong.
    """
    depth = 0
    for token in _JSON_TOKENS.finditer(text):
        kind = token.group()[0]
        if kind in "[{":
            depth += 1
            if depth > max_depth:
                raise ValidationError(
                    "%(where)s: nested more than %(max_depth)s levels deep.",
                    code="json_too_deep",
                    params={"where": _where(text, token.start()), "max_depth": max_depth},
                )
        elif kind in "]}":
            depth -= 1
        elif kind != '"':
            raise ValidationError(
                "%(where)s: %(constant)s is not a number JSON has; give a number or null.",
                code="json_constant",
                params={"where": _where(text, token.start()), "constant": token.group()},
            )
    try:
        return json.loads(text, parse_float=parse_float or _finite_float, parse_int=_small_int)
    except json.JSONDecodeError as error:
        raise ValidationError(
            "Not JSON: %(error)s.", code="not_json", params={"error": error}
        ) from error
    except _TooLarge as error:
        raise ValidationError(
            "%(number)s is too large a number to hold.",
            code="json_number_too_large",
            params={"number": error.number},
        ) from error


class _TooLarge(Exception):
    def __init__(self, number: str) -> None:
        super().__init__(number)
        self.number = number if len(number) <= 24 else f"{number[:20]}… ({len(number):,} digits)"


# No field of any import holds a whole number anywhere near this long; Python refuses to read
# one over 4,300 digits with a ValueError json.loads does not turn into a JSONDecodeError.
_MOST_DIGITS = 30


def _small_int(number: str) -> int:
    if len(number) > _MOST_DIGITS:
        raise _TooLarge(number)
    return int(number)


def _finite_float(number: str) -> float:
    # JSON itself allows 1e400; a float cannot hold it and Python would read it as infinity.
    value = float(number)
    if value in (float("inf"), float("-inf")):
        raise _TooLarge(number)
    return value


def _where(text: str, offset: int) -> str:
    """Line and column, counted from 1 as json's own errors count them."""
    line = text.count("\n", 0, offset) + 1
    column = offset - text.rfind("\n", 0, offset)
    return f"line {line} column {column}"


def read_bytes(path: Path, *, max_bytes: int) -> bytes:
    """The file's bytes, or ValidationError when it holds more than max_bytes; reads no more
    than one byte past the limit, whatever the file claims its size is (a pipe claims none).
    OSError is the caller's to report."""
    with path.open("rb") as file:
        data = file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ValidationError(
            "The file is larger than %(max_bytes)s bytes, the most one import takes; "
            "split it into smaller files.",
            code="file_too_large",
            params={"max_bytes": f"{max_bytes:,}"},
        )
    return data
