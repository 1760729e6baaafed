"""A 100M-word corpus prepared end to end, as ``curriculumc run`` prepares it, on this machine.

    .venv/bin/python bench/prepare_100m.py                 # 100M words (~4.4 GB of JSON Lines)
    .venv/bin/python bench/prepare_100m.py --words 10e6    # quicker
    .venv/bin/python bench/prepare_100m.py --pos-format tagger   # every line through the tagger

The corpus is the AO-CHILDES training file (``../shared/data/aochildes/train.jsonl``)
repeated until it holds ``--words`` whitespace-separated words (whole copies, then the
first lines of one more), written to a temporary folder that is removed at the end (never
into the repository). The spec is ``specs/root_pos.cur``'s data part: the file with
``pos_field=mor, pos_format=mor`` (MOR codes where they match the words, the offline
tagger elsewhere), BPE ``--vocab`` (8192), seq 128, ``sort by ngram_ppl(n=3)`` and a
``pos`` objective, so that POS tags are asked for.

A fresh Python process (so that the figures are those of a cold run: nothing imported,
nothing cached) runs what ``runtime/train/recipe.py`` ``setup`` runs before the trainer:
``prepare_data(plan, need_pos=True, progress=...)`` -- resolve and fingerprint the input,
train the BPE on a first read, tokenize + store + POS-tag on a second, write the cache --
then ``initial_order`` (the ``ngram_ppl`` scores through the real scorer, cached, and the
difficulty order). The cache folder is fresh: nothing is reused.

Reported: wall time per stage (from the progress stages' own start/end events, stamped
as they are recorded) and in total; peak memory -- the child's peak RSS
(``getrusage(RUSAGE_SELF)``), its tagging workers' (``RUSAGE_CHILDREN``, the largest),
and the whole process tree's peak PSS sampled every 0.5 s from ``/proc/*/smaps_rollup``
(shared pages counted once, so a forked worker does not count the parent's arrays twice);
and the load average before and after (the machine is shared; timings are noisy).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TRAIN = ROOT.parent / "shared" / "data" / "aochildes" / "train.jsonl"
GOAL_SECONDS = 15 * 60
GOAL_BYTES = 6 * 1024**3

SPEC = """\
model roberta-tiny
data "{path}"(pos_field=mor, pos_format={pos_format})
tokenizer bpe {vocab}
train 1000 steps, batch 32, seq 128
sort by ngram_ppl(n=3)
pace root from 10% over 50%
at 0 mlm + 0.5 pos
"""


# --- the corpus ------------------------------------------------------------------------------


def build_corpus(target_words: int, folder: Path) -> tuple[Path, int, int]:
    """``folder/train.jsonl``: AO-CHILDES train repeated to ``target_words`` words.

    Returns the path, its lines and its words."""
    lines = TRAIN.read_bytes().splitlines(keepends=True)
    words = [len(json.loads(line)["text"].split()) for line in lines]
    per_copy = sum(words)
    copies, rest = divmod(target_words, per_copy)
    path = folder / "train.jsonl"
    blob = b"".join(lines)
    n_lines, n_words = copies * len(lines), copies * per_copy
    with path.open("wb") as out:
        for _ in range(copies):
            out.write(blob)
        for line, count in zip(lines, words):
            if rest <= 0:
                break
            out.write(line)
            rest -= count
            n_lines += 1
            n_words += count
    return path, n_lines, n_words


# --- the child: what `curriculumc run` does before training --------------------------------


class _StampedEvents(list):
    """``DataProgress.events`` that also records when each event came (in ``stamps``)."""

    def __init__(self):
        super().__init__()
        self.stamps: list[float] = []

    def append(self, event):
        self.stamps.append(time.monotonic())
        super().append(event)


def child(args) -> int:
    # imported here: the child's import time is part of its wall time, the parent's is not
    t0 = time.monotonic()
    import numpy as np

    import curriculumc
    from curriculumc.runtime.data.prepare import prepare_data
    from curriculumc.runtime.data.progress import DataProgress
    from curriculumc.runtime.ordering.order import initial_order
    from curriculumc.runtime.train.objectives import needs_pos

    spec = SPEC.format(path=args.corpus, pos_format=args.pos_format, vocab=args.vocab)
    plan = curriculumc.loads(spec, "bench.cur")
    # "lines" even when not shown: a run that shows progress counts the input's lines
    stages = DataProgress("lines", emit=_emit_stderr if args.show else (lambda text: None))
    stages.events = _StampedEvents()
    cache_dir = Path(args.cache)
    t_import = time.monotonic()
    data = prepare_data(plan, cache_dir=cache_dir, need_pos=needs_pos(plan), progress=stages)
    t_data = time.monotonic()
    with stages.stage("scoring", None, unit="examples") as scoring:
        start = initial_order(plan, data.corpus, cache_dir=cache_dir, quiet=True)
        scoring.update(len(data.corpus))
    t_order = time.monotonic()
    assert start.order is not None and len(start.order) == len(data.corpus)
    corpus = data.corpus
    result = {
        "import_s": t_import - t0,
        "prepare_data_s": t_data - t_import,
        "initial_order_s": t_order - t_data,
        "total_s": t_order - t0,
        "events": [[t, *e] for t, e in zip(stages.events.stamps, stages.events)],
        "t0": t0,
        "examples": len(corpus),
        "tokens": int(corpus.offsets[-1]),
        "words": int(data.summary["words"]),
        "pos_lines": data.summary.get("pos", {}).get("lines"),
        "ids_dtype": str(corpus.ids.dtype),
        "content_hash": corpus.content_hash,
        "order_head": np.asarray(start.order[:5]).tolist(),
        "maxrss_self_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "maxrss_workers_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    }
    if args.library:
        result["library"] = library_ratio(data)
    Path(args.result).write_text(json.dumps(result), "utf-8")
    return 0


def library_ratio(data) -> dict:
    """Tokenizing as ``build_arrays`` does it (from the store, to flat arrays; without
    and with POS tags) against ``encode_batch`` alone on the same texts, in the same
    chunks, already in memory as ``str`` (nothing else: no ids read out, no arrays).
    Seconds of each, best of 2, after the timed run (so all measured warm)."""
    from curriculumc.runtime.data.progress import DataProgress
    from curriculumc.runtime.data.storage import TOKENIZE_CHUNK, StorageSettings, build_arrays
    from curriculumc.runtime.data.text_store import read_store

    raw, tokenizer = data.raw, data.artifacts
    store = read_store(raw, with_pos=True, progress=DataProgress("off"))
    chunks = [c.texts for c in store.chunks(TOKENIZE_CHUNK)]
    settings = StorageSettings("line", 128)
    out: dict[str, float] = {}
    for _ in range(2):
        for name, run in (
            ("encode_batch", lambda: [tokenizer.backend.encode_batch(c, add_special_tokens=False) for c in chunks]),
            ("encode_batch_fast", lambda: [tokenizer.backend.encode_batch_fast(c, add_special_tokens=False) for c in chunks]),
            ("ours", lambda: build_arrays(raw, tokenizer, settings, store=store)),
            ("ours with POS", lambda: build_arrays(raw, tokenizer, settings, store=store, need_pos=True)),
        ):  # fmt: skip
            t = time.monotonic()
            run()
            out[name] = min(out.get(name, float("inf")), time.monotonic() - t)
    return out


def _emit_stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# --- the parent: corpus, child, memory sampling, table -------------------------------------


def _tree_pss_kb(root: int) -> int:
    """PSS of ``root`` and its descendants (kB), from /proc (0 where unreadable)."""
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as handle:
                    todo.extend(int(child) for child in handle.read().split())
            with open(f"/proc/{pid}/smaps_rollup") as handle:
                for line in handle:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            pass
    return total


def _sample_peak(process: subprocess.Popen, peak: list[int], every: float = 0.5) -> None:
    while process.poll() is None:
        peak[0] = max(peak[0], _tree_pss_kb(process.pid))
        time.sleep(every)


def stage_table(result: dict) -> list[tuple[str, float]]:
    """(stage, seconds) from the stamped start/end events, in the order they started."""
    starts: dict[str, float] = {}
    rows: list[tuple[str, float]] = []
    for stamp, kind, name, *_ in result["events"]:
        if kind == "start":
            starts[name] = stamp
        elif kind == "end" and name in starts:
            rows.append((name, stamp - starts.pop(name)))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=float, default=100e6, help="corpus size (default 100M)")
    parser.add_argument("--vocab", type=int, default=8192)
    parser.add_argument("--pos-format", choices=("mor", "tagger"), default="mor")
    parser.add_argument("--show", action="store_true", help="show the stages' progress lines")
    parser.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="build the corpus in this folder and keep it (reused when present)",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument(
        "--library",
        action="store_true",
        help="then time tokenizing against encode_batch alone (the 1.3x goal; use at 10M)",
    )
    # the child's arguments (internal)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--corpus", help=argparse.SUPPRESS)
    parser.add_argument("--cache", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args)
    if not TRAIN.exists():
        print(f"shared data not found: {TRAIN} (see ../shared/data/README.md)", file=sys.stderr)
        return 1
    target = int(args.words)
    work = Path(tempfile.mkdtemp(prefix="curriculumc-bench-prepare-"))
    try:
        corpus_dir = args.keep or work
        corpus_dir.mkdir(parents=True, exist_ok=True)
        manifest = corpus_dir / "corpus.json"
        if manifest.exists() and json.loads(manifest.read_text())["target"] == target:
            built = json.loads(manifest.read_text())
            path = Path(built["path"])
        else:
            t = time.monotonic()
            path, n_lines, n_words = build_corpus(target, corpus_dir)
            built = {"target": target, "path": str(path), "lines": n_lines, "words": n_words}
            manifest.write_text(json.dumps(built))
            print(f"corpus written in {time.monotonic() - t:.1f}s", file=sys.stderr)
        size = path.stat().st_size
        print(
            f"corpus: {path} -- {built['lines']:,} lines, {built['words']:,} words, "
            f"{size / 1e9:.2f} GB (AO-CHILDES train repeated)",
            file=sys.stderr,
        )
        cache = work / "cache"
        result_file = work / "result.json"
        load_before = os.getloadavg()
        command = [
            sys.executable, str(Path(__file__).resolve()), "--child",
            "--corpus", str(path), "--cache", str(cache), "--result", str(result_file),
            "--vocab", str(args.vocab), "--pos-format", args.pos_format,
        ]  # fmt: skip
        command += ["--show"] if args.show else []
        command += ["--library"] if args.library else []
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        t = time.monotonic()
        process = subprocess.Popen(command, cwd=ROOT, env=env)
        peak = [0]
        sampler = threading.Thread(target=_sample_peak, args=(process, peak), daemon=True)
        sampler.start()
        code = process.wait()
        wall = time.monotonic() - t
        sampler.join()
        load_after = os.getloadavg()
        if code != 0:
            print(f"the child failed with exit code {code}", file=sys.stderr)
            return code
        result = json.loads(result_file.read_text("utf-8"))
        rusage_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        cache_bytes = sum(f.stat().st_size for f in cache.rglob("*") if f.is_file())
    finally:
        if args.keep is None or work != args.keep:
            shutil.rmtree(work, ignore_errors=True)

    rows = stage_table(result)
    print()
    print(
        f"| {built['words']:,} words, {result['examples']:,} examples, {result['tokens']:,} tokens ({result['ids_dtype']}) | seconds |"
    )
    print("|---|---|")
    print(f"| imports (numpy, tokenizers, the plan) | {result['import_s']:.1f} |")
    for name, seconds in rows:
        print(f"| stage `{name}` | {seconds:.1f} |")
    print(f"| `prepare_data` in all | {result['prepare_data_s']:.1f} |")
    print(f"| `initial_order` (ngram_ppl n=3 + order) | {result['initial_order_s']:.1f} |")
    done = result["total_s"]  # imports + prepare_data + initial_order (not --library)
    print(f"| **in all** | **{done:.1f}** ({done / GOAL_SECONDS:.2f}x the 15-min goal) |")
    extra = " and --library" if "library" in result else ""
    print(f"| the child process, wall (with start-up{extra}) | {wall:.1f} |")
    print()
    print("| memory | GB |")
    print("|---|---|")
    print(f"| peak RSS, the process (RUSAGE_SELF) | {result['maxrss_self_kb'] / 1024**2:.2f} |")
    print(f"| peak RSS, largest tagging worker | {result['maxrss_workers_kb'] / 1024**2:.2f} |")
    print(f"| peak RSS, RUSAGE_CHILDREN of this script | {rusage_kb / 1024**2:.2f} |")
    print(
        f"| peak PSS of the process tree (sampled) | {peak[0] / 1024**2:.2f} ({peak[0] * 1024 / GOAL_BYTES:.2f}x the 6-GB goal) |"
    )
    print(f"| cache written | {cache_bytes / 1e9:.2f} |")
    print()
    if "library" in result:
        lib = result["library"]
        print("| tokenizing (best of 2) | seconds | / encode_batch alone |")
        print("|---|---|---|")
        for name in ("encode_batch", "encode_batch_fast", "ours", "ours with POS"):
            print(f"| {name} | {lib[name]:.1f} | {lib[name] / lib['encode_batch']:.2f}x |")
        print(
            f"| ours / encode_batch_fast (what it calls without POS) | | "
            f"{lib['ours'] / lib['encode_batch_fast']:.2f}x |"
        )
        print()
    print(
        f"load average before {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}, "
        f"after {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}; "
        f"{os.cpu_count()} CPUs; POS lines {result['pos_lines']}"
    )
    if args.json is not None:
        figures = {
            **{k: v for k, v in result.items() if k != "events"},
            "stages": dict(rows),
            "wall_s": wall,
            "peak_pss_kb": peak[0],
            "rusage_children_kb": rusage_kb,
            "corpus": built,
            "load_before": load_before,
            "load_after": load_after,
        }
        args.json.write_text(json.dumps(figures, indent=2), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
