"""Progress through the data stages (reading, BPE, tokenizing, tagging, scoring).

One row per stage, drawn by the evaluation's progress display
(:class:`~curriculumc.runtime.evaluate.progress.EvalProgress`, the one implementation):
a bar with elapsed time and ETA on a terminal, a plain line every 30 s in a log (none
for a short stage), nothing with ``--quiet``. Every stage that ran ends with one summary
line on stderr (``tokenizing: 190,486 lines, 791,677 words in 3.1s (255,000 words/s)``),
except when quiet.

Stages count lines; their total is the inputs' line count (:func:`count_lines`, counted
only when progress is shown; unknown for compressed or hub inputs, then a stage shows
no bar, only its summary). :attr:`DataProgress.events` records what was reported
(``("start", stage, total)``, ``("end", stage, done, words)``), for tests and tools.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from curriculumc.runtime.evaluate.progress import (
    MODES,
    EvalProgress,
    format_duration,
    progress_display,
)

#: the stages of data preparation, in order
STAGES = ("reading", "BPE training", "tokenizing", "tagging", "scoring")


def count_lines(inputs: Iterable) -> int | None:
    """Lines in the inputs (``RawInput``: plain or JSON Lines files, or an opened dataset);
    None when one of them cannot be counted without reading it all (``.gz``, hub)."""
    total = 0
    for inp in inputs:
        dataset = getattr(inp, "dataset", None)
        if dataset is not None and hasattr(dataset, "__len__"):
            total += len(dataset)
            continue
        path = Path(inp.path)
        if inp.format not in ("text", "jsonl") or path.suffix == ".gz" or not path.is_file():
            return None
        total += _file_lines(path)
    return total


def _file_lines(path: Path) -> int:
    count, last = 0, b"\n"
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 24):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count + (last != b"\n")


class DataProgress:
    """The progress display of data preparation; open one :meth:`stage` at a time or
    several side by side (tokenizing and tagging run together).

    ``mode``: ``bar``, ``lines`` or ``off`` (see the module notes); ``emit``: prints a
    line (default: stderr); ``clock``: for tests.
    """

    def __init__(
        self,
        mode: str = "off",
        *,
        emit: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        if mode not in MODES:
            raise ValueError(f"unknown progress mode {mode!r}")
        self.mode = mode
        self.emit = emit or (lambda text: print(text, file=sys.stderr, flush=True))
        self.clock = clock
        self.events: list[tuple] = []
        self._lines: dict[int, int | None] = {}
        self._bar = None  # one rich display for the stages open at a time (bar mode)
        self._open_rows = 0

    @classmethod
    def for_run(cls, *, quiet: bool = False, interactive: bool | None = None) -> DataProgress:
        """Nothing when ``quiet``; else a bar on a terminal, plain lines off one (the
        training reporter's rule, as ``curriculumc eval`` decides)."""
        if quiet:
            return cls("off")
        if interactive is None:
            interactive = sys.stderr.isatty() and sys.stdout.isatty()
        return cls("bar" if interactive else "lines")

    def lines_of(self, raw) -> int | None:
        """:func:`count_lines` of a ``RawCorpus`` (once; None when progress is off)."""
        if self.mode == "off":
            return None
        key = id(raw)
        if key not in self._lines:
            self._lines[key] = count_lines(raw.inputs)
        return self._lines[key]

    def stage(self, name: str, total: int | None, unit: str = "lines") -> Stage:
        """Open the stage ``name`` of ``total`` ``unit`` (None: unknown)."""
        self.events.append(("start", name, total))
        return Stage(self, name, total, unit)

    def _shared_bar(self):
        """The rich display the open stages' rows are drawn on (started with the first)."""
        if self._bar is None:
            self._bar = progress_display()
            self._bar.start()
        self._open_rows += 1
        return self._bar

    def _row_closed(self) -> None:
        self._open_rows -= 1
        if self._open_rows == 0 and self._bar is not None:
            self._bar.stop()
            self._bar = None

    def counted(self, name: str, items: Iterable[str], total: int | None) -> Iterator[str]:
        """``items`` (texts), reported as the stage ``name`` while they are consumed."""
        stage = self.stage(name, total)
        count = words = 0
        try:
            for item in items:
                count += 1
                words += len(item.split())
                if count % 4096 == 0:
                    stage.update(count, words)
                yield item
            stage.update(count, words)
        finally:
            stage.close()


class Stage:
    """One stage: :meth:`update` with the count done so far, then :meth:`close`."""

    def __init__(self, owner: DataProgress, name: str, total: int | None, unit: str):
        self.owner, self.name, self.total, self.unit = owner, name, total, unit
        self.done = 0
        self.words: int | None = None
        self._started = owner.clock()
        self._closed = False
        self._row = None
        if owner.mode != "off" and total:
            self._row = EvalProgress(
                f"data: {name}",
                mode=owner.mode,
                emit=owner.emit,
                fraction_step=1.0,  # in a log: a line every 30 s, not every 10 %
                every_s=30.0,
                clock=owner.clock,
                unit=unit,
                start_line=False,
                end_line=False,
                bar=owner._shared_bar() if owner.mode == "bar" else None,
            )
            self._row(0, total)

    def update(self, done: int, words: int | None = None) -> None:
        """``done`` of the total so far (and ``words``, for the summary's rate)."""
        self.done, self.words = done, words if words is not None else self.words
        if self._row is not None:
            self._row(min(done, self.total), self.total)

    def close(self) -> None:
        """Take the row down and print the stage's summary line (once)."""
        if self._closed:
            return
        self._closed = True
        if self._row is not None:
            self._row.close()
            if self.owner.mode == "bar":
                self.owner._row_closed()
        self.owner.events.append(("end", self.name, self.done, self.words))
        if self.owner.mode == "off":
            return
        seconds = self.owner.clock() - self._started
        text = f"data: {self.name}: {self.done:,} {self.unit}"
        if self.words is not None:
            text += f", {self.words:,} words"
        text += f" in {format_duration(seconds) if seconds >= 10 else f'{seconds:.1f}s'}"
        if self.words and seconds > 0:
            text += f" ({self.words / seconds:,.0f} words/s)"
        self.owner.emit(text)

    def __enter__(self) -> Stage:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def as_data_progress(progress) -> DataProgress:
    """A :class:`DataProgress` from what the data functions accept: one, ``True`` (shown:
    bar or lines as the terminal decides) or ``False`` / None (off)."""
    if isinstance(progress, DataProgress):
        return progress
    return DataProgress.for_run() if progress else DataProgress("off")
