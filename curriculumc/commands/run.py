"""``curriculumc run SPEC [key=value ...]``: train the model a curriculum describes.

Compiles the spec (or reads a ``plan.json``) and hands it to the training recipe
(:mod:`curriculumc.runtime.train.recipe`), which writes everything to
``runs/<name>-<plan hash[:8]>/`` (see :mod:`curriculumc.runtime.train.run_folder`); then
prints the final model's minimal-pair tables.

``torchrun --nproc_per_node N -m curriculumc run SPEC`` runs the same on N processes.

SIGTERM or Ctrl-C finishes the current step, writes a checkpoint and exits 143 / 130,
printing the command that resumes; SIGUSR1 writes a checkpoint and goes on (see
:mod:`curriculumc.runtime.train.trainer`).
Torch and transformers are imported inside :func:`run` only.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from curriculumc.cli import EXIT_OK, EXIT_USAGE
from curriculumc.commands.arguments import (
    add_cache_option,
    add_control_option,
    add_device_option,
    add_spec_arguments,
    load_spec,
    usage_error,
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``run`` and its arguments."""
    parser = subparsers.add_parser(
        "run",
        help="train a model on a curriculum",
        description="Compile a curriculum and train it: model, metrics.jsonl, checkpoints "
        "and the final model in runs/<name>-<plan hash>/. A plan.json may be given instead "
        "of a spec.",
    )
    add_control_option(
        parser,
        "train the matched control instead: the same plan with a random order (run name "
        "gets -control); warns when its words or tokens differ from the curriculum's by "
        "more than 2%%",
    )
    parser.add_argument(
        "--no-exposure-check",
        dest="exposure_check",
        action="store_false",
        help="with --control: skip comparing its exposure with the curriculum's "
        "(sweep compares them once per pair)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue from the newest intact checkpoint of this run with good losses; "
        "train.lr, train.warmup and train.clip may differ (e.g. after a divergence)",
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
    add_device_option(parser)
    parser.add_argument("--compile", action="store_true", help="use torch.compile")
    parser.add_argument("--wandb", action="store_true", help="log to wandb")
    parser.add_argument("--quiet", action="store_true", help="print only what matters")
    add_cache_option(parser)
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
    (exit 1); a diverging loss raises E450 (exit 1) after keeping the last checkpoint; a run
    stopped by SIGTERM/SIGINT exits 128 + the signal (143/130) with a checkpoint."""
    import curriculumc

    spec_path = Path(args.file)
    if spec_path.suffix == ".json":
        if args.overrides:
            return usage_error("run", "key=value overrides apply to specs, not to a plan.json")
        plan = curriculumc.load_plan(spec_path)
    else:
        plan = load_spec(args, "run")
        if plan is None:
            return EXIT_USAGE
    name = args.name or spec_path.stem
    if args.control:
        curriculum, plan = plan, curriculumc.make_control(plan, args.control)
        name += "-control"
        if args.exposure_check:
            _check_exposure(curriculum, plan, args)
    return train_plan(plan, args, name=name, spec_path=spec_path)


def _check_exposure(curriculum, control, args: argparse.Namespace) -> None:
    """Before training a control: warn (stderr, rank 0) when its exposure differs from
    its curriculum's. Prepares the data the run prepares next (cached); never fails."""
    import os
    import sys

    if os.environ.get("RANK", "0") != "0":  # torchrun: rank 0 speaks for all
        return
    from curriculumc.runtime.data.prepare import default_cache_dir
    from curriculumc.runtime.experiments.simulate import check_control_exposure

    cache_dir = args.cache_dir if args.cache_dir is not None else default_cache_dir()
    warning = check_control_exposure(curriculum, control, cache_dir=cache_dir)
    if warning:
        print(warning, file=sys.stderr, flush=True)


def train_plan(plan, args: argparse.Namespace, *, name: str, spec_path: Path | None) -> int:
    """Run ``plan`` with the recipe as ``args`` ask; print the outcome (rank 0)."""
    from curriculumc.runtime.train.recipe import RunRequest
    from curriculumc.runtime.train.recipe import run as run_recipe
    from curriculumc.views.timeline import plot_timeline

    request = RunRequest(
        name=name,
        runs_dir=Path(args.runs_dir),
        spec_path=spec_path,
        overrides=tuple(getattr(args, "overrides", ()) or ()),
        resume=args.resume,
        force=args.force,
        device=args.device,
        compile=args.compile,
        wandb=args.wandb,
        quiet=args.quiet,
        cache_dir=args.cache_dir,
        stop_after=args.stop_after,
        draw_timeline=plot_timeline,
    )
    outcome = run_recipe(plan, request)
    if not outcome.is_main:
        return EXIT_OK
    folder, summary = outcome.folder, outcome.summary
    if summary is None:
        print(f"{folder.root}: already trained ({outcome.steps} steps); nothing to do")
        return EXIT_OK
    losses = "  ".join(f"{k} {v:.4f}" for k, v in summary["final_metrics"].items())
    if outcome.exit_signal is not None:
        import sys

        print(
            f"interrupted by {summary['interrupted']} at step {summary['steps']} of "
            f"{outcome.steps}: saved {folder.step_checkpoint(summary['steps'])}\n"
            f"resume with: {resume_command(args)}",
            file=sys.stderr,
            flush=True,
        )
        return 128 + outcome.exit_signal
    if summary["finished"]:
        _print_final_evals(folder)
        print(f"done: {folder.root} ({summary['wall_s']:.0f}s, {losses})")
    else:
        print(
            f"stopped at step {summary['steps']} of {outcome.steps}: {folder.root} "
            f"({losses}); --resume continues"
        )
    return EXIT_OK


def resume_command(args: argparse.Namespace) -> str:
    """The command line that continues this run: the same spec, overrides and options, with
    ``--resume`` (under torchrun, prefix the same torchrun options)."""
    import shlex

    words = ["curriculumc", "run", "--resume"]
    if args.control:
        words += ["--control", args.control]
    if not args.exposure_check:
        words.append("--no-exposure-check")
    words += ["--runs-dir", str(args.runs_dir)]
    for option in ("name", "device", "cache_dir", "config_dir", "stop_after"):
        value = getattr(args, option, None)
        if value is not None:
            words += [f"--{option.replace('_', '-')}", str(value)]
    words += [f"--{flag}" for flag in ("compile", "wandb", "quiet") if getattr(args, flag)]
    return shlex.join([*words, str(args.file), *(getattr(args, "overrides", ()) or ())])


def _print_final_evals(folder) -> None:
    """The final model's minimal-pair results, per paradigm (written by the trainer)."""
    import json

    from curriculumc.cli import console as cli_console
    from curriculumc.runtime.evaluate.evaluation import PairResult, result_tables

    for path in folder.final_eval_results():
        result = PairResult.from_json(json.loads(path.read_text(encoding="utf-8")))
        cli_console().print(result_tables(result))
