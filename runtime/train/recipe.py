"""The training recipe: what ``curriculumc run`` does with a plan, start to end.

In torchtune's shape -- :meth:`Recipe.setup`, :meth:`Recipe.train`, :meth:`Recipe.save`,
:meth:`Recipe.cleanup` -- and :func:`run`, which calls them in that order::

    setup    processes (torchrun), the run folder (locked: one process trains a folder at
             a time; resume or refuse, plan.json, spec, timeline.png), the data (prepared
             once, rank 0 first), the initial order, times counted in data resolved to
             steps (``times.json``), the held-out texts, the Trainer
    train    Trainer.train(): the loop, evaluations, checkpoints
    save     a stopped run (--stop-after, SIGTERM/SIGINT) keeps a checkpoint to resume from
    cleanup  logs, progress display, the process group

The command line (:mod:`curriculumc.commands.run`) only parses arguments, compiles the
spec and prints the outcome. Every rule about the run folder is in
:mod:`~curriculumc.runtime.train.run_folder`.

``--resume`` continues from the newest checkpoint that is intact (its manifest's sha256s
match: a damaged one is passed over, saying why) and good (its losses were not exploding:
:func:`~curriculumc.runtime.train.checkpoint.verdict`); with no good one it starts over
at step 0. It refuses a different plan (E420) -- except ``train.lr``, ``train.warmup`` and
``train.clip``, which may change (the way past a divergence); the changes are printed and
recorded in ``metrics.jsonl`` (``"event": "resumed"``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from curriculumc import registry
from curriculumc.errors import CurriculumError
from curriculumc.plan import Plan
from curriculumc.runtime.data.prepare import (
    data_report_text,
    default_cache_dir,
    dev_split,
    prepare_data,
)
from curriculumc.runtime.data.progress import DataProgress
from curriculumc.runtime.ordering.clock import (
    resolution_lines,
    resolution_record,
    resolve_plan,
)
from curriculumc.runtime.ordering.order import initial_order
from curriculumc.runtime.ordering.scorers.reference_ppl import example_texts
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
    steps: int | None = None  # the training's length in steps (resolved from words if need be)

    @property
    def exit_signal(self) -> int | None:
        """The signal number that stopped the run early (SIGTERM, SIGINT), or None."""
        import signal

        name = (self.summary or {}).get("interrupted")
        return int(signal.Signals[name]) if name else None


class Recipe:
    """One run of ``plan`` as ``request`` asks (see the module docstring)."""

    def __init__(self, plan: Plan, request: RunRequest):
        self.plan = plan  # as compiled; resolved against the data in setup (times in words)
        self.written = plan
        self.resolution: tuple = ()
        self.request = request
        self.world = None
        self.trainer = None
        self.notes: tuple[str, ...] = ()
        self.resume_from: Path | None = None
        self.resume_changes: dict = {}
        self.lock: rf.RunLock | None = None
        self.folder = rf.RunFolder(Path(request.runs_dir) / rf.folder_name(request.name, plan.hash))

    # --- setup ---------------------------------------------------------------------------

    def setup(self) -> bool:
        """Processes, folder, data, order and trainer; False when the run is already
        trained to its last step (nothing to do)."""
        plan, request = self.plan, self.request
        self.world = world = distributed.setup(request.device)
        if world.is_main:  # before anything reads or writes the folder
            self.lock = rf.RunLock(self.folder).acquire()
        if request.resume and world.is_main:  # what a process killed mid-write left behind
            ckpt.remove_partial(self.folder.checkpoints)
            ckpt.remove_partial(self.folder.root)
        self.resume_from = self._resume_point(announce=world.is_main)
        if self._trained(plan):  # (a length in words is known once resolved, below)
            return False
        if world.is_main:
            self._prepare_folder()
        distributed.barrier(world)

        cache_dir = request.cache_dir if request.cache_dir is not None else default_cache_dir()
        # every data stage with an ETA on rank 0 (a summary line each; nothing when quiet)
        stages = DataProgress.for_run(quiet=request.quiet or not world.is_main)
        data = self._on_main_first(
            lambda: prepare_data(
                plan, cache_dir=cache_dir, need_pos=needs_pos(plan), progress=stages
            )
        )
        if world.is_main and not request.quiet:
            print(data_report_text(data.summary), file=sys.stderr)

        def order():
            return initial_order(
                plan,
                data.corpus,
                cache_dir=cache_dir,
                texts=lambda: example_texts(data),  # reference_ppl reads the text
                quiet=request.quiet or not world.is_main,
            )

        if plan.sort is None or not plan.sort.terms:
            start = self._on_main_first(order)
        else:
            with stages.stage("scoring", None, unit="examples") as scoring:
                start = self._on_main_first(order)
                scoring.update(len(data.corpus))
        self.notes = start.notes
        if world.is_main:
            for note in self.notes:
                print(note, file=sys.stderr)
        if plan.needs_data_clock:
            plan = self._resolve(data.corpus, start)
            if self._trained(plan):
                return False
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
            resume_changes=self.resume_changes or None,
            written_plan=self.written,
            milestone_names=self._milestone_names(),
        )
        self.trainer = Trainer(plan, data, start.order, options, world, keys=start.keys)
        self.trainer.setup()
        return True

    def _trained(self, plan: Plan) -> bool:
        """Whether the checkpoint to resume from has trained every step of ``plan``."""
        if self.resume_from is None or plan.needs_data_clock:
            return False
        return ckpt.read_state(self.resume_from)["step"] >= plan.train.steps

    def _resolve(self, corpus, start) -> Plan:
        """The plan in steps: every time counted in data resolved from the sampler's
        draws (:mod:`~curriculumc.runtime.ordering.clock`), recorded in ``times.json``
        and said in a line; the timeline drawn from it. Every rank resolves the same."""
        resolved, self.resolution = resolve_plan(self.plan, corpus, start.order, keys=start.keys)
        self.plan = resolved
        if self.world.is_main:
            rf.write_times(self.folder, resolution_record(resolved, self.resolution))
            if not self.request.quiet:
                for line in resolution_lines(self.resolution):
                    print(line, file=sys.stderr)
            self._draw_timeline(resolved)
        return resolved

    def _milestone_names(self) -> dict[int, str]:
        """``{step: revision name}`` of the checkpoints at word counts (``chck_1M``)."""
        return {e.step: e.name for e in self.resolution if e.name and e.step is not None}

    def _draw_timeline(self, plan: Plan) -> None:
        folder, request = self.folder, self.request
        resuming = self.resume_from is not None
        if request.draw_timeline is not None and (not resuming or not folder.timeline.is_file()):
            try:
                request.draw_timeline(plan, folder.timeline)
            except Exception as exc:  # a picture must never stop a training run
                print(f"timeline.png not drawn: {type(exc).__name__}: {exc}", file=sys.stderr)

    def _resume_point(self, *, announce: bool) -> Path | None:
        """The checkpoint to continue from (None: start fresh).

        With ``resume``: this plan's newest intact, good checkpoint (see the module
        docstring); if this plan has none but an earlier run of the same name does, its
        plan must equal this one but for ``train.lr/warmup/clip`` (E420 with the diff)
        unless ``force``. E430 when every checkpoint there is damaged.
        """
        request = self.request
        if not request.resume:
            return None
        say = (lambda line: print(line, file=sys.stderr)) if announce else None
        found = None
        for run_dir in [self.folder.root, *rf.find_previous(Path(request.runs_dir), request.name)]:
            if run_dir != self.folder.root and run_dir.resolve() == self.folder.root.resolve():
                continue
            if not ckpt.candidates(run_dir):
                continue
            found = self._usable_checkpoint(run_dir, say)
            break
        if found is None:
            if announce:
                print(
                    f"nothing to resume for {request.name}: starting from step 0", file=sys.stderr
                )
            return None
        if not request.force:
            old = (found / rf.PLAN_FILE).read_text(encoding="utf-8")
            self.resume_changes = rf.refuse_different_plan(old, self.plan.to_json(), found)
            if self.resume_changes and announce:
                shown = ", ".join(f"{k} {a} -> {b}" for k, (a, b) in self.resume_changes.items())
                print(f"resuming from {found} with changed settings: {shown}", file=sys.stderr)
        if announce:
            print(f"resuming from {found}", file=sys.stderr)
        return found

    @staticmethod
    def _usable_checkpoint(run_dir: Path, say) -> Path | None:
        """The newest intact and good checkpoint of ``run_dir`` (None: none is good, start
        over); E430 when every one is damaged."""
        found, skipped = ckpt.newest_intact(run_dir, good_only=True, report=say)
        if found is not None:
            return found
        intact, _ = ckpt.newest_intact(run_dir)
        if intact is None:
            raise CurriculumError.single(
                "E430",
                f"cannot resume {run_dir}: every checkpoint is damaged:\n  " + "\n  ".join(skipped),
                hint="--force without --resume starts the run over",
            )
        if say is not None:
            say(f"no checkpoint of {run_dir} has good losses")
        return None

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
        if not self.plan.needs_data_clock:  # else drawn once its times are resolved
            self._draw_timeline(self.plan)

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
        limit = max((e.limit or registry.PPL_TEXTS) for e in wanted)
        return tuple(load_texts(path, limit=limit, column=column))

    # --- train, save, cleanup ------------------------------------------------------------

    def train(self) -> dict:
        """Train from the current step (after the cost estimate); returns the summary."""
        if self.world.is_main and not self.request.quiet:
            for line in self.cost_lines():
                print(line, file=sys.stderr)
        return self.trainer.train()

    def cost_lines(self) -> list[str]:
        """The estimated time of training and of evaluation on this machine, after a
        quick calibration of the model (:mod:`~curriculumc.runtime.train.costs`: a few
        steps of a copy at the plan's batch shape, ~1-3 s), with a warning when
        evaluation would take longer than training. An estimate never stops a run: a
        failure is one line saying why."""
        from curriculumc.runtime.train import costs

        trainer = self.trainer
        try:
            stop = self.request.stop_after
            end = self.plan.train.steps if stop is None else min(stop, self.plan.train.steps)
            sizes = costs.eval_sizes(
                self.plan,
                trainer.tokenizer,
                start=trainer.step,
                end=end,
                dev_texts=trainer.options.dev_texts,
                cache_dir=trainer.options.cache_dir,
            )
            width = costs.typical_width(sizes, self.plan.model.family)
            sample = [text for size in sizes for text in size.sample]
            calibration = costs.calibrate(
                trainer, step=trainer.step, sentences=sample, eval_width=width
            )
            found = costs.estimate(self.plan, calibration, sizes, start=trainer.step, end=end)
            return costs.estimate_lines(found, calibration)
        except Exception as exc:  # noqa: BLE001 - an estimate must never stop a run
            return [f"no cost estimate: {type(exc).__name__}: {exc}"]

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
        if self.lock is not None:
            # a run that wrote nothing (already trained, refused) leaves no empty folder
            root = self.folder.root
            if [p.name for p in root.iterdir()] == [rf.LOCK_FILE]:
                (root / rf.LOCK_FILE).unlink(missing_ok=True)
                root.rmdir()
            self.lock.release()
            self.lock = None


def run(plan: Plan, request: RunRequest) -> Outcome:
    """Run ``plan``: setup, train, save, cleanup. Returns what happened (on every rank;
    only rank 0 writes). Raises :class:`CurriculumError` for spec, data and resume
    problems, and E450 when the loss diverges (after keeping the last checkpoint)."""
    recipe = Recipe(plan, request)
    try:  # (a CurriculumError E424 when another process trains this folder)
        if not recipe.setup():
            return Outcome(recipe.folder, None, recipe.world.is_main, recipe.plan.train.steps)
        summary = recipe.train()
        recipe.save(summary)
        failed = recipe.trainer.eval_outcomes.error()  # an evaluation that never worked
        if failed is not None and recipe.world.is_main:
            raise failed
        return Outcome(recipe.folder, summary, recipe.world.is_main, recipe.plan.train.steps)
    finally:
        recipe.cleanup()
