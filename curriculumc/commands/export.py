"""``curriculumc export RUN -o DIR --format babylm [--name NAME] [--track T] [--push]
[--force]``: the run's final model and every checkpoint as Hugging Face folders named by
words seen (``chck_1M``, ...), in the BabyLM pipeline's layout, and the pipeline commands
to run on them; see :mod:`curriculumc.runtime.train.export`. ``--push`` pushes each
revision as a branch of the plan's ``push to hub org/name``. torch and transformers are
not needed: the checkpoints' files are copied."""

from __future__ import annotations

import argparse
from pathlib import Path

from curriculumc.cli import EXIT_ERROR, EXIT_OK
from curriculumc.commands.arguments import usage_error


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``export`` and its arguments."""
    parser = subparsers.add_parser(
        "export",
        help="write a run's checkpoints as BabyLM revisions (chck_1M, ...) for the pipeline",
        description="Write the final model and every checkpoint of a run as Hugging Face "
        "model folders DIR/<name>/<revision> (main, chck_1M, chck_2M, ... named by the "
        "words each had seen) plus a hub cache DIR/hub in which they are branches, print "
        "the BabyLM pipeline's commands for them, and with --push push each as a branch of "
        "the plan's `push to hub` repository.",
    )
    parser.add_argument("run_dir", metavar="RUN", type=Path, help="a run folder")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="DIR")
    parser.add_argument(
        "--format", choices=("babylm",), default="babylm", help="the layout (babylm)"
    )
    parser.add_argument(
        "--name",
        default=None,
        help="the model's name (default: the name of `push to hub`, else the run folder's)",
    )
    parser.add_argument(
        "--track",
        default="strict-small",
        help="the track the printed all-revisions command names (default strict-small)",
    )
    parser.add_argument(
        "--push",
        action="store_true",
        help="push every revision as a branch of the plan's `push to hub org/name`",
    )
    parser.add_argument("--force", action="store_true", help="replace a non-empty DIR")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Export, print what was written and the pipeline commands (and push)."""
    import sys

    from curriculumc.runtime.train import export as ex
    from curriculumc.runtime.train.run_folder import is_run_folder

    if not Path(args.run_dir).is_dir() or not is_run_folder(args.run_dir):
        return usage_error("export", f"{args.run_dir} is not a run folder")
    if args.name is not None and (not args.name or "/" in args.name or args.name.startswith(".")):
        return usage_error("export", f"--name {args.name!r}: give a plain folder name")
    repo = ex.plan_repo(args.run_dir)
    if args.push and not repo:
        return usage_error(
            "export", "--push needs `push to hub org/name` in the run's plan (there is none)"
        )
    try:
        result = ex.export_babylm(args.run_dir, args.output, model_name=args.name, force=args.force)
    except ex.ExportError as exc:
        print(f"curriculumc export: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    for line in result.skipped:
        print(f"skipped {line}")
    print(f"exported {len(result.revisions)} revision(s) of {args.run_dir} to {result.model_dir}:")
    width = max(len(r.name) for r in result.revisions)
    for rev in result.revisions:
        source = "final/" if rev.source == "final" else Path(rev.source).name + "/"
        print(
            f"  {rev.name:<{width}}  step {rev.step:>7}  {rev.words:>13,} words  "
            f"from {source:<14} {rev.why}"
        )
    print(f"hub cache (revisions as branches of {result.repo_id}): {result.hub_cache}")
    print("run from a clone of babylm/evaluation-pipeline-2025:")
    for line in ex.pipeline_commands(result, track=args.track):
        print(f"  {line}")
    if args.push:
        try:
            ex.push(result, repo)
        except ex.ExportError as exc:
            print(f"curriculumc export: error: {exc}", file=sys.stderr)
            return EXIT_ERROR
    return EXIT_OK
