"""``curriculumc run SPEC [key=value ...]``: train the model a curriculum describes.

Compiles the spec (or reads a ``plan.json``), prepares the data, orders it by difficulty
and runs :class:`curriculumc.runtime.train.trainer.Trainer`, writing everything to
``runs/<name>-<plan hash[:8]>/`` (see :mod:`curriculumc.runtime.train.run_folder`).

``torchrun --nproc_per_node N -m curriculumc run SPEC`` runs the same on N processes.
Torch and transformers are imported inside :func:`run` only.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from curriculumc.cli import EXIT_OK
from curriculumc.commands.explain import add_spec_arguments, load_spec, usage_error
from curriculumc.errors import CurriculumError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``run`` and its arguments."""
    parser = subparsers.add_parser(
        "run",
        help="train a model on a curriculum",
        description="Compile a curriculum and train it: model, metrics.jsonl, checkpoints "
        "and the final model in runs/<name>-<plan hash>/. A plan.json may be given instead "
        "of a spec.",
    )
    parser.add_argument(
        "--control",
        metavar="SCORER",
        choices=("random",),
        default=None,
        help="train the matched control instead: the same plan with a random order "
        "(run name gets -control)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue from the newest complete checkpoint of this run",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="with --resume: continue even if the plan changed; without: start over, "
        "deleting the run folder's earlier results",
    )
    parser.add_argument(
        "--runs-dir", type=Path, default=Path("runs"), help="where run folders go (runs/)"
    )
    parser.add_argument("--name", default=None, help="run name (default: the spec file's stem)")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1, mps (default: best)")
    parser.add_argument("--compile", action="store_true", help="use torch.compile")
    parser.add_argument("--wandb", action="store_true", help="log to wandb")
    parser.add_argument("--quiet", action="store_true", help="print only what matters")
    parser.add_argument(
        "--cache-dir", type=Path, default=None, help="data and score caches (default: .cache/)"
    )
    parser.add_argument(
        "--stop-after",
        type=int,
        metavar="N",
        default=None,
        help="stop after N steps with a checkpoint (e.g. a job's time limit); --resume goes on",
    )
    add_spec_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Train; returns the exit code. Spec, data and resume problems raise CurriculumError
    (exit 1); a diverging loss raises E450 (exit 1) after keeping the last checkpoint."""
    import curriculumc

    spec_path = Path(args.file)
    if spec_path.suffix == ".json":
        if args.overrides:
            return usage_error("run", "key=value overrides apply to specs, not to a plan.json")
        plan = curriculumc.load_plan(spec_path)
    else:
        plan = load_spec(args, "run")
        if plan is None:
            return 2
    name = args.name or spec_path.stem
    if args.control:
        plan = curriculumc.make_control(plan, args.control)
        name += "-control"
    return train_plan(plan, args, name=name, spec_path=spec_path)


def train_plan(plan, args: argparse.Namespace, *, name: str, spec_path: Path | None) -> int:
    """Run ``plan`` as ``run`` does (set up processes, run folder, data, trainer)."""
    from curriculumc.runtime.train import checkpoint as ckpt
    from curriculumc.runtime.train import distributed
    from curriculumc.runtime.train import run_folder as rf
    from curriculumc.runtime.train.trainer import RunOptions, Trainer

    world = distributed.setup(args.device)
    try:
        folder = rf.RunFolder(Path(args.runs_dir) / rf.folder_name(name, plan.hash))
        if args.resume and world.is_main:  # what a process killed mid-write left behind
            ckpt.remove_partial(folder.checkpoints)
            ckpt.remove_partial(folder.root)
        resume_from = _resume_point(plan, folder, args, name, announce=world.is_main)
        if resume_from is not None and ckpt.read_state(resume_from)["step"] >= plan.train.steps:
            if world.is_main:
                print(f"{folder.root}: already trained ({plan.train.steps} steps); nothing to do")
            return EXIT_OK
        if world.is_main:
            _prepare_folder(plan, folder, args, spec_path, resuming=resume_from is not None)
        distributed.barrier(world)

        cache_dir = args.cache_dir
        data = _on_main_first(world, lambda: _prepare_data(plan, cache_dir))
        order, notes = _on_main_first(world, lambda: _initial_order(plan, data.corpus, cache_dir))
        if world.is_main:
            for note in notes:
                print(note, file=sys.stderr)
        options = RunOptions(
            run_dir=folder.root,
            resume_from=resume_from,
            device=world.device,
            compile=args.compile,
            wandb=args.wandb,
            quiet=args.quiet,
            run_name=folder.root.name,
            cache_dir=cache_dir,
            dev_texts=_dev_texts(plan, cache_dir),
            stop_after=args.stop_after,
        )
        trainer = Trainer(plan, data, order, options, world)
        try:
            trainer.setup()
            summary = trainer.train()
            if (
                not summary["finished"]
                and not (folder.checkpoints / f"step-{trainer.step}").is_dir()
            ):
                trainer.save_checkpoint(folder.checkpoints / f"step-{trainer.step}")
        finally:
            trainer.cleanup()
        if world.is_main:
            summary["run_dir"] = str(folder.root)
            summary["scoring_notes"] = notes
            if resume_from is not None:
                summary["resumed_from"] = str(resume_from)
            rf.write_summary(folder, summary)
            if plan.output.push_to_hub:
                print(rf.push_to_hub(folder.final, plan.output.push_to_hub))
            losses = "  ".join(f"{k} {v:.4f}" for k, v in summary["final_metrics"].items())
            if summary["finished"]:
                _print_final_evals(folder)
                print(f"done: {folder.root} ({summary['wall_s']:.0f}s, {losses})")
            else:
                print(
                    f"stopped at step {summary['steps']} of {plan.train.steps}: {folder.root} "
                    f"({losses}); --resume continues"
                )
        return EXIT_OK
    finally:
        distributed.cleanup(world)


def _resume_point(plan, folder, args, name: str, *, announce: bool = True) -> Path | None:
    """The checkpoint to continue from (None: start fresh).

    With ``--resume``: this plan's newest checkpoint; if this plan has none but an earlier
    run of the same name does, its plan must equal this one (E420 with the diff) unless
    ``--force``.
    """
    from curriculumc.runtime.train import checkpoint as ckpt
    from curriculumc.runtime.train import run_folder as rf

    if not args.resume:
        return None
    found = ckpt.latest(folder.root)
    if found is None:
        for previous in rf.find_previous(Path(args.runs_dir), name):
            found = ckpt.latest(previous)
            if found is not None:
                break
    if found is None:
        if announce:
            print(f"nothing to resume for {name}: starting from step 0", file=sys.stderr)
        return None
    old = (found / "plan.json").read_text(encoding="utf-8")
    if not args.force:
        rf.refuse_different_plan(old, plan.to_json(), found)
    return found


def _prepare_folder(plan, folder, args, spec_path, *, resuming: bool) -> None:
    from curriculumc.runtime.train import run_folder as rf

    has_results = folder.metrics.is_file() or folder.checkpoints.is_dir() or folder.final.is_dir()
    if has_results and not resuming:
        if not (args.force or args.resume):  # --resume with no checkpoint: start afresh
            raise CurriculumError.single(
                "E423",
                f"{folder.root} already holds a run of this plan",
                hint="--resume to continue it, --force to start over, or --name for a new name",
            )
        rf.clear(folder)
    overrides = dict(item.partition("=")[::2] for item in getattr(args, "overrides", ()) or ())
    rf.create(folder, plan_json=plan.to_json(), spec_path=spec_path, overrides=overrides)
    if not resuming or not folder.timeline.is_file():
        note = rf.draw_timeline(plan, folder)
        if note:
            print(note, file=sys.stderr)


def _print_final_evals(folder) -> None:
    """The final model's minimal-pair results, per paradigm (written by the trainer)."""
    import json

    from curriculumc.cli import console as cli_console
    from curriculumc.runtime.evaluate.evaluation import PairResult, result_tables

    for path in sorted((folder.root / "eval").glob("*_final.json")):
        result = PairResult.from_json(json.loads(path.read_text(encoding="utf-8")))
        cli_console().print(result_tables(result))


