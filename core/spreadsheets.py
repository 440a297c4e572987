"""CSV files people open in a spreadsheet. A cell that starts with `=`, `+`, `-` or `@` (or a tab
or carriage return before one) is read by Excel, LibreOffice and Sheets as a formula, and a
formula can fetch a URL or run a command: text a person typed into VSO Care (a reason, a name)
must come out as text. Such a cell gets a leading apostrophe, which spreadsheets show as text
and do not display (OWASP's advice for CSV injection). Numbers are left as numbers."""

import csv
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SpreadsheetWriter:
    """csv.writer, with every text cell made safe to open in a spreadsheet."""

    def __init__(self, stream: Any, **options: Any) -> None:
        self._writer = csv.writer(stream, **options)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([spreadsheet_safe(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)
