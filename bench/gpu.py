"""The GPU check: training tokens/s of ``curriculumc run``'s loop vs the HF ``Trainer``, the
host's share of step time, and BLiMP pairs/s -- one table and a JSON.

    .venv/bin/python bench/gpu.py                  # on a CUDA machine: roberta-small, bf16, < 8 min
    .venv/bin/python bench/gpu.py --quick          # about 2-3 minutes
    .venv/bin/python bench/gpu.py --device cpu --model roberta-tiny --steps 4 --lines 2000 \\
        --vocab 500 --pairs 1 --rounds 1           # the CPU test's run (tests/bench/test_gpu.py)

Everything is built as ``bench/train_throughput.py`` builds it (its ``make_plan``,
``prepare`` and ``build`` are imported, not copied): the same model preset (random init,
same seed), AO-CHILDES utterances from ../shared/data, BPE ``--vocab``, global batch
``--batch``, AdamW with warmup + linear decay and clipping. On CUDA the curriculumc loop
runs under its own bf16 autocast and the HF ``Trainer`` with ``bf16=True``.

1. train: tokens/s (real tokens, ``<s>``/``</s>`` included, for both) of ``Trainer.train``
   -- the loop ``curriculumc run`` executes -- and of HF ``Trainer`` +
   ``DataCollatorForLanguageModeling`` on the same examples, alternating for ``--rounds``
   rounds after a warm-up; the median is kept.
2. host: the share of step time the device waits on the host. On CUDA: one more
   ``Trainer.train`` under ``torch.profiler`` -- 1 - (kernel time / wall time); on a CPU
   (no device to keep busy): the serial batch preparation (sampler, collate, each
   objective's corruption and the vocabulary map: ``Trainer.step_inputs``) over the step
   time, an upper bound of the host's critical path.
3. blimp: pairs/s of ``evaluate_pairs`` (masked PLL, the run's scorer) with the model the
   curriculumc loop trained, on the first ``--pairs`` pairs of each BLiMP paradigm
   ($CURRICULUMC_BLIMP, else ../shared/data/blimp).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import train_throughput as tt  # noqa: E402 - the loops and set-up this check shares

#: the table's columns and the JSON's top-level keys (the CPU test holds them)
COLUMNS = ("measure", "value", "unit")
KEYS = (
    "device",
    "card",
    "model",
    "dtype",
    "batch",
    "steps",
    "rounds",
    "tokens_per_s",
    "ours_vs_hf_trainer",
    "step_ms",
    "host_share",
    "host_ms_per_step",
    "host_method",
    "blimp_pairs",
    "blimp_pairs_per_s",
    "wall_s",
)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default=None, help="cuda (default when there is one) or cpu")
    parser.add_argument("--model", default="roberta-small", help="a curriculumc model preset")
    parser.add_argument("--lines", type=int, default=50_000, help="AO-CHILDES utterances")
    parser.add_argument("--vocab", type=int, default=8192)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=300, help="timed steps per loop per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile-steps", type=int, default=50, help="steps of the host check")
    parser.add_argument("--pairs", type=int, default=100, help="BLiMP pairs per paradigm")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--quick", action="store_true", help="fewer steps, rounds and pairs")
    parser.add_argument("--skip-hf", action="store_true", help="leave out HF Trainer")
    parser.add_argument(
        "--json",
        type=Path,
        default=Path(os.environ.get("OUT") or tempfile.gettempdir()) / "curriculumc-gpu.json",
        help="where the figures go (default: $OUT/ or the temp folder, curriculumc-gpu.json)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.rounds = min(args.steps, 100), min(args.rounds, 2)
        args.profile_steps, args.pairs = min(args.profile_steps, 30), min(args.pairs, 30)
        args.lines = min(args.lines, 20_000)
    args.preset = args.model  # what train_throughput's make_plan reads
    return args


def blimp_folder() -> Path | None:
    found = os.environ.get("CURRICULUMC_BLIMP") or str(ROOT.parent / "shared" / "data" / "blimp")
    return Path(found) if Path(found).is_dir() else None


# --- 1. the two loops -----------------------------------------------------------------------


def trainer_for(plan, data, work: Path, device: str, steps: int):
    """A curriculumc ``Trainer`` on ``device`` that stops after ``steps`` steps."""
    from curriculumc.runtime.train.distributed import World
    from curriculumc.runtime.train.trainer import RunOptions, Trainer

    trainer = Trainer(
        plan,
        data,
        np.arange(len(data.corpus)),
        RunOptions(
            run_dir=Path(tempfile.mkdtemp(dir=work)), device=device, quiet=True, stop_after=steps
        ),
        World(device=device),
    )
    trainer.setup()
    return trainer


def sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def ours(plan, data, steps: int, work: Path, device: str, *, keep: bool = False):
    """Seconds and real tokens (``<s>``/``</s>`` included) of ``steps`` steps of the
    curriculumc loop; with ``keep``, also the trainer (its trained model)."""
    trainer = trainer_for(plan, data, work, device, steps)
    sync(device)
    tick = time.perf_counter()
    trainer.train()
    sync(device)
    seconds = time.perf_counter() - tick
    tokens = trainer.tokens_seen + 2 * plan.train.batch * steps  # tokens_seen: text only
    if not keep:
        trainer.cleanup()
        return seconds, tokens, None
    return seconds, tokens, trainer


# --- 2. the host's share -----------------------------------------------------------------


def host_share(plan, data, work: Path, device: str, steps: int) -> dict:
    """The share of step time the device waits on the host (see the module docstring)."""
    trainer = trainer_for(plan, data, work, device, steps)
    try:
        if device.startswith("cuda"):
            try:
                return _profiled(trainer, device)
            except Exception as exc:  # noqa: BLE001 - no CUPTI: say so, measure the other way
                print(f"torch.profiler failed ({type(exc).__name__}: {exc})", file=sys.stderr)
                trainer.cleanup()
                trainer = trainer_for(plan, data, work, device, steps)
        return _serial_preparation(trainer, steps)
    finally:
        trainer.cleanup()


def _profiled(trainer, device: str) -> dict:
    from torch.profiler import ProfilerActivity, profile

    sync(device)
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        tick = time.perf_counter()
        trainer.train()
        sync(device)
        wall = time.perf_counter() - tick
    kernel_us = 0.0
    for event in prof.key_averages():
        value = getattr(event, "self_device_time_total", None)
        if value is None:
            value = getattr(event, "self_cuda_time_total", 0.0)
        kernel_us += float(value or 0.0)
    steps = max(1, trainer.step)
    busy = min(1.0, kernel_us / 1e6 / wall) if wall > 0 else 0.0
    return {
        "host_share": 1.0 - busy,
        "host_ms_per_step": 1000 * wall * (1.0 - busy) / steps,
        "step_ms": 1000 * wall / steps,
        "host_method": "1 - CUDA kernel time / wall time (torch.profiler, Trainer.train)",
    }


def _serial_preparation(trainer, steps: int) -> dict:
    from curriculumc.runtime.train.objectives import collate

    plan = trainer.plan
    tick = time.perf_counter()
    trainer.train()
    wall = time.perf_counter() - tick
    tick = time.perf_counter()
    for step in range(steps):
        batch = collate(
            trainer.corpus, trainer.sampler.indices(step), seq=plan.train.seq,
            specials=trainer.specials,
        )  # fmt: skip
        trainer.step_inputs(step, batch, trainer.objective_weights(step))
    prep = time.perf_counter() - tick
    return {
        "host_share": min(1.0, prep / wall),
        "host_ms_per_step": 1000 * prep / steps,
        "step_ms": 1000 * wall / steps,
        "host_method": "serial batch preparation / step time (CPU: an upper bound)",
    }


# --- 3. BLiMP -----------------------------------------------------------------------------


def blimp_rate(trainer, folder: Path, per_paradigm: int, device: str) -> tuple[int, float]:
    """(pairs, pairs/s) of the run's scorer on the first ``per_paradigm`` pairs of each
    paradigm, after a warm-up on a few of them."""
    from curriculumc.runtime.evaluate.evaluation import evaluate_pairs
    from curriculumc.runtime.evaluate.minimal_pairs import load_pairs

    pairs = load_pairs(folder, limit=per_paradigm)
    warm = load_pairs(folder, limit=1)
    evaluate_pairs(trainer.model, trainer.tokenizer, warm, family="masked", device=device)
    sync(device)
    result = evaluate_pairs(trainer.model, trainer.tokenizer, pairs, family="masked", device=device)
    sync(device)
    return result.n_pairs, result.n_pairs / result.wall_s


# --- the table ------------------------------------------------------------------------------


def table_rows(figures: dict) -> list[tuple[str, str, str]]:
    rates = figures["tokens_per_s"]
    rows = [
        ("device", f"{figures['card']} ({figures['device']}, {figures['dtype']})", ""),
        ("model / batch", f"{figures['model']} / {figures['batch']}", "rows"),
        ("curriculumc run loop", f"{rates['curriculumc']:,.0f}", "tokens/s"),
    ]
    if "hf_trainer" in rates:
        rows.append(("HF Trainer", f"{rates['hf_trainer']:,.0f}", "tokens/s"))
        rows.append(("ours vs HF Trainer", f"{figures['ours_vs_hf_trainer']:.2f}", "x"))
    rows += [
        ("step time (host check)", f"{figures['step_ms']:.2f}", "ms"),
        ("host share of step time", f"{100 * figures['host_share']:.1f}", "%"),
        ("host time on the critical path", f"{figures['host_ms_per_step']:.3f}", "ms/step"),
        ("BLiMP (masked PLL)", f"{figures['blimp_pairs_per_s']:,.1f}", "pairs/s"),
        ("BLiMP pairs scored", f"{figures['blimp_pairs']:,}", "pairs"),
        ("wall time", f"{figures['wall_s']:.0f}", "s"),
    ]
    return rows


def print_table(figures: dict) -> None:
    rows = table_rows(figures)
    widths = [max(len(r[i]) for r in [COLUMNS, *rows]) for i in range(3)]
    line = "  ".join("-" * w for w in widths)
    print("  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths)))
    print(line)
    for row in rows:
        print(f"{row[0].ljust(widths[0])}  {row[1].rjust(widths[1])}  {row[2].ljust(widths[2])}")
    print(f"host: {figures['host_method']}")


# --- main ---------------------------------------------------------------------------------


def main(argv=None) -> int:
    started = time.perf_counter()
    args = parse_args(argv)
    if not tt.DATA.is_file():
        print(f"real data not found at {tt.DATA}", file=sys.stderr)
        return 1
    folder = blimp_folder()
    if folder is None:
        print(
            "BLiMP not found: set $CURRICULUMC_BLIMP or add ../shared/data/blimp", file=sys.stderr
        )
        return 1
    import torch
    from transformers.utils import logging as hf_logging

    from curriculumc.runtime.train.distributed import pick_device

    device = pick_device(args.device)
    cuda = device.startswith("cuda")
    if args.threads:
        torch.set_num_threads(args.threads)
    hf_logging.set_verbosity_error()
    work = Path(tempfile.mkdtemp(prefix="gpu-bench-"))
    with open(tt.DATA, encoding="utf-8") as handle:
        lines = [line for _, line in zip(range(args.lines), handle)]
    (work / "train.jsonl").write_text("".join(lines), encoding="utf-8")
    plan, data = tt.prepare(args, work, pos=False)
    card = torch.cuda.get_device_name(device) if cuda else (platform.processor() or "cpu")
    print(
        f"{args.model} on {card}, batch {args.batch}, {len(data.corpus):,} utterances, vocab "
        f"{len(data.tokenizer)}, {args.steps} steps x {args.rounds} round(s)",
        file=sys.stderr,
    )

    ours(plan, data, min(10, args.steps), work, device)  # warm-up: CUDA context, kernels
    rates: dict[str, list[float]] = {"curriculumc": [], "hf_trainer": []}
    trained = None
    for round_ in range(args.rounds):
        last = round_ == args.rounds - 1
        seconds, tokens, kept = ours(plan, data, args.steps, work, device, keep=last)
        rates["curriculumc"].append(tokens / seconds)
        trained = kept or trained
        if not args.skip_hf:
            seconds, tokens = tt.hf_trainer(plan, data, args.steps, work, device)
            rates["hf_trainer"].append(tokens / seconds)
    tokens_per_s = {k: tt.median(v) for k, v in rates.items() if v}

    host = host_share(plan, data, work, device, args.profile_steps)
    pairs, pairs_per_s = blimp_rate(trained, folder, args.pairs, device)
    trained.cleanup()

    figures = {
        "device": device,
        "card": card,
        "model": args.model,
        "dtype": "bf16 autocast" if cuda else "fp32",
        "batch": args.batch,
        "steps": args.steps,
        "rounds": args.rounds,
        "tokens_per_s": tokens_per_s,
        "ours_vs_hf_trainer": (
            tokens_per_s["curriculumc"] / tokens_per_s["hf_trainer"]
            if "hf_trainer" in tokens_per_s
            else None
        ),
        **host,
        "blimp_pairs": pairs,
        "blimp_pairs_per_s": pairs_per_s,
        "torch": torch.__version__,
    }
    figures["wall_s"] = time.perf_counter() - started
    print_table(figures)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(f"figures written to {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
