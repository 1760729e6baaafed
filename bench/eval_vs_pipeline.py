"""Our BLiMP accuracy against the official BabyLM 2025 pipeline's, and our pll-word-l2r
against minicons' within_word_l2r. A measurement, not a test.

    .venv/bin/python bench/eval_vs_pipeline.py --pipeline PATH --model DIR
        [--blimp DIR] [--per-paradigm N] [--skip-pipeline]

``--pipeline``: a local copy of babylm/evaluation-pipeline-2025 -- a checkout, or a bare
git repository (its ``HEAD`` is then extracted with ``git archive`` into a temporary
folder). ``--model``: a masked model folder or a curriculumc run folder (its final model).
``--blimp``: the BLiMP ``.jsonl`` folder (default ``../shared/data/blimp``); the first
``--per-paradigm`` lines of every file are copied to a temporary folder (never into the
repository) that both evaluators read.

1. **The pipeline**, in its own environment: ``bench/.venv-minicons`` (torch 2.13 CPU,
   transformers 4.x, minicons; see ``bench/eval_vs_minicons.py``), to which this script
   adds what ``sentence_zero_shot`` imports besides (``datasets<4``, ``scipy``,
   ``aiohttp``) -- never the project's venv. It runs ``python -m
   evaluation_pipeline.sentence_zero_shot.run --backend mlm --task blimp
   --save_predictions`` offline (``HF_HUB_OFFLINE=1``) at temperature 1, as
   ``eval_zero_shot_fast.sh`` does, and its per-UID accuracies (2 decimals, in
   ``best_temperature_report.txt``) and per-pair predictions (``predictions.json``: the
   chosen sentence) are read back.
2. **Ours**: ``curriculumc eval MODEL --blimp SUBSET --ties babylm --json ...`` in the
   project's env.
3. Prints per paradigm: the pipeline's accuracy, ours under ``babylm`` and ``strict``,
   the difference, the ties, and the pairs whose verdicts differ (with our margin
   |good - bad| for each, so that a float32-vs-float64 near-tie is visible as such).
4. **minicons**: every sentence of the subset scored by ``MaskedLMScorer`` with
   ``PLL_metric="within_word_l2r"`` (sum reduction) against our ``pll-word-l2r``, per
   sentence (target 1e-4), and ``original`` against our ``pll``.

Exits 1 when a paradigm differs by more than 0.1 points or a sentence by more than 1e-4.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DATA = ROOT.parent / "shared" / "data"
ENV = BENCH / ".venv-minicons"
PIPELINE_EXTRAS = ("datasets<4", "scipy", "aiohttp")
POINTS = 0.1  # per-paradigm tolerance, accuracy points
TOLERANCE = 1e-4  # per-sentence tolerance, nats
THREADS = 2


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pipeline", type=Path, help="local copy of evaluation-pipeline-2025")
    parser.add_argument("--model", type=Path, help="masked model folder or run folder")
    parser.add_argument("--blimp", type=Path, default=DATA / "blimp")
    parser.add_argument("--per-paradigm", type=int, default=50)
    parser.add_argument("--skip-pipeline", action="store_true", help="only the minicons part")
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return minicons_worker(*args.worker)
    if args.model is None or (args.pipeline is None and not args.skip_pipeline):
        parser.error("give --model and --pipeline (or --skip-pipeline)")
    if not args.blimp.is_dir():
        print(f"skipped: BLiMP not found at {args.blimp}")
        return 0
    sys.path.insert(0, str(ROOT))
    from curriculumc.runtime.evaluate.evaluation import resolve_model_dir

    model = resolve_model_dir(args.model).resolve()
    work = Path(tempfile.mkdtemp(prefix="eval-vs-pipeline-"))
    subset = make_subset(args.blimp, work / "blimp_subset", args.per_paradigm)
    print(f"model {model}\nsubset {subset} ({args.per_paradigm} pairs per paradigm)\n")
    ensure_env()
    failed = False
    if not args.skip_pipeline:
        failed |= compare_with_pipeline(args.pipeline, model, subset, work)
    failed |= compare_with_minicons(model, subset, work)
    shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


# ---------------------------------------------------------------------------- setup


def make_subset(source: Path, folder: Path, n: int) -> Path:
    """The first ``n`` lines of every BLiMP file, in a temporary folder."""
    folder.mkdir(parents=True)
    for file in sorted(source.glob("*.jsonl")):
        with open(file, encoding="utf-8") as handle:
            lines = [line for _, line in zip(range(n), handle)]
        (folder / file.name).write_text("".join(lines), encoding="utf-8")
    return folder


def ensure_env() -> None:
    """bench/.venv-minicons (made by eval_vs_minicons.py) plus the pipeline's imports."""
    if not (ENV / "bin" / "python").exists():
        sys.path.insert(0, str(BENCH))
        from eval_vs_minicons import make_minicons_env

        make_minicons_env()
    stamp = ENV / ".pipeline-extras"
    if stamp.exists():
        return
    print(f"adding {', '.join(PIPELINE_EXTRAS)} to {ENV} (once) ...", flush=True)
    pip = [str(ENV / "bin" / "python"), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, *PIPELINE_EXTRAS], check=True)
    stamp.touch()