def _on_main_first(world, make):
    """Run ``make`` on rank 0 first (it fills the caches), then on the others (cache hits)."""
    from curriculumc.runtime.train import distributed

    result = make() if world.is_main else None
    distributed.barrier(world)
    return result if world.is_main else make()


def _prepare_data(plan, cache_dir):
    from curriculumc.runtime.data.prepare import prepare_data
    from curriculumc.runtime.train.objectives import needs_pos

    return prepare_data(plan, cache_dir=cache_dir, need_pos=needs_pos(plan))


def _initial_order(plan, corpus, cache_dir):
    """``(order, notes)``: example indices easiest first (None for a self-paced sort, which
    the trainer scores) and the scorers' warnings as text (e.g. examples of sources that
    ``source(...)`` does not name), for the run summary."""
    import numpy as np

    from curriculumc.runtime.ordering.scorers import difficulty_order, score_sort
    from curriculumc.runtime.ordering.scorers.model_ppl import is_self_paced

    if plan.sort is None or not plan.sort.terms:
        return np.arange(len(corpus), dtype=np.int64), []
    if is_self_paced(plan.sort):
        return None, []
    scores = score_sort(plan.sort, corpus, cache_dir=cache_dir, seed=plan.train.seed)
    notes = [f"warning[{d.code}]: {d.message}" for d in scores.notes]
    return difficulty_order(scores.values, plan.sort.descending), notes


def _dev_texts(plan, cache_dir) -> tuple[str, ...] | None:
    """Held-out texts for ``eval ppl``: the synth corpus's dev split, or a ``dev``/
    ``validation`` file next to a ``train`` file; None when there is none."""
    if not any(e.name == "ppl" and not e.path for e in plan.evals):
        return None
    from curriculumc.runtime.evaluate.evaluation import load_texts

    options = dict(plan.data.options)
    limit = max((e.limit or 1000) for e in plan.evals if e.name == "ppl")
    if plan.data.kind == "registered" and plan.data.source == "synth":
        from curriculumc.runtime.data.readers import synth_paths

        return tuple(load_texts(synth_paths(plan.data, cache_dir=cache_dir).dev, limit=limit))
    if plan.data.kind == "path":
        source = Path(plan.data.source)
        if source.is_file() and "train" in source.name:
            for word in ("dev", "validation", "valid"):
                candidate = source.with_name(source.name.replace("train", word))
                if candidate.is_file():
                    column = str(options.get("text_field", "text"))
                    return tuple(load_texts(candidate, limit=limit, column=column))
    return None
