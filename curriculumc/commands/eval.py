"""``curriculumc eval``: minimal-pair accuracy (BLiMP) and dev perplexity of a model.

    curriculumc eval RUN_OR_MODEL_DIR --blimp PATH_OR_ID [--limit N] [--json OUT]
                     [--ties strict|babylm] [--pll pll|pll-word-l2r]
                     [--dev FILE] [--batch-tokens N] [--device cpu|cuda] [--quiet]

``--blimp`` (or ``--pairs``) also reads the BabyLM 2025 pipeline's other zero-shot
folders (BLiMP supplement, EWoK, entity tracking, WUG, COMPS) by their own field names
(:mod:`curriculumc.runtime.evaluate.minimal_pairs`). ``--ties`` picks the headline tie
rule (``babylm``: a tie counts as correct, as in the pipeline); the JSON carries both.

Prints per-paradigm, per-field and summary tables and writes the JSON of
:meth:`PairResult.to_json` (plus ``model`` and, with ``--dev``, ``perplexity``). Given a
run folder and no ``--json``, the JSON goes to ``RUN/eval/<pairs>_<checkpoint>.json``.
While scoring, a progress bar with an ETA on a terminal, plain progress lines elsewhere
(:mod:`curriculumc.runtime.evaluate.progress`), nothing with ``--quiet``.
torch and transformers are imported only inside :func:`run`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from curriculumc.commands.arguments import add_device_option, usage_error
from curriculumc.files import write_atomic


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``eval`` subcommand."""
    parser = subparsers.add_parser(
        "eval",
        help="score a model on minimal pairs (BLiMP) and a dev file",
        description="Score a trained model (a model folder or a run folder) on minimal pairs "
        "and, optionally, its (pseudo-)perplexity on a dev file.",
    )
    parser.add_argument("model", metavar="RUN_OR_MODEL_DIR", help="a run folder or a model folder")
    parser.add_argument(
        "--blimp",
        "--pairs",
        dest="blimp",
        metavar="PATH_OR_ID",
        help="folder of BLiMP-style .jsonl files, one .jsonl file, or a hub id ('blimp'); "
        "also the BabyLM pipeline's supplement, EWoK, entity tracking, WUG and COMPS folders",
    )
    parser.add_argument(
        "--ties",
        choices=("strict", "babylm"),
        default="strict",
        help="the headline accuracy's tie rule: strict (a tie is wrong, the default) or "
        "babylm (a tie is right, as in the BabyLM pipeline); the JSON carries both",
    )
    parser.add_argument(
        "--pll",
        choices=("pll", "pll-word-l2r"),
        default="pll",
        help="a masked model's pseudo-log-likelihood: pll (each token masked alone, "
        "Salazar et al. 2020; the default) or pll-word-l2r (also the later tokens of its "
        "word, Kauf & Ivanova 2023; minicons' within_word_l2r)",
    )
    parser.add_argument(
        "--limit", type=int, metavar="N", help="first N pairs of each paradigm (and N dev texts)"
    )
    parser.add_argument(
        "--dev",
        metavar="FILE",
        help="dev text: JSON Lines (.jsonl/.json/.ndjson, also .gz) with 'text', or plain lines",
    )
    parser.add_argument(
        "--dev-limit", type=int, metavar="N", help="first N dev texts (default: --limit)"
    )
    parser.add_argument("--json", metavar="OUT", help="where to write the JSON result")
    parser.add_argument(
        "--batch-tokens",
        type=int,
        default=8192,
        metavar="N",
        help="rows x padded length per forward pass (default 8192)",
    )
    add_device_option(parser)
    parser.add_argument(
        "--quiet", action="store_true", help="no progress output while scoring, only the results"
    )
    columns = parser.add_argument_group("column names of the pair files")
    columns.add_argument("--good-column", default="sentence_good")
    columns.add_argument("--bad-column", default="sentence_bad")
    columns.add_argument(
        "--paradigm-column",
        metavar="NAME",
        help="default: 'UID' where present, else the file name; a named column must be there",
    )
    columns.add_argument(
        "--field-column",
        metavar="NAME",
        help="default: 'field' where present, else 'unknown'; a named column must be there",
    )
    columns.add_argument(
        "--pair-id-column",
        metavar="NAME",
        help="default: 'pairID' or 'pair_id' where present, else the line index; a named "
        "column must be there",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Evaluate and report; returns 0, or raises CurriculumError (exit 1)."""

    from curriculumc.errors import CurriculumError

    if not args.blimp and not args.dev:
        return usage_error("eval", "give --blimp and/or --dev")
    for name in ("limit", "dev_limit", "batch_tokens"):
        value = getattr(args, name)
        if value is not None and value < 1:
            return usage_error("eval", f"--{name.replace('_', '-')} must be >= 1")

    from curriculumc.runtime.evaluate.evaluation import load_texts, resolve_model_dir
    from curriculumc.runtime.evaluate.minimal_pairs import PairFormat, load_pairs

    # read every input before the (slow) model load, so that a typo fails at once
    model_dir = resolve_model_dir(args.model)
    pairs = None
    if args.blimp:
        fmt = PairFormat(
            good=args.good_column,
            bad=args.bad_column,
            paradigm=args.paradigm_column,
            field=args.field_column,
            pair_id=args.pair_id_column,
        )
        pairs = load_pairs(args.blimp, fmt=fmt, limit=args.limit)
    dev_limit = args.dev_limit if args.dev_limit is not None else args.limit
    texts = load_texts(args.dev, limit=dev_limit) if args.dev else None

    from transformers.utils import logging as transformers_logging

    from curriculumc.cli import console as cli_console
    from curriculumc.runtime.evaluate.evaluation import (
        PERPLEXITY_METRIC,
        evaluate_pairs,
        load_model_dir,
        perplexity,
        result_tables,
    )
    from curriculumc.runtime.evaluate.progress import eval_progress
    from curriculumc.runtime.train.distributed import pick_device

    transformers_logging.disable_progress_bar()  # a weight-loading bar per model is noise here
    device = pick_device(args.device)
    model, tokenizer, family = load_model_dir(model_dir)
    model.to(device)

    console = cli_console()
    output: dict = {"model": str(model_dir)}
    result = None
    if pairs is not None:
        with eval_progress(f"eval {pairs.name} ({len(pairs):,} pairs)", quiet=args.quiet) as bar:
            result = evaluate_pairs(
                model,
                tokenizer,
                pairs,
                family=family,
                batch_tokens=args.batch_tokens,
                device=device,
                progress=bar,
                ties=args.ties,
                pll=args.pll,
            )
        output.update(result.to_json())
    ppl = None
    if texts is not None:
        with eval_progress(f"dev {len(texts):,} texts", quiet=args.quiet) as bar:
            ppl = perplexity(
                model,
                tokenizer,
                texts,
                family=family,
                batch_tokens=args.batch_tokens,
                device=device,
                progress=bar,
            )
        kind = "pseudo-perplexity" if family == "masked" else "perplexity"
        output[PERPLEXITY_METRIC] = ppl
        output["perplexity"] = {"file": args.dev, "texts": len(texts), "kind": kind}

    if result is not None:
        console.print(result_tables(result, perplexity_value=ppl))
    else:
        label = "pseudo-perplexity" if family == "masked" else "perplexity"
        console.print(f"{label} on {args.dev} ({len(texts)} texts): {ppl:.2f}")

    out = _json_path(args, Path(args.model), model_dir, pairs)
    if out is not None:
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(out, _json_text(output))
        except OSError as exc:
            raise CurriculumError.single("E635", f"cannot write '{out}': {exc}") from exc
        console.print(f"wrote {out}")
    return 0


def _json_path(args: argparse.Namespace, given: Path, model_dir: Path, pairs) -> Path | None:
    """--json, else RUN/eval/<name>.json when a run folder was given, else nothing."""
    if args.json:
        return Path(args.json)
    if model_dir == given:
        return None  # a plain model folder: nowhere obvious to write
    from curriculumc.runtime.train.run_folder import RunFolder

    name = pairs.name if pairs is not None else "dev"
    return RunFolder(given).eval_result(name, model_dir.name, args.limit)


def _json_text(output: dict) -> str:
    """Indented JSON, except that each paradigm's entry (with its per-pair lists) is one line.

    (Indenting every list element would make BLiMP's 67,000 pairs into 270,000 lines.)
    """
    import json

    head = {key: value for key, value in output.items() if key != "paradigms"}
    text = json.dumps(head, indent=1)
    if "paradigms" not in output:
        return text + "\n"
    entries = ",\n".join(
        f"  {json.dumps(name)}: {json.dumps(entry, separators=(',', ':'))}"
        for name, entry in output["paradigms"].items()
    )
    return text[:-2] + ',\n "paradigms": {\n' + entries + "\n }\n}\n"
