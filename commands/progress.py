"""Progress of long work, from its first second.

In a terminal: a live line on stderr (what is happening, n of N, rate, elapsed) that
disappears when the work is done. Piped or in a log: a plain line every few seconds, so
whoever tails the output sees the work advance, and one when the step changes. Either
way nothing goes to stdout, which stays for results (and `--json`).
"""

from __future__ import annotations

import sys
import time
from types import TracebackType

from rich.text import Text
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from commands.common import err
from services.safe_text import printable

PLAIN_EVERY_S = 2.0


class Activity:
    """`with Activity("ingesting events.jsonl", total=400) as work: work.advance()`."""

    def __init__(self, what: str, total: int | None = None, *, enabled: bool = True,
                 unit: str = "", interactive: bool | None = None) -> None:
        self.what, self.total, self.unit, self.enabled = what, total, unit, enabled
        self.interactive = err.is_terminal if interactive is None else interactive
        self.done = 0
        self._started = self._last_line = time.monotonic()
        self._bar: Progress | None = None
        self._task = None

    def __enter__(self) -> Activity:
        self._started = self._last_line = time.monotonic()
        if not self.enabled:
            return self
        if self.interactive:
            self._bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), console=err, transient=True)
            self._bar.start()
            self._task = self._bar.add_task(self.what, total=self.total, rate="")
        else:
            self._line()
        return self

    def step(self, what: str, total: int | None = None) -> None:
        """Say that the work moved on to another step (e.g. from starting the broker to waiting)."""
        self.what, self.total, self.done = what, total, 0
        self._started = time.monotonic()
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(self._task, description=what, total=total, completed=0, rate="")
        else:
            self._line()

    def advance(self, count: int = 1) -> None:
        self.update(self.done + count)

    def update(self, done: int) -> None:
        self.done = done
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(self._task, completed=done, rate=self._rate())
        elif time.monotonic() - self._last_line >= PLAIN_EVERY_S:
            self._line()

    def note(self, line: str) -> None:
        """A line that stays (an event booked, a record rejected), above the live display."""
        if self._bar is not None:
            self._bar.console.print(Text(printable(line)), highlight=False, soft_wrap=True)
        else:
            sys.stderr.write(printable(line) + "\n")
            sys.stderr.flush()

    def tick(self) -> None:
        """Called while waiting: keeps the plain output alive on long silent steps."""
        if self.enabled and self._bar is None and time.monotonic() - self._last_line >= PLAIN_EVERY_S:
            self._line()

    def _rate(self) -> str:
        elapsed = time.monotonic() - self._started
        return f"{self.done / elapsed:.1f}{self.unit}/s" if elapsed > 0.5 and self.done else ""

    def _line(self) -> None:
        self._last_line = time.monotonic()
        of = f" {self.done} of {self.total}" if self.total is not None else (f" {self.done}" if self.done else "")
        rate = self._rate()
        elapsed = time.monotonic() - self._started
        sys.stderr.write(f"{self.what}:{of}{', ' + rate if rate else ''} ({elapsed:.0f} s)\n")
        sys.stderr.flush()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.stop()
        elif self.enabled and kind is None and self.done:
            self._line()
