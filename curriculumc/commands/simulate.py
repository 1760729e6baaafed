"""``curriculumc simulate FILE [key=value ...] [--control random] [-o exposure.png] [--json
out.json]``: what a curriculum will show the model, without a model.

Prepares the data, scores it by the plan's sort and runs the trainer's own sampler over
every step, then reports words seen (against the BabyLM budgets), unique examples seen,
draws per difficulty decile and tenth of training, each source's share over time and the
step by which every example has been seen, and each evaluation's runs and pairs (as
``explain`` counts them: ``Plan.evaluation_steps``, ``registry.eval_items``). With
``--control random`` it simulates the matched control too and sets both side by side
(words, tokens, draws, unique examples, coverage per epoch, the difference), with the
warning ``run --control`` would print. No torch, transformers or datasets import.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from curriculumc.cli import EXIT_OK, EXIT_USAGE
from curriculumc.commands.arguments import (
    add_cache_option,
    add_control_option,
    add_spec_arguments,
    load_spec,
    usage_error,
)
from curriculumc.errors import CurriculumError
from curriculumc.files import write_atomic


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``simulate`` and its arguments."""
    parser = subparsers.add_parser(
        "simulate",
        help="simulate what a curriculum draws, step by step, without a model",
        description="Prepare the data, score it by the spec's sort and run the trainer's "
        "sampler over the whole schedule: words seen against the BabyLM budgets, unique "
        "examples, draws per difficulty decile over training, sources over time.",
    )
    parser.add_argument("-o", "--output", type=Path, default=None, metavar="FILE",
                        help="write the exposure picture (.png)")  # fmt: skip
    parser.add_argument("--json", type=Path, default=None, metavar="FILE",
                        help="write the numbers as JSON to FILE")  # fmt: skip
    add_control_option(
        parser,
        "simulate the matched control too (the same plan with a random order) and compare "
        "words, tokens, draws and coverage side by side",
    )
    add_cache_option(parser)
    parser.add_argument(
        "--width", type=int, default=None, help="table width in columns (default: terminal's)"
    )
    add_spec_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Simulate the spec; returns the exit code.

    Spec and data errors propagate as ``CurriculumError`` (exit 1); an output path that
    cannot be written is E390.
    """
    if args.output is not None and args.output.suffix.lower() != ".png":
        return usage_error("simulate", f"the picture must be a .png file, not {str(args.output)!r}")
    plan = load_spec(args, "simulate")
    if plan is None:
        return EXIT_USAGE
    import curriculumc
    from curriculumc.cli import console as cli_console
    from curriculumc.runtime.data.prepare import default_cache_dir, prepare_data
    from curriculumc.runtime.experiments import simulate

    started = time.perf_counter()
    # the same data, caches and tokenizer as a run; its transformers tokenizer is never loaded
    cache_dir = args.cache_dir if args.cache_dir is not None else default_cache_dir()
    corpus = prepare_data(plan, cache_dir=cache_dir).corpus
    result = simulate.simulate_plan(plan, corpus, cache_dir=cache_dir)
    gap = None
    if args.control:
        control = curriculumc.make_control(plan, args.control)
        gap = simulate.simulate_pair(plan, control, corpus, cache_dir=cache_dir, curriculum=result)
    elapsed = time.perf_counter() - started
    console = cli_console(width=args.width, highlight=False, soft_wrap=False)
    evaluations = simulate.evaluation_summary(result.plan)  # in steps: resolved if need be
    console.print(simulate.render_table(result, evaluations))
    if gap is not None:
        console.print(simulate.render_gap_table(gap))
    what = " of the curriculum and its control" if gap is not None else ""
    console.print(f"simulated {result.steps:,} steps{what} in {elapsed:.1f} s", style="dim")
    try:
        if args.output is not None:
            written = simulate.save_figure(result, args.output)
            print(f"wrote {written}", file=sys.stderr)
        if args.json is not None:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            data = result.to_dict()
            data["evaluations"] = evaluations  # runs and pairs, as explain counts them
            if gap is not None:  # the curriculum's figures stay at the top level
                data["control"] = gap.control.to_dict()
                data["control_gap"] = gap.to_dict()
            write_atomic(args.json, json.dumps(data, indent=2) + "\n")
            print(f"wrote {args.json}", file=sys.stderr)
    except OSError as exc:
        raise CurriculumError.single(
            "E390", f"cannot write the simulation output: {exc}", hint="check the path"
        ) from None
    return EXIT_OK