def pipeline_checkout(path: Path, work: Path) -> Path:
    """A work tree of the pipeline: ``path`` itself, or its bare repository's HEAD."""
    if (path / "evaluation_pipeline").is_dir():
        return path
    tree = work / "pipeline"
    tree.mkdir()
    archive = subprocess.run(
        ["git", "--git-dir", str(path), "archive", "HEAD"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree


def env_vars() -> dict[str, str]:
    return {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "OMP_NUM_THREADS": str(THREADS),
        "TOKENIZERS_PARALLELISM": "false",
    }


# ---------------------------------------------------------------------------- the pipeline


def compare_with_pipeline(pipeline: Path, model: Path, subset: Path, work: Path) -> bool:
    tree = pipeline_checkout(pipeline.resolve(), work)
    commit = subprocess.run(
        ["git", "--git-dir", str(pipeline), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    out = work / "pipeline-results"
    started = time.perf_counter()
    done = subprocess.run(
        [
            str(ENV / "bin" / "python"),
            "-m",
            "evaluation_pipeline.sentence_zero_shot.run",
            "--model_path_or_name",
            str(model),
            "--backend",
            "mlm",
            "--task",
            "blimp",
            "--data_path",
            str(subset),
            "--output_dir",
            str(out),
            "--save_predictions",
        ],
        cwd=tree,
        env={**env_vars(), "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
    )
    pipeline_s = time.perf_counter() - started
    if done.returncode != 0:
        print("the pipeline failed:\n" + done.stderr[-3000:])
        return True
    report = next(out.rglob("best_temperature_report.txt"))
    theirs = read_report(report.read_text())
    predictions = json.loads((report.parent / "predictions.json").read_text())

    ours_json = work / "ours.json"
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "curriculumc", "eval", str(model), "--blimp", str(subset)]
        + ["--ties", "babylm", "--json", str(ours_json), "--quiet"],
        check=True,
        env=env_vars(),
        capture_output=True,
    )
    ours_s = time.perf_counter() - started
    ours = json.loads(ours_json.read_text())
    good_of = good_sentences(subset)

    print(
        f"pipeline {commit[:12] or pipeline} (mlm backend, temperature 1) vs curriculumc --ties babylm"
    )
    header = (
        f"{'paradigm':<52} {'pipeline':>8} {'babylm':>7} {'diff':>6} {'strict':>7} "
        f"{'ties':>4} {'pairs differ (our margin)'}"
    )
    print(header)
    print("-" * len(header))
    worst, n_differ, total = 0.0, 0, 0
    for name, entry in ours["paradigms"].items():
        mine = 100 * entry["accuracy_babylm"]
        diff = mine - theirs[name]
        worst = max(worst, abs(diff))
        preds = predictions[name]["predictions"]
        differ = []
        for i, (ok, good, bad, pred) in enumerate(
            zip(entry["correct"], entry["good"], entry["bad"], preds)
        ):
            their_ok = pred["pred"] == good_of[name][i]
            if bool(ok) != their_ok:
                differ.append(f"#{i} ({abs(good - bad):.1e})")
        n_differ += len(differ)
        total += entry["n"]
        print(
            f"{name:<52} {theirs[name]:>8.2f} {mine:>7.2f} {diff:>+6.2f} "
            f"{100 * entry['accuracy_strict']:>7.2f} {entry['ties']:>4} {', '.join(differ)}"
        )
    print(
        f"\n{len(ours['paradigms'])} paradigms, {total} pairs: max |diff| {worst:.2f} points, "
        f"{n_differ} pairs judged differently; macro pipeline "
        f"{sum(theirs.values()) / len(theirs):.2f}, ours babylm {100 * ours['macro_babylm']:.2f}, "
        f"strict {100 * ours['macro_strict']:.2f}, ties {ours['ties']}"
    )
    print(
        f"wall: pipeline {pipeline_s:.0f} s, curriculumc eval {ours_s:.0f} s (both with model load)\n"
    )
    return worst > POINTS


def read_report(text: str) -> dict[str, float]:
    """``### UID ACCURACY`` block of best_temperature_report.txt: paradigm -> percent."""
    block = text.split("### UID ACCURACY", 1)[1].split("###", 1)[0]
    found = {}
    for line in block.strip().splitlines():
        match = re.fullmatch(r"(.+): (-?[\d.]+)", line.strip())
        if match:
            found[match.group(1)] = float(match.group(2))
    return found


def good_sentences(subset: Path) -> dict[str, list[str]]:
    """Per UID, the good sentences in file order (the pipeline's predictions' order)."""
    found: dict[str, list[str]] = {}
    for file in sorted(subset.glob("*.jsonl")):
        for line in file.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            found.setdefault(row.get("UID", file.stem), []).append(row["sentence_good"])
    return found


# ---------------------------------------------------------------------------- minicons


def compare_with_minicons(model: Path, subset: Path, work: Path) -> bool:
    from curriculumc.runtime.evaluate.evaluation import load_model_dir
    from curriculumc.runtime.evaluate.likelihoods import score_sentences
    from curriculumc.runtime.evaluate.minimal_pairs import load_pairs

    sentences = list(load_pairs(subset).sentences())
    sentence_file = work / "sentences.json"
    sentence_file.write_text(json.dumps(sentences))
    out = work / "minicons.json"
    subprocess.run(
        [
            str(ENV / "bin" / "python"),
            __file__,
            "--worker",
            str(model),
            str(sentence_file),
            str(out),
        ],
        check=True,
        env=env_vars(),
    )
    theirs = json.loads(out.read_text())
    loaded, tokenizer, _ = load_model_dir(model)
    failed = False
    print(f"minicons MaskedLMScorer vs curriculumc, {len(sentences)} sentences, per sentence:")
    for their_name, ours_name in (("within_word_l2r", "pll-word-l2r"), ("original", "pll")):
        ours = score_sentences(loaded, tokenizer, sentences, family="masked", pll=ours_name)
        diffs = [abs(a - b) for a, b in zip(ours, theirs[their_name])]
        worst = max(diffs)
        over = sum(d >= TOLERANCE for d in diffs)
        failed |= worst >= TOLERANCE
        print(
            f"  {their_name:<16} vs {ours_name:<13} max |diff| {worst:.2e}, "
            f"mean {sum(diffs) / len(diffs):.2e}, {over} over {TOLERANCE}"
        )
    moved = sum(
        abs(a - b) > TOLERANCE for a, b in zip(theirs["within_word_l2r"], theirs["original"])
    )
    print(f"  ({moved} of {len(sentences)} sentences score differently under the two variants)")
    return failed


def minicons_worker(model: str, sentence_file: str, out: str) -> int:
    """Runs inside bench/.venv-minicons: both PLL metrics, sum reduction."""
    import torch
    from minicons import scorer

    torch.set_num_threads(THREADS)
    sentences = json.loads(Path(sentence_file).read_text())
    lm = scorer.MaskedLMScorer(model, "cpu")
    result = {}
    for metric in ("within_word_l2r", "original"):
        scores = []
        for i in range(0, len(sentences), 32):
            scores += lm.sequence_score(
                sentences[i : i + 32], reduction=lambda x: x.sum(0).item(), PLL_metric=metric
            )
        result[metric] = scores
    Path(out).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
