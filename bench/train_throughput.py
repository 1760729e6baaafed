"""Training throughput: ``curriculumc run``'s loop against a hand-written loop and HF Trainer,
the masked-only output projection, and the cost of a second objective's own forward.

    .venv/bin/python bench/train_throughput.py              # about 3-5 minutes on 2 CPU cores
    .venv/bin/python bench/train_throughput.py --steps 20 --rounds 1   # quicker

All loops train the same model (``--preset``, random init, same seed) on the same data
(AO-CHILDES from ../shared/data, BPE ``--vocab``) with the same global batch, AdamW, warmup
+ linear decay and clipping; tokens/s counts real (non-padding) tokens including ``<s>``
and ``</s>``. Loops alternate for ``--rounds`` rounds and the median is reported, because
a shared machine is noisy.

1. loop: ``Trainer.train`` (what ``curriculumc run`` executes: sampler, collate, masking,
   vocabulary map, one forward per distinct input, logging) vs a minimal hand-written
   PyTorch loop doing the textbook thing (``model(input_ids, labels=...)``, full
   projection), and the same minimal
   loop with the masked-only projection (the pure overhead comparison), and HF ``Trainer``
   with ``DataCollatorForLanguageModeling``.
2. head: one forward+backward with the LM head applied to the masked positions only vs at
   every position (full 126-token rows, where the projection matters most).
3. multitask: ``Trainer.train_step`` with ``mlm`` alone vs ``mlm + 0.5 pos``, where each
   objective reads its own corruption at its own rates (one backbone forward per
   objective: the seed system's way, and curriculumc's since plan version 3), alternating
   step by step; the backbone forwards are counted.
4. host (``--only host``): the main thread's host time per step on the critical path --
   all but forward, backward, clipping and the optimizer step -- of the plain loop (batch
   prepared on time, losses read back every step) vs the loop as it runs (next batch
   prepared on a background thread, losses read back at logged steps), at 64 x 32, with
   both loops' tokens/s against the minimal masked-only loop, alternating.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "aochildes" / "train.jsonl"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="roberta-tiny")
    parser.add_argument("--lines", type=int, default=20000, help="AO-CHILDES utterances")
    parser.add_argument("--vocab", type=int, default=8192)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=60, help="steps per loop per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--skip-hf", action="store_true", help="leave out HF Trainer")
    parser.add_argument(
        "--only",
        choices=("loops", "head", "multitask", "host"),
        default=None,
        help="run one section only (e.g. --only multitask: about a minute)",
    )
    parser.add_argument(
        "--host-seq", type=int, default=32, help="seq of the host-time section (64 x 32)"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write figures here")
    return parser.parse_args()


# --- set-up ---------------------------------------------------------------------------------


def make_plan(args, work: Path, *, pos: bool = False):
    from curriculumc.plan import (
        DataSpec,
        ModelSpec,
        OutputSpec,
        Phase,
        Plan,
        TokenizerSpec,
        TrainSpec,
        Unit,
    )

    units = (Unit("mlm", "mlm"),) + ((Unit("pos", "pos"),) if pos else ())
    weights = (("mlm", 1.0),) + ((("pos", 0.5),) if pos else ())
    return Plan(
        model=ModelSpec(preset=args.preset, family="masked"),
        data=DataSpec(source=str(work / "train.jsonl"), kind="path"),
        tokenizer=TokenizerSpec(kind="bpe", vocab_size=args.vocab),
        train=TrainSpec(steps=10_000, batch=args.batch, seq=128, lr=1e-3, warmup=10, seed=1),
        units=units,
        phases=(Phase(0, weights),),
        output=OutputSpec(log_every=10_000),
    )


def prepare(args, work: Path, *, pos: bool):
    from curriculumc.runtime.data.prepare import prepare_data

    plan = make_plan(args, work, pos=pos)
    return plan, prepare_data(plan, cache_dir=work / "cache", need_pos=pos)


def build(plan, data, seed: int = 1):
    import torch

    from curriculumc.runtime.train.models import SpecialIds, build_model, model_config

    tok = data.tokenizer
    specials = SpecialIds.from_tokenizer(tok)
    config = model_config(
        plan.model.preset, family="masked", vocab_size=len(tok), seq=128, specials=specials
    )
    torch.manual_seed(seed)
    return build_model(config, "masked"), specials, config


def median(values):
    return statistics.median(values)


# --- 1. loops ----------------------------------------------------------------------------


def ours(plan, data, steps: int, work: Path, *, fast: bool = True, clock: dict | None = None):
    """Seconds and real tokens (with ``<s>`` and ``</s>``, as the minimal loop counts them;
    ``tokens_seen`` counts text only) of ``steps`` steps of the curriculumc loop. ``fast``:
    the loop as it runs (next batch prepared on a thread, losses read back at logged
    steps); False: the plain loop (prepare on time, read back every step). ``clock``
    receives the main thread's host and compute seconds (:class:`~curriculumc.runtime.
    train.trainer._Clock`)."""
    from curriculumc.runtime.train.trainer import RunOptions, Trainer

    run_dir = Path(tempfile.mkdtemp(dir=work))
    trainer = Trainer(
        plan,
        data,
        np.arange(len(data.corpus)),
        RunOptions(run_dir=run_dir, quiet=True, stop_after=steps),
    )
    trainer.setup()
    trainer.prefetch = trainer.defer_losses = fast
    tick = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - tick
    trainer.cleanup()
    if clock is not None:
        clock.update(
            host=trainer.clock.host,
            compute=trainer.clock.compute,
            steps=trainer.clock.steps,
            host_steps=list(trainer.clock.host_steps),
        )
    return seconds, trainer.tokens_seen + 2 * plan.train.batch * steps


def minimal(plan, data, steps: int, *, masked_only: bool, cut: int = 126) -> tuple[float, int]:
    """A hand-written loop: random batches, pad, BERT masking, AdamW, clip, warmup+decay."""
    import torch

    model, specials, _ = build(plan, data)
    model.train()
    corpus = data.corpus
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
        lr=1e-3,
        betas=(0.9, 0.98),
        eps=1e-6,
    )
    total = plan.train.steps
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / 10, max(0.0, (total - s) / (total - 10)))
    )
    rng = np.random.default_rng(0)
    vocab = len(data.tokenizer)
    tokens = 0
    tick = time.perf_counter()
    for _ in range(steps):
        rows = [
            corpus.example(int(i))[:cut]
            for i in rng.choice(len(corpus), plan.train.batch, replace=False)
        ]
        width = max(len(r) for r in rows) + 2
        ids = torch.full((len(rows), width), specials.pad, dtype=torch.long)
        for j, r in enumerate(rows):
            ids[j, 0], ids[j, len(r) + 1] = specials.bos, specials.eos
            ids[j, 1 : len(r) + 1] = torch.from_numpy(r.astype(np.int64))
        attention = (ids != specials.pad).long()
        tokens += int(attention.sum())
        special = ids <= 4
        chosen = (torch.rand(ids.shape) < 0.15) & ~special
        labels = torch.where(chosen, ids, -100)
        draw = torch.rand(ids.shape)
        inputs = ids.clone()
        inputs[chosen & (draw < 0.8)] = specials.mask
        random_pos = chosen & (draw >= 0.8) & (draw < 0.9)
        inputs[random_pos] = torch.randint(vocab, ids.shape)[random_pos]
        if masked_only:
            hidden = model.roberta(input_ids=inputs, attention_mask=attention)[0]
            where = labels != -100
            logits = model.lm_head(hidden[where])
            loss = torch.nn.functional.cross_entropy(logits, labels[where])
        else:
            loss = model(input_ids=inputs, attention_mask=attention, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
    return time.perf_counter() - tick, tokens


def hf_trainer(plan, data, steps: int, work: Path, device: str = "cpu") -> tuple[float, int]:
    """HF ``Trainer`` + ``DataCollatorForLanguageModeling`` on the same examples; bf16 on
    CUDA (``bench/gpu.py``), the timed span synchronised with the device."""
    import contextlib

    import torch
    from transformers import (
        DataCollatorForLanguageModeling,
        Trainer,
        TrainerCallback,
        TrainingArguments,
    )

    cuda = device.startswith("cuda")
    model, specials, _ = build(plan, data)
    corpus = data.corpus

    def sync():
        if cuda:
            torch.cuda.synchronize()

    class Examples(torch.utils.data.Dataset):
        def __len__(self):
            return len(corpus)

        def __getitem__(self, i):
            ids = [specials.bos, *corpus.example(i)[:126].tolist(), specials.eos]
            return {"input_ids": ids}

    class Clock(TrainerCallback):
        start = end = 0.0

        def on_train_begin(self, *a, **k):
            sync()
            Clock.start = time.perf_counter()

        def on_train_end(self, *a, **k):
            sync()
            Clock.end = time.perf_counter()

    arguments = TrainingArguments(
        output_dir=str(work / "hf"),
        per_device_train_batch_size=plan.train.batch,
        max_steps=steps,
        learning_rate=1e-3,
        warmup_steps=10,
        weight_decay=0.01,
        adam_beta2=0.98,
        adam_epsilon=1e-6,
        max_grad_norm=1.0,
        lr_scheduler_type="linear",
        logging_strategy="no",
        save_strategy="no",
        eval_strategy="no",
        report_to=[],
        disable_tqdm=True,
        use_cpu=not cuda,
        bf16=cuda,
        dataloader_num_workers=0,
        seed=1,
    )
    collator = DataCollatorForLanguageModeling(data.tokenizer, mlm_probability=0.15)
    trainer = Trainer(
        model=model,
        args=arguments,
        train_dataset=Examples(),
        data_collator=collator,
        callbacks=[Clock()],
    )
    with contextlib.redirect_stdout(sys.stderr):  # its summary dict: not in the tables
        trainer.train()
    # HF draws a random permutation: expected real tokens = steps x batch x mean length
    mean_tokens = float(np.mean(np.minimum(corpus.lengths(), 126) + 2))
    return Clock.end - Clock.start, int(steps * plan.train.batch * mean_tokens)


# --- 2. masked-only projection ----------------------------------------------------------


def head_speedup(plan, data, repeats: int) -> dict:
    import torch

    from curriculumc.runtime.train.objectives.mlm import projected_loss_sum

    # the reference the tests hold the masked-only head to (equal to 1e-5)
    sys.path.insert(0, str(ROOT / "tests"))
    from support.references import full_projection_loss_sum

    model, specials, _ = build(plan, data)
    ids_flat = np.asarray(data.corpus.ids[: 126 * plan.train.batch], dtype=np.int64)
    ids = torch.from_numpy(ids_flat.reshape(plan.train.batch, 126))
    ids = torch.cat(
        [torch.full((len(ids), 1), specials.bos), ids, torch.full((len(ids), 1), specials.eos)], 1
    )
    attention = torch.ones_like(ids)
    g = torch.Generator().manual_seed(0)
    chosen = torch.rand(ids.shape, generator=g) < 0.15
    chosen[:, 0] = chosen[:, -1] = False
    labels = torch.where(chosen, ids, -100)
    inputs = ids.masked_fill(chosen, specials.mask)

    def step(loss_fn):
        tick = time.perf_counter()
        hidden = model.roberta(input_ids=inputs, attention_mask=attention)[0]
        loss = loss_fn(model.lm_head, hidden, labels) / chosen.sum()
        loss.backward()
        model.zero_grad(set_to_none=True)
        return time.perf_counter() - tick

    def head_only(loss_fn):
        hidden = model.roberta(input_ids=inputs, attention_mask=attention)[0].detach()
        hidden.requires_grad_(True)
        tick = time.perf_counter()
        loss_fn(model.lm_head, hidden, labels).backward()
        model.zero_grad(set_to_none=True)
        return time.perf_counter() - tick

    for fn in (projected_loss_sum, full_projection_loss_sum):
        step(fn)
    full, fast, full_head, fast_head = [], [], [], []
    for _ in range(repeats):
        full.append(step(full_projection_loss_sum))
        fast.append(step(projected_loss_sum))
        full_head.append(head_only(full_projection_loss_sum))
        fast_head.append(head_only(projected_loss_sum))
    return {
        "rows": f"{plan.train.batch} x 128 tokens, vocab {len(data.tokenizer)}",
        "step_full_ms": 1000 * median(full),
        "step_masked_only_ms": 1000 * median(fast),
        "step_speedup": median(full) / median(fast),
        "head_full_ms": 1000 * median(full_head),
        "head_masked_only_ms": 1000 * median(fast_head),
        "head_speedup": median(full_head) / median(fast_head),
    }


# --- 3. several objectives: one forward per objective's own corruption -------------------


def multitask_ratio(plan, data, repeats: int, work: Path) -> dict:
    """Seconds per step of ``Trainer.train_step`` -- what ``curriculumc run`` executes --
    with ``mlm`` alone vs ``mlm + 0.5 pos``, where each objective reads its own corruption
    (two backbone forwards a step, ``registry.forwards_per_step``); the two alternate step
    by step on the same batches."""
    from dataclasses import replace

    from curriculumc import registry
    from curriculumc.plan import Phase
    from curriculumc.runtime.train.models import backbone
    from curriculumc.runtime.train.trainer import RunOptions, Trainer

    plans = {
        "mlm": replace(plan, units=plan.units[:1], phases=(Phase(0, (("mlm", 1.0),)),)),
        "mlm + 0.5 pos": plan,
    }
    trainers, forwards, times = {}, {}, {}
    for name, each in plans.items():
        trainer = Trainer(
            each,
            data,
            np.arange(len(data.corpus)),
            RunOptions(run_dir=Path(tempfile.mkdtemp(dir=work)), quiet=True),
        )
        trainer.setup()
        trainer.module.train()
        calls = []
        backbone(trainer.model).register_forward_hook(lambda *a, calls=calls: calls.append(1))
        trainers[name], forwards[name], times[name] = trainer, calls, []
    for step in range(repeats + 1):
        for name, trainer in trainers.items():
            weights = trainer.objective_weights(step)
            tick = time.perf_counter()
            trainer.train_step(step, weights)
            if step > 0:  # the first is a warm-up
                times[name].append(time.perf_counter() - tick)
    for trainer in trainers.values():
        trainer.cleanup()
    alone, both = (median(times[n]) for n in plans)
    return {
        "objectives": " vs ".join(plans),
        "forwards_per_step": {n: len(forwards[n]) / (repeats + 1) for n in plans},
        "registry_forwards_per_step": {
            n: registry.forwards_per_step([u.objective for u in p.units]) for n, p in plans.items()
        },
        "mlm_ms": 1000 * alone,
        "mlm_pos_ms": 1000 * both,
        "ratio": both / alone,
    }


def loop_figures(args, plan, data, work: Path) -> dict:
    """Section 1: tokens/s of the loops, alternating for ``--rounds`` rounds."""
    loops = {"curriculumc": [], "minimal": [], "minimal_masked_only": [], "hf_trainer": []}
    for _ in range(args.rounds):
        for name in loops:
            if name == "hf_trainer" and args.skip_hf:
                continue
            if name == "curriculumc":
                seconds, tokens = ours(plan, data, args.steps, work)
            elif name == "hf_trainer":
                seconds, tokens = hf_trainer(plan, data, args.steps, work)
            else:
                seconds, tokens = minimal(
                    plan, data, args.steps, masked_only=name == "minimal_masked_only"
                )
            loops[name].append(tokens / seconds)
    figures = {"loops_tokens_per_s": {k: median(v) for k, v in loops.items() if v}}
    rates = figures["loops_tokens_per_s"]
    for name, rate in rates.items():
        print(f"  {name:22s} {rate:9,.0f} tokens/s   ({rate / rates['curriculumc']:.2f}x ours)")
    figures["ours_vs_minimal_masked_only"] = rates["curriculumc"] / rates["minimal_masked_only"]
    figures["ours_vs_minimal"] = rates["curriculumc"] / rates["minimal"]
    if "hf_trainer" in rates:
        figures["ours_vs_hf_trainer"] = rates["curriculumc"] / rates["hf_trainer"]

    return figures


def host_figures(args, plan, data, work: Path) -> dict:
    """Section 4: the main thread's host time per step -- everything outside forward,
    backward, clipping and the optimizer step: preparing or taking the batch, copies,
    bookkeeping, logging -- of the plain loop ("before": the batch prepared on time, the
    losses read back every step) and of the loop as it runs ("after": the next batch
    prepared on a background thread, the losses read back at logged steps), at batch
    ``--batch`` x ``--host-seq``, log every 10 steps; with both loops' tokens/s against the
    minimal masked-only loop. The three alternate for ``--rounds`` rounds; medians.

    Host time a step three ways, each a median over the rounds: ``host_ms_per_step``, the
    mean over all steps (what the issue's figure asks); ``host_ms_after_first``, the mean
    over all but the first step (whose batch is prepared on time: nothing runs before it
    to overlap with; it weighs 1/``--steps``); ``host_ms_median_step``, the median step
    (the steps a shared machine preempts -- a few ms each under load -- left out)."""
    from dataclasses import replace

    plan = replace(
        plan,
        train=replace(plan.train, seq=args.host_seq),
        output=replace(plan.output, log_every=10),
    )
    host = {"before": [], "after": []}
    after_first = {"before": [], "after": []}
    median_step = {"before": [], "after": []}
    compute = {"before": [], "after": []}
    rates = {"before": [], "after": [], "minimal_masked_only": []}
    for _ in range(args.rounds):
        for name in ("before", "after"):
            clock: dict = {}
            seconds, tokens = ours(plan, data, args.steps, work, fast=name == "after", clock=clock)
            host[name].append(1000 * clock["host"] / clock["steps"])
            steps_ms = [1000 * seconds for seconds in clock["host_steps"]]
            after_first[name].append(statistics.mean(steps_ms[1:]))
            median_step[name].append(median(steps_ms))
            compute[name].append(1000 * clock["compute"] / clock["steps"])
            rates[name].append(tokens / seconds)
        seconds, tokens = minimal(plan, data, args.steps, masked_only=True, cut=args.host_seq - 2)
        rates["minimal_masked_only"].append(tokens / seconds)
    figures = {
        "batch": f"{args.batch} x {args.host_seq}",
        "host_ms_per_step": {k: median(v) for k, v in host.items()},
        "host_ms_after_first": {k: median(v) for k, v in after_first.items()},
        "host_ms_median_step": {k: median(v) for k, v in median_step.items()},
        "compute_ms_per_step": {k: median(v) for k, v in compute.items()},
        "tokens_per_s": {k: median(v) for k, v in rates.items()},
        "host_ms_runs": host,
    }
    minimal_rate = figures["tokens_per_s"]["minimal_masked_only"]
    figures["after_vs_minimal_masked_only"] = figures["tokens_per_s"]["after"] / minimal_rate
    figures["before_vs_minimal_masked_only"] = figures["tokens_per_s"]["before"] / minimal_rate
    return figures


# --- main ----------------------------------------------------------------------------------


def main() -> int:
    args = parse_args()
    if not DATA.is_file():
        print(f"real data not found at {DATA}", file=sys.stderr)
        return 1
    import torch
    from transformers.utils import logging as hf_logging

    torch.set_num_threads(args.threads)
    hf_logging.set_verbosity_error()
    work = Path(tempfile.mkdtemp(prefix="train-bench-"))
    with open(DATA, encoding="utf-8") as handle:
        lines = [next(handle) for _ in range(args.lines)]
    (work / "train.jsonl").write_text("".join(lines), encoding="utf-8")

    plan, data = prepare(args, work, pos=False)
    print(
        f"{args.preset}, batch {args.batch}, {len(data.corpus):,} utterances, vocab "
        f"{len(data.tokenizer)}, {args.threads} thread(s), {args.steps} steps x {args.rounds} rounds"
    )
    figures = {}
    if args.only in (None, "loops"):
        figures.update(loop_figures(args, plan, data, work))
    if args.only in (None, "head"):
        figures["head"] = head_speedup(plan, data, repeats=5 * args.rounds)
        h = figures["head"]
        print(
            f"masked-only projection ({h['rows']}): head fwd+bwd {h['head_full_ms']:.1f} -> "
            f"{h['head_masked_only_ms']:.1f} ms ({h['head_speedup']:.1f}x), whole step "
            f"{h['step_full_ms']:.1f} -> {h['step_masked_only_ms']:.1f} ms "
            f"({h['step_speedup']:.2f}x)"
        )
    if args.only in (None, "host"):
        figures["host"] = h = host_figures(args, plan, data, work)
        ms, rate = h["host_ms_per_step"], h["tokens_per_s"]
        first, middle = h["host_ms_after_first"], h["host_ms_median_step"]
        print(
            f"host time on the critical path, {h['batch']}: {ms['before']:.3f} ms a step "
            f"(plain loop) -> {ms['after']:.3f} ms (prefetch, deferred losses); after the "
            f"first step {first['before']:.3f} -> {first['after']:.3f} ms; median step "
            f"{middle['before']:.3f} -> {middle['after']:.3f} ms; compute "
            f"{h['compute_ms_per_step']['after']:.1f} ms; tokens/s {rate['before']:,.0f} / "
            f"{rate['after']:,.0f} vs minimal masked-only {rate['minimal_masked_only']:,.0f}: "
            f"{h['before_vs_minimal_masked_only']:.3f}x / "
            f"{h['after_vs_minimal_masked_only']:.3f}x"
        )
    if args.only not in (None, "multitask"):
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2) + "\n")
        return 0
    pos_plan, pos_data = prepare(args, work, pos=True)
    figures["multitask"] = multitask_ratio(pos_plan, pos_data, 10 * args.rounds, work)
    m = figures["multitask"]
    f = m["forwards_per_step"]
    print(
        f"train_step, {m['objectives']}: {m['mlm_ms']:.1f} ms ({f['mlm']:g} forward) vs "
        f"{m['mlm_pos_ms']:.1f} ms ({f['mlm + 0.5 pos']:g} forwards): {m['ratio']:.2f}x the time"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
