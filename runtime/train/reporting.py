"""Where a run's progress goes besides ``metrics.jsonl``: the terminal and wandb.

On a terminal a rich progress bar shows the step, ETA, losses, pool %, vocabulary % and
tokens/s; otherwise (a log file, CI) a plain line is printed at every logged step, and
``--quiet`` prints only messages that matter (switches, evaluations, the end).

wandb is optional: used when the plan names a project or ``--wandb`` is given; a missing
package or login is reported in one line and the run goes on (offline when there is no
login, so that a run never waits at a prompt).
"""

from __future__ import annotations

import netrc
import os
import sys
import time
from pathlib import Path

#: the progress bar is redrawn at most this often (seconds); the latest step is kept
BAR_INTERVAL_S = 0.1


def format_record(record: dict) -> str:
    """A one-line rendering of a metrics record (``step 120 loss 5.31 mlm 5.31 ...``)."""
    parts = [f"step {record['step']}"]
    for key, value in record.items():
        if key == "step" or not isinstance(value, (int, float)):
            continue
        if key.startswith("loss"):
            parts.append(f"{key} {value:.4f}")
        elif key in ("pool", "vocab"):
            parts.append(f"{key} {100 * value:.0f}%")
        elif key == "lr":
            parts.append(f"lr {value:.2e}")
        elif key == "tokens_per_s":
            parts.append(f"{value:,.0f} tok/s")
        elif key.startswith("steps/"):  # an objective active in part of the window
            parts.append(f"({key[6:]}: {value} steps)")
        elif "/" in key:  # eval figures such as blimp/macro
            parts.append(f"{key} {value:.4f}")
    return "  ".join(parts)


def compact_record(record: dict) -> str:
    """The short form shown next to the progress bar: ``loss 5.31 (mlm 5.31) pool 40% ...``."""
    parts = [f"loss {record.get('loss', float('nan')):.3f}"]
    objectives = [
        f"{k[5:]} {v:.3f}" for k, v in record.items() if k.startswith("loss/") and len(record) > 0
    ]
    if len(objectives) > 1:
        parts.append("(" + " ".join(objectives) + ")")
    if "pool" in record:
        parts.append(f"pool {100 * record['pool']:.0f}%")
    if "vocab" in record:
        parts.append(f"vocab {100 * record['vocab']:.0f}%")
    if record.get("tokens_per_s"):
        parts.append(f"{record['tokens_per_s'] / 1000:.1f}k tok/s")
    return " ".join(parts)


class Reporter:
    """Progress output of rank 0 (other ranks get ``enabled=False``)."""

    def __init__(
        self,
        *,
        total_steps: int,
        start_step: int,
        quiet: bool = False,
        interactive: bool | None = None,
        enabled: bool = True,
    ):
        self.enabled = enabled
        self.quiet = quiet
        self.interactive = sys.stdout.isatty() if interactive is None else interactive
        self.wandb = None
        self._bar = None
        self._task = None
        self._shown_at = float("-inf")  # when the bar last took a record
        self._unshown: dict | None = None  # the latest record, when the bar has not shown it
        if enabled and self.interactive and not quiet:
            from curriculumc.runtime.evaluate.progress import progress_display

            self._bar = progress_display(labelled=False, info=True)
            self._task = self._bar.add_task(
                "train", total=total_steps, completed=start_step, info=""
            )
            self._bar.start()

    @property
    def wants_every_step(self) -> bool:
        """Whether every step's record is used (wandb logs each step's scalars)."""
        return self.wandb is not None

    @property
    def wants_latest(self) -> bool:
        """Whether the latest step's record is used (the bar shows it)."""
        return self._bar is not None or self.wandb is not None

    def step(self, record: dict) -> None:
        """A step's record: its scalars to wandb; the bar advanced to it (redrawn at most
        every :data:`BAR_INTERVAL_S`, the rest kept for the next redraw or :meth:`close`).
        The trainer builds records only as :attr:`wants_every_step` and
        :attr:`wants_latest` say."""
        if self._bar is not None:
            now = time.monotonic()
            if now - self._shown_at >= BAR_INTERVAL_S:
                self._show(record)
                self._shown_at = now
            else:
                self._unshown = record
        self._to_wandb(record)

    def _show(self, record: dict) -> None:
        self._unshown = None
        self._bar.update(self._task, completed=record["step"], info=compact_record(record))

    def log(self, record: dict) -> None:
        """A logged step: a plain line off-terminal (wandb got it in :meth:`step`)."""
        if self.enabled and self._bar is None and not self.quiet:
            print(format_record(record), flush=True)

    def evaluation(self, record: dict) -> None:
        """An evaluation: its headline figures (macro average, fields, perplexity) in one
        line, every figure to wandb."""
        headline = {
            k: v
            for k, v in record.items()
            if isinstance(v, float)
            and (k.endswith("/macro") or "/field/" in k or k.startswith("ppl/"))
        }
        shown = "  ".join(f"{k} {v:.4f}" for k, v in headline.items())
        self.message(f"step {record['step']}: eval {record['eval']}: {shown}")
        self._to_wandb(record)

    def _to_wandb(self, record: dict) -> None:
        if self.wandb is not None:
            self.wandb.log(
                {k: v for k, v in record.items() if isinstance(v, (int, float)) and k != "step"},
                step=record["step"],
            )

    def message(self, text: str, *, important: bool = True) -> None:
        """An event line (switch, evaluation, checkpoint, warning)."""
        if not self.enabled or (self.quiet and not important):
            return
        if self._bar is not None:
            self._bar.console.print(text, highlight=False, markup=False)
        else:
            print(text, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            if self._unshown is not None:
                self._show(self._unshown)
            self._bar.stop()
            self._bar = None
        if self.wandb is not None:
            self.wandb.finish()
            self.wandb = None


def wandb_mode() -> tuple[str, str | None]:
    """The wandb mode to use and why, without ever prompting for a login."""
    if os.environ.get("WANDB_MODE"):
        return os.environ["WANDB_MODE"], None
    if os.environ.get("WANDB_API_KEY"):
        return "online", None
    try:
        path = os.environ.get("NETRC") or str(Path.home() / ".netrc")
        if Path(path).is_file() and netrc.netrc(path).authenticators("api.wandb.ai"):
            return "online", None
    except (OSError, netrc.NetrcParseError):
        pass
    return "offline", "no wandb login found: logging offline (upload later with `wandb sync`)"


def start_wandb(project: str, *, name: str, config: dict, run_dir: Path):
    """Start a wandb run; returns ``(run or None, message or None)``. Never raises."""
    try:
        import wandb
    except ImportError:
        return None, (
            "wandb is not installed (pip install 'curriculumc[wandb]'): "
            "metrics go to metrics.jsonl only"
        )
    mode, note = wandb_mode()
    try:
        run = wandb.init(
            project=project, name=name, config=config, dir=str(run_dir), mode=mode, reinit=True
        )
    except Exception as exc:  # a logging service must never stop a training run
        return None, f"wandb could not start ({type(exc).__name__}: {exc}); going on without it"
    return run, note


def wandb_image(run, path: Path, key: str = "timeline") -> None:
    """Log a picture to wandb if both exist."""
    if run is None or not Path(path).is_file():
        return
    try:
        import wandb

        run.log({key: wandb.Image(str(path))}, step=0)
    except Exception:  # only a picture
        pass
