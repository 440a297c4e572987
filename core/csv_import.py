"""What every all-or-nothing CSV import shares: reading the file, walking its rows with their
line numbers, and keeping every error in file order (docs/referral-import.md, docs/cost-import.md).

Each import keeps its own columns and rules; only the parts that must behave the same in each
are here, so that a file refused by one is refused, and described, the same way by another.
"""

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError

from core.plausible import read_bytes

if TYPE_CHECKING:
    from _csv import Reader


class CsvImportError(Exception):
    """A file, or rows in it, that cannot be imported; nothing was changed."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


class CsvFileError(Exception):
    """A file that cannot be read at all: missing, too large, or not UTF-8."""


def csv_file_text(file: Path, *, max_bytes: int) -> str:
    """The file's text, refused before it is read in full when it is over `max_bytes`.

    utf-8-sig, because spreadsheet programs often start a CSV file with a byte order mark; line
    ends of any kind become "\\n"."""
    try:
        data = read_bytes(file, max_bytes=max_bytes)
        return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig").read()
    except OSError as error:
        raise CsvFileError(f"Cannot read {file}: {error.strerror}.") from error
    except ValidationError as error:
        raise CsvFileError(f"Nothing was imported from {file}: {error.messages[0]}") from error
    except UnicodeDecodeError as error:
        raise CsvFileError(f"{file} is not a UTF-8 file: {error}.") from error


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    # The column's place in the header, so that a row's errors read left to right.
    position: int
    message: str


class RowErrors:
    """Errors kept in file order: by line, then by the column's place in the header."""

    def __init__(
        self, positions: dict[str, int], *, error: type[CsvImportError] = CsvImportError
    ) -> None:
        self.positions = positions
        self.error = error
        self.found: list[RowError] = []
        # (line, column) of the cells refused for their text, which nothing else is said about.
        self.refused: set[tuple[int, str]] = set()

    def add(self, line: int, column: str, message: str) -> None:
        if (line, column) in self.refused:
            return
        self.found.append(
            RowError(line, self.positions.get(column, 0), f"row {line}, column {column}: {message}")
        )

    def refuse(self, line: int, column: str, messages: list[str]) -> None:
        """A cell whose text cannot be used at all (a control character, too long): said once;
        what follows from reading it as blank ("Required.") is not said as well."""
        for message in messages:
            self.add(line, column, message)
        self.refused.add((line, column))

    def raise_if_any(self) -> None:
        if self.found:
            in_order = sorted(self.found, key=attrgetter("line", "position", "message"))
            raise self.error([error.message for error in in_order])


def csv_records(
    reader: "Reader", *, positions: dict[str, int], errors: RowErrors, max_rows: int
) -> Iterator[tuple[int, list[str]]]:
    """Each row after the header that is not blank and has as many values as the header has
    columns, with the line it starts on. A row that cannot be read, or has too few or too many
    values, is reported and left out; more than `max_rows` rows are refused at once, since the
    rows after them would only be read into memory to be thrown away."""
    width = len(positions)
    by_position = sorted(positions, key=positions.__getitem__)
    read = 0
    line = reader.line_num + 1
    while True:
        try:
            cells = next(reader, None)
        except csv.Error as error:
            errors.add(line, "-", f"Not readable as CSV: {error}.")
            return
        if cells is None:
            return
        if any(cell.strip() for cell in cells):
            read += 1
            if read > max_rows:
                raise errors.error(
                    [
                        f"row {line}, column -: More than {max_rows:,} rows, the most one "
                        "import takes; split the file."
                    ]
                )
            if len(cells) < width:
                errors.add(
                    line,
                    by_position[len(cells)],
                    f"Missing: the row has {len(cells)} values and the header {width} columns.",
                )
            elif len(cells) > width:
                errors.add(
                    line,
                    str(width + 1),
                    f"A value past the last of the header's {width} columns; "
                    "is a comma inside a value not quoted?",
                )
            else:
                yield line, cells
        # A row starts on the line after the last one read; quoted values may span lines.
        line = reader.line_num + 1
