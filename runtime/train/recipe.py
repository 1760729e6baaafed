"""The training recipe: what ``curriculumc run`` does with a plan, start to end.

In torchtune's shape -- :meth:`Recipe.setup`, :meth:`Recipe.train`, :meth:`Recipe.save`,
:meth:`Recipe.cleanup` -- and :func:`run`, which calls them in that order::

    setup    processes (torchrun), the run folder (resume or refuse, plan.json, spec,
             timeline.png), the data (prepared once, rank 0 first), the initial order,
             the held-out texts, the Trainer
    train    Trainer.train(): the loop, evaluations, checkpoints
    save     a stopped run (--stop-after) keeps a checkpoint to resume from
    cleanup  logs, progress display, the process group

The command line (:mod:`curriculumc.commands.run`) only parses arguments, compiles the
spec and prints the outcome. Every rule about the run folder is in
:mod:`~curriculumc.runtime.train.run_folder`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from curriculumc.errors import CurriculumError
from curriculumc.plan import Plan
from curriculumc.runtime.data.prepare import default_cache_dir, dev_split, prepare_data
from curriculumc.runtime.ordering.order import initial_order
from curriculumc.runtime.train import checkpoint as ckpt
from curriculumc.runtime.train import distributed
from curriculumc.runtime.train import run_folder as rf
from curriculumc.runtime.train.objectives import needs_pos
from curriculumc.runtime.train.trainer import RunOptions, Trainer

E_FOLDER_TAKEN = "E423"


@dataclass(frozen=True)
class RunRequest:
    """How to run a plan (what to run is the plan).

    ``name``: the run's name (the folder is ``<runs_dir>/<name>-<hash8>``); ``spec_path``
    and ``overrides``: what the plan was compiled from, copied into the folder;
    ``resume``/``force``: see ``curriculumc run --help``; ``cache_dir``: data and score
    caches (default :func:`~curriculumc.runtime.data.prepare.default_cache_dir`);
    ``draw_timeline``: draws the plan's picture to a path (the views' job, handed in so that
    the runtime never imports the views); the rest is passed to the trainer.
    """

    name: str
    runs_dir: Path = Path("runs")
    spec_path: Path | None = None
    overrides: tuple[str, ...] = ()
    resume: bool = False
    force: bool = False
    device: str | None = None
    compile: bool = False
    wandb: bool = False
    quiet: bool = False
    cache_dir: Path | None = None
    stop_after: int | None = None
    draw_timeline: Callable[[Plan, Path], None] | None = None


@dataclass
class Outcome:
    """What a run did: ``folder``; ``summary`` (what ``summary.json`` holds; None when
    there was nothing to do because the run was already trained); ``is_main``: whether
    this process is rank 0 (the one that reports)."""

    folder: rf.RunFolder
    summary: dict | None
    is_main: bool = True


class Recipe:
    """One run of ``plan`` as ``request`` asks (see the module docstring)."""

    def __init__(self, plan: Plan, request: RunRequest):
        self.plan = plan
        self.request = request
        self.world = None
        self.trainer = None
        self.notes: tuple[str, ...] = ()
        self.resume_from: Path | None = None
        self.folder = rf.RunFolder(Path(request.runs_dir) / rf.folder_name(request.name, plan.hash))

    # --- setup ---------------------------------------------------------------------------

    def setup(self) -> bool:
        """Processes, folder, data, order and trainer; False when the run is already
        trained to its last step (nothing to do)."""
        plan, request = self.plan, self.request
        self.world = world = distributed.setup(request.device)
        if request.resume and world.is_main:  # what a process killed mid-write left behind
            ckpt.remove_partial(self.folder.checkpoints)
            ckpt.remove_partial(self.folder.root)
        self.resume_from = self._resume_point(announce=world.is_main)
        if (
            self.resume_from is not None
            and ckpt.read_state(self.resume_from)["step"] >= plan.train.steps
        ):
            return False
        if world.is_main:
            self._prepare_folder()
        distributed.barrier(world)

        cache_dir = request.cache_dir if request.cache_dir is not None else default_cache_dir()
        data = self._on_main_first(
            lambda: prepare_data(plan, cache_dir=cache_dir, need_pos=needs_pos(plan))
        )
        start = self._on_main_first(lambda: initial_order(plan, data.corpus, cache_dir=cache_dir))
        self.notes = start.notes
        if world.is_main:
            for note in self.notes:
                print(note, file=sys.stderr)
        options = RunOptions(
            run_dir=self.folder.root,
            resume_from=self.resume_from,
            device=world.device,
            compile=request.compile,
            wandb=request.wandb,
            quiet=request.quiet,
            run_name=self.folder.root.name,
            cache_dir=cache_dir,
            dev_texts=self._dev_texts(cache_dir),
            stop_after=request.stop_after,
        )
        self.trainer = Trainer(plan, data, start.order, options, world, keys=start.keys)
        self.trainer.setup()
        return True

    def _resume_point(self, *, announce: bool) -> Path | None:
        """The checkpoint to continue from (None: start fresh).

        With ``resume``: this plan's newest checkpoint; if this plan has none but an
        earlier run of the same name does, its plan must equal this one (E420 with the
        diff) unless ``force``.
        """
        request = self.request
        if not request.resume:
            return None
        found = ckpt.latest(self.folder.root)
        if found is None:
            for previous in rf.find_previous(Path(request.runs_dir), request.name):
                found = ckpt.latest(previous)
                if found is not None:
                    break
        if found is None:
            if announce:
                print(
                    f"nothing to resume for {request.name}: starting from step 0", file=sys.stderr
                )
            return None
        if not request.force:
            old = (found / rf.PLAN_FILE).read_text(encoding="utf-8")
            rf.refuse_different_plan(old, self.plan.to_json(), found)
        return found

    def _prepare_folder(self) -> None:
        folder, request = self.folder, self.request
        resuming = self.resume_from is not None
        if rf.has_results(folder) and not resuming:
            if not (request.force or request.resume):  # --resume with no checkpoint: afresh
                raise CurriculumError.single(
                    E_FOLDER_TAKEN,
                    f"{folder.root} already holds a run of this plan",
                    hint="--resume to continue it, --force to start over, or --name for a new name",
                )
            rf.clear(folder)
        overrides = dict(item.partition("=")[::2] for item in request.overrides)
        rf.create(
            folder, plan_json=self.plan.to_json(), spec_path=request.spec_path, overrides=overrides
        )
        if request.draw_timeline is not None and (not resuming or not folder.timeline.is_file()):
            try:
                request.draw_timeline(self.plan, folder.timeline)
            except Exception as exc:  # a picture must never stop a training run
                print(f"timeline.png not drawn: {type(exc).__name__}: {exc}", file=sys.stderr)

    def _on_main_first(self, make):
        """Run ``make`` on rank 0 first (it fills the caches), then on the others (hits)."""
        result = make() if self.world.is_main else None
        distributed.barrier(self.world)
        return result if self.world.is_main else make()

    def _dev_texts(self, cache_dir: Path) -> tuple[str, ...] | None:
        """Held-out texts for ``eval ppl`` (None when the plan has no such evaluation or
        its data has no dev split)."""
        wanted = [e for e in self.plan.evals if e.name == "ppl" and not e.path]
        if not wanted:
            return None
        found = dev_split(self.plan.data, cache_dir=cache_dir)
        if found is None:
            return None
        from curriculumc.runtime.evaluate.evaluation import load_texts

        path, column = found
        limit = max((e.limit or 1000) for e in wanted)
        return tuple(load_texts(path, limit=limit, column=column))

    # --- train, save, cleanup ------------------------------------------------------------

    def train(self) -> dict:
        """Train from the current step; returns the summary."""
        return self.trainer.train()

    def save(self, summary: dict) -> None:
        """A run stopped early keeps a checkpoint of its last step; rank 0 writes
        ``summary.json`` (with the scorers' notes and where it resumed from)."""
        trainer = self.trainer
        if not summary["finished"]:
            stop = self.folder.step_checkpoint(trainer.step)
            if not stop.is_dir():
                trainer.save_checkpoint(stop)
        if self.world.is_main:
            summary["run_dir"] = str(self.folder.root)
            summary["scoring_notes"] = list(self.notes)
            if self.resume_from is not None:
                summary["resumed_from"] = str(self.resume_from)
            rf.write_summary(self.folder, summary)
            if self.plan.output.push_to_hub:
                print(rf.push_to_hub(self.folder.final, self.plan.output.push_to_hub))

    def cleanup(self) -> None:
        """Close the trainer's logs and display, and the process group."""
        if self.trainer is not None:
            self.trainer.cleanup()
        if self.world is not None:
            distributed.cleanup(self.world)


def run(plan: Plan, request: RunRequest) -> Outcome:
    """Run ``plan``: setup, train, save, cleanup. Returns what happened (on every rank;
    only rank 0 writes). Raises :class:`CurriculumError` for spec, data and resume
    problems, and E450 when the loss diverges (after keeping the last checkpoint)."""
    recipe = Recipe(plan, request)
    try:
        if not recipe.setup():
            return Outcome(recipe.folder, None, recipe.world.is_main)
        summary = recipe.train()
        recipe.save(summary)
        return Outcome(recipe.folder, summary, recipe.world.is_main)
    finally:
        recipe.cleanup()
