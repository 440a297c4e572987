"""A progress line for a long import: rows checked, rows written and the rate, as people who run
bulk loads expect to see, so that a 100,000-row file does not look hung.

Said at most every `every` seconds while the rows are read and checked, then after each write,
and once at the end. On a terminal the line is rewritten in place; anywhere else (a log, a pipe)
each is a line of its own. The command decides whether to show it at all.
"""

import time
from collections.abc import Callable


class Progress:
    """Says nothing: for callers that want no progress line (tests, cron, the web)."""

    def checked(self, count: int, *, force: bool = False) -> None:
        """`count` rows have been read and checked so far."""

    def written(self, count: int) -> None:
        """`count` more referrals have been written."""

    def done(self) -> None:
        """The import is over, written or refused."""


class ProgressLine(Progress):
    def __init__(
        self,
        write: Callable[[str], object],
        *,
        in_place: bool,
        every: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._write = write
        self._in_place = in_place
        self._every = every
        self._clock = clock
        self._started = self._last = clock()
        self._checked = self._written = 0
        self._shown = False

    def checked(self, count: int, *, force: bool = False) -> None:
        self._checked = count
        now = self._clock()
        if force or now - self._last >= self._every:
            self._show(now)

    def written(self, count: int) -> None:
        if count:
            self._written += count
            self._show(self._clock())

    def done(self) -> None:
        if self._shown and self._in_place:
            self._write("\n")

    def _show(self, now: float) -> None:
        self._last = now
        # Rows of the file through the import a second, from its start: what tells someone how
        # long the next file will take.
        rate = self._checked / (now - self._started) if now > self._started else 0
        rows = "row" if self._checked == 1 else "rows"
        line = f"checked {self._checked:,} {rows}, written {self._written:,}, {rate:,.0f} rows/s"
        # On a terminal, a carriage return and the erase-to-end-of-line code rewrite the line.
        self._write(f"\r{line}\x1b[K" if self._in_place else f"{line}\n")
        self._shown = True
