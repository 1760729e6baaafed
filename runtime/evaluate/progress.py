"""Progress of an evaluation: a bar on a terminal, plain lines elsewhere, nothing when quiet.

Scoring calls an :class:`EvalProgress` as ``progress(done, total)`` with the forward
batches done so far (``done == 0`` before the first; each batch holds about the same
number of tokens, so batches are the honest unit of time). The display follows the
training reporter's rule (:class:`~curriculumc.runtime.train.reporting.Reporter`):

- ``"bar"`` -- on a terminal, a rich progress bar with elapsed time and ETA (during
  training, a second row under the training bar);
- ``"lines"`` -- off a terminal (a log file, CI), one plain line at the start, at every
  ``fraction_step`` of the work (10 %) or every ``every_s`` seconds (30 s) since the last
  line, whichever comes first, and one at the end, each with elapsed time and ETA (in
  training only once the evaluation has run :data:`TRAINING_AFTER_S` seconds: a short one
  prints nothing but its result);
- ``"off"`` -- ``--quiet``, or a rank other than 0.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def progress_display(*, labelled: bool = True, info: bool = False):
    """The one rich progress display: ``label  bar  n/N  elapsed  ETA remaining`` (the
    evaluations' and the data stages'), or -- ``labelled=False, info=True`` -- the training
    bar's ``bar  n/N  elapsed  remaining  info``."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = [BarColumn(bar_width=20), MofNCompleteColumn(), TimeElapsedColumn()]
    if labelled:
        columns = [TextColumn("{task.description}"), *columns, TextColumn("ETA")]
    columns.append(TimeRemainingColumn(compact=True))
    if info:
        columns.append(TextColumn("{task.fields[info]}"))
    return Progress(*columns, transient=labelled)


MODES = ("bar", "lines", "off")
#: during training, plain progress lines start only after an evaluation has run this long
TRAINING_AFTER_S = 10.0


def format_duration(seconds: float) -> str:
    """``42s``, ``3m05s``, ``1h02m``."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class EvalProgress:
    """Shows how far one evaluation is; call it as ``progress(done, total)``, then
    :meth:`close`.

    ``label`` names the evaluation (``eval blimp (3,350 pairs)``); ``emit`` prints a
    plain line; ``bar`` is a rich ``Progress`` to draw on (``"bar"`` mode: None starts
    one of its own); ``clock`` is for tests. ``unit`` names what ``done`` counts in the
    lines (``batches``; the data stages count ``lines``); ``start_line`` / ``end_line``:
    whether the plain lines include the start and the 100 % line (a caller that prints
    its own summary turns the end line off).
    """

    def __init__(
        self,
        label: str,
        *,
        mode: str = "lines",
        emit: Callable[[str], None] | None = None,
        fraction_step: float = 0.1,
        every_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        bar: Any = None,
        after_s: float = 0.0,
        unit: str = "batches",
        start_line: bool = True,
        end_line: bool = True,
    ):
        if mode not in MODES:
            raise ValueError(f"unknown progress mode {mode!r}")
        self.label = label
        self.mode = mode
        self.emit = emit or (lambda text: print(text, flush=True))
        self.fraction_step = fraction_step
        self.every_s = every_s
        self.clock = clock
        self._bar = bar
        self._own_bar = False
        self._task = None
        self._started: float | None = None
        self._last_line = 0.0
        self._next_k = 1  # the next line at fraction k * fraction_step
        self._finished = False
        # plain lines only once the evaluation has run this long (in training: a
        # few-second evaluation between log lines needs no progress of its own)
        self.after_s = after_s
        self.unit = unit
        self.start_line = start_line
        self.end_line = end_line
        self._said = 0  # lines emitted

    def __call__(self, done: int, total: int) -> None:
        if self.mode == "off" or total <= 0:
            return
        now = self.clock()
        if self._started is None:
            self._started = self._last_line = now
            if self.mode == "bar" or self.after_s <= 0:
                self._start(total)
        if self.mode == "bar":
            self._bar.update(self._task, completed=done, total=total)
            return
        if now - self._started < self.after_s:
            return
        if done >= total:
            if not self._finished and self.end_line and (self._said or self.after_s <= 0):
                self._finished = True
                elapsed = format_duration(now - self._started)
                self._say(f"{self.label}: 100% ({done}/{total} {self.unit}), done in {elapsed}")
            return
        fraction = done / total
        due = fraction >= self._next_k * self.fraction_step - 1e-9
        if done and (due or now - self._last_line >= self.every_s):
            while fraction >= self._next_k * self.fraction_step - 1e-9:
                self._next_k += 1
            self._last_line = now
            elapsed = now - self._started
            eta = elapsed / done * (total - done)
            self._say(
                f"{self.label}: {100 * fraction:.{1 if fraction < 0.1 else 0}f}% "
                f"({done}/{total} {self.unit}), "
                f"{format_duration(elapsed)} elapsed, ETA {format_duration(eta)}"
            )

    def _say(self, text: str) -> None:
        self._said += 1
        self.emit(text)

    def _start(self, total: int) -> None:
        if self.mode == "lines":
            if self.start_line:
                self._say(f"{self.label}: started, {total} {self.unit}")
            return
        if self._bar is None:
            self._bar = progress_display()
            self._own_bar = True
            self._bar.start()
        # ``info``: the training reporter's bar shows that field after its columns
        self._task = self._bar.add_task(self.label, total=total, info=self.label)

    def close(self) -> None:
        """Take the bar down (the bar of a training reporter stays, without this row)."""
        if self._bar is not None and self._task is not None:
            if self._own_bar:
                self._bar.stop()
            else:
                self._bar.remove_task(self._task)
        self._task = None
        if self._own_bar:
            self._bar = None
            self._own_bar = False

    def __enter__(self) -> EvalProgress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def eval_progress(
    label: str,
    *,
    reporter: Any = None,
    quiet: bool = False,
    interactive: bool | None = None,
) -> EvalProgress:
    """The progress display of one evaluation.

    During training pass the run's ``reporter``: nothing when it is disabled (not rank 0)
    or quiet, a row under its bar when it draws one, else its plain message lines.
    Otherwise (``curriculumc eval``): nothing when ``quiet``, else a bar on a terminal and
    plain lines off one -- ``interactive`` None decides as the training reporter does.
    """
    if reporter is not None:
        if not getattr(reporter, "enabled", True) or getattr(reporter, "quiet", False):
            return EvalProgress(label, mode="off")
        bar = getattr(reporter, "_bar", None)
        if bar is not None:
            return EvalProgress(label, mode="bar", bar=bar)
        return EvalProgress(
            label,
            mode="lines",
            emit=lambda text: reporter.message(text, important=False),
            after_s=TRAINING_AFTER_S,
        )
    if quiet:
        return EvalProgress(label, mode="off")
    from curriculumc.runtime.train.reporting import Reporter

    # the training reporter's rule for "a terminal" (it starts nothing when disabled)
    decided = Reporter(total_steps=0, start_step=0, interactive=interactive, enabled=False)
    return EvalProgress(label, mode="bar" if decided.interactive else "lines")
