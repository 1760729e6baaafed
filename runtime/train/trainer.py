"""The training loop: executes a Plan.

A plain PyTorch loop over a ``transformers`` model built from config, in the shape of
nanoGPT's ``train.py``: :meth:`Trainer.setup` (model, optimizer, sampler, parallelism,
logging), :meth:`Trainer.train`, :meth:`Trainer.save_checkpoint`, :meth:`Trainer.cleanup`;
:mod:`~curriculumc.runtime.train.recipe` prepares what it needs (folder, data, order).
Self-paced scoring is :mod:`~curriculumc.runtime.ordering.scorers.model_ppl`'s and the
evaluations are :mod:`~curriculumc.runtime.evaluate.evaluation`'s; the trainer calls them
when the plan says. Every schedule it follows is a
pure function of the optimizer step -- the plan's ``data_fraction``, ``vocab_fraction`` and
``objectives``, :func:`lr_at` here, the sampler's batch draw, the masking draw -- so a
resumed run, or one on N processes, computes exactly what a single uninterrupted one does.

One optimizer step ``t``::

    indices  = sampler.indices(t)                  # global batch, same on every rank
    batch    = collate(corpus, indices)            # <s> ... </s>, padded
    for each active objective k:                   # seeded by (seed, t, k): exact on resume
        targets_k = k.targets(batch)               # labels_k, positions_k to hide (or none)
        input_k   = corrupt(batch, positions_k, k's random/keep split)  or the clean batch
    with a vocabulary pace: input_k = <unk> where hidden, and (hides inputs_and_labels)
        token labels_k = <unk> where the TARGET token is hidden    (vocabulary.py)
    groups   = the distinct inputs (torch.equal): the clean batch is one for all that read
               it (clm), each corruption its own -- registry.forwards_per_step of them
    for each micro-batch of this rank's rows:      # batch / (world x grad_accum) rows
        for each group: hidden = backbone(input)   # ONE forward PER DISTINCT INPUT
            loss_k = loss_sum_k(hidden) for the group's objectives
        loss   = sum_k w_k * loss_k / labels_k in the GLOBAL batch
        loss.backward()
    clip, AdamW step: backbone groups at lr_at(t), a unit's own head groups at
    plan.head_lr(unit, t) (units with ``lr``)

Dividing each objective's summed loss by its label count over the global batch makes the
gradient independent of how the batch is split across ranks and accumulation steps.

Keeping the device busy (:mod:`~curriculumc.runtime.train.prefetch`): everything before
the forward (indices ... groups above: :meth:`Trainer.prepare_step`) is a pure function of
the step, so the loop prepares step ``t + 1`` on a background thread during step ``t``'s
backward, and joins it before step ``t`` ends; a batch prepared from a sampler that a
self-paced re-score has since replaced is prepared again, and an error raised while
preparing step ``t`` is raised at step ``t``. The losses stay on the device: each step's
summed losses are read back together at the next logged step -- and before any
checkpoint, evaluation, re-score, phase switch line or interruption -- and accounted
step by step exactly as before (:meth:`Trainer._flush`). A loss that is not finite is
therefore found there, not at its own step: the run stops with E450 naming that step
(the first non-finite one) and no checkpoint is written after it, but the optimizer may
have taken up to ``log_every - 1`` more steps on the weights in memory (a direct call
of :meth:`Trainer.train_step` still checks before the optimizer step). Both are bitwise
invisible in the results (``prefetch`` and ``defer_losses`` switch them off; tests).
The prepared step also carries the learning rates and each micro-batch's forward
arguments, and the thread frees what a step leaves behind (its batch, its losses' spent
autograd graph) during a later backward: what is left on the main thread between the
model's calls is a few lines a step (``bench/README.md``, "host time").
On CUDA the prepared tensors are pinned and copied with ``non_blocking``. Under torchrun
(several processes) both are off for now: each step is prepared in line and its losses
read back at once, as before.

Signals (rank 0 and every other rank alike; under torchrun the ranks agree every step):

- SIGTERM or SIGINT (Ctrl-C): the current step is finished, a checkpoint of it written
  (``checkpoints/step-N``) and the run stops; the summary says ``interrupted`` and
  ``curriculumc run`` exits 128 + the signal (143, 130) printing the command that resumes.
  A second signal ends the process at once (the checkpoint of the last save stays).
- SIGUSR1 (Slurm's ``--signal=B:USR1@120`` pre-emption notice): a checkpoint of the
  current step is written and training goes on -- the SIGTERM that follows then loses
  nothing but the steps after it.

A checkpoint's state records whether it is *good* (:func:`~curriculumc.runtime.train.
checkpoint.verdict`: the losses since the previous checkpoint finite and not exploding);
a diverged run names its newest good checkpoint, the one ``--resume`` continues from.
"""

from __future__ import annotations

import hashlib
import math
import os
import random
import signal
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from curriculumc import registry
from curriculumc.errors import CurriculumError
from curriculumc.plan import Plan, TrainSpec
from curriculumc.runtime.evaluate.evaluation import EvalOutcomes
from curriculumc.runtime.train import checkpoint as ckpt
from curriculumc.runtime.train import distributed as dist_utils
from curriculumc.runtime.train import run_folder as rf
from curriculumc.runtime.train.objectives import (
    IGNORE,
    ObjectiveContext,
    build_objectives,
    collate,
    corrupt,
    split_of,
    step_generator,
)
from curriculumc.runtime.train.reporting import Reporter, start_wandb, wandb_image
from curriculumc.runtime.train.vocabulary import active as vocab_active
from curriculumc.runtime.train.vocabulary import check_tags, hide_inputs, hide_targets

#: resuming onto a checkpoint whose last step drew other examples than the sampler draws now
E_OTHER_DRAWS = "E421"


def draws_digest(indices) -> str:
    """A fingerprint of one step's global batch (its example indices, in draw order):
    what a checkpoint records of its last step, so that a resume can tell that the sampler
    still draws what the run drew (:meth:`Trainer._check_draws`)."""
    data = np.ascontiguousarray(np.asarray(indices, dtype=np.int64)).tobytes()
    return hashlib.sha256(data).hexdigest()


def lr_at(step: int, train: TrainSpec, drawn: Callable[[int], int] | None = None) -> float:
    """Learning rate of optimizer step ``step`` (0-based): linear warmup over
    ``train.warmup`` steps to ``train.lr``, then ``train.schedule`` -- ``linear`` or
    ``cosine`` decay to 0 at ``train.steps``, or ``constant``. Pure.

    ``drawn`` (a batch ramp: :meth:`Plan.examples_before`) makes it Megatron's
    sample-based schedule: the warm-up and the decay keep their ends (steps ``warmup``
    and ``steps``), and between them the rate moves with the examples drawn rather than
    with the steps -- ``lr * D(t + 1) / D(warmup)`` while warming up, decay progress
    ``(D(t) - D(warmup)) / (D(steps) - D(warmup))`` -- so a step of 8 examples moves it a
    quarter as far as one of 32. With every step the same size this is the schedule in
    steps, exactly (``D(t) = t`` is the default)."""
    at = (lambda t: t) if drawn is None else drawn
    warmup = train.warmup
    if warmup > 0 and step < warmup:
        return train.lr * at(step + 1) / at(warmup)
    if train.schedule == "constant":
        return train.lr
    progress = min(1.0, (at(step) - at(warmup)) / max(1, at(train.steps) - at(warmup)))
    if train.schedule == "cosine":
        return train.lr * 0.5 * (1.0 + math.cos(math.pi * progress))
    if train.schedule == "linear":
        return train.lr * (1.0 - progress)
    raise CurriculumError.single(
        "E442",
        f"unknown learning-rate schedule {train.schedule!r}",
        hint="linear, cosine, constant",
    )


def plan_lr(plan: Plan, step: int) -> float:
    """The run's learning rate at ``step`` (:func:`lr_at`), following a batch ramp's
    examples when the plan has one: what the trainer, ``plot`` and ``simulate`` read."""
    drawn = None if plan.batch_ramp is None else plan.examples_before
    return lr_at(step, plan.train, drawn)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices)."""
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@dataclass(frozen=True)
class RunOptions:
    """How to run (not what: that is the plan).

    ``run_dir``: the run folder; ``resume_from``: a checkpoint folder to continue from;
    ``device``: ``cpu``/``cuda``/... (default: best available); ``compile``: wrap the model
    in ``torch.compile``; ``wandb``: log to wandb even if the plan names no project;
    ``quiet``: only important messages; ``interactive``: rich progress bar (default: when
    stdout is a terminal); ``run_name``: for wandb; ``cache_dir``: scorer caches;
    ``dev_texts``: held-out texts for ``eval ppl``; ``stop_after``: stop after this many
    steps, without the final save (``run --stop-after`` then writes a checkpoint).
    """

    run_dir: Path
    resume_from: Path | None = None
    device: str | None = None
    compile: bool = False
    wandb: bool = False
    quiet: bool = False
    interactive: bool | None = None
    run_name: str = "run"
    cache_dir: Path | None = None
    dev_texts: tuple[str, ...] | None = None
    stop_after: int | None = None
    resume_changes: dict | None = None
    written_plan: Plan | None = None  # the plan as compiled, when ``plan`` is it resolved
    milestone_names: dict | None = None  # {step: "chck_1M"}: checkpoints at word counts


#: at most this many steps' losses wait on the device before they are read back
_MOST_PENDING = 256

#: signals that stop a run after the current step (with a checkpoint)
STOP_SIGNALS = ("SIGTERM", "SIGINT")
#: a signal that writes a checkpoint after the current step and goes on
CHECKPOINT_SIGNAL = "SIGUSR1"


@dataclass
class StepResult:
    """Losses of one optimizer step over the global batch.

    In the loop the losses stay on the device until they are read back (:meth:`Trainer.
    _flush`): then ``losses`` and ``total`` are None and ``sums`` (the forward's
    ``{objective: summed loss}`` of each micro-batch, as it returned them: nothing is
    computed on them before the read-back), ``counts`` (each objective's labels) and
    ``weights`` say how to compute them -- the same arithmetic, later."""

    losses: dict[str, float] | None
    total: float | None
    tokens: int
    words: int
    sums: Any = None
    counts: dict[str, int] | None = None
    weights: dict[str, float] | None = None


@dataclass
class PreparedStep:
    """Everything step ``step`` needs before its forward (:meth:`Trainer.prepare_step`):
    a pure function of the step, the sampler and the objective weights."""

    step: int
    indices: np.ndarray
    batch: Any
    groups: list
    labels: dict
    counts: dict[str, int]
    scales: dict[str, float]
    tokens: int
    words: int
    #: each optimizer group's learning rate at this step (:meth:`Trainer.learning_rates`)
    lrs: tuple[float, ...] = ()
    #: this rank's micro-batches (:meth:`Trainer._micro_rows`): each one's keyword
    #: arguments of the model's forward (groups, attention_mask, labels, scales), on the host
    micro: list[dict] = field(default_factory=list)


#: the context manager of a step that needs none (no autocast, no DDP ``no_sync``)
_NO_CONTEXT = nullcontext()


@dataclass(frozen=True)
class _StepFlags:
    """How every step of one :meth:`Trainer.train` call runs, worked out once for it
    (:meth:`Trainer._step_flags`) rather than at each step."""

    cuda: bool  # bf16 autocast
    move: bool  # the prepared tensors are copied to the device (off the CPU)
    contexts: bool  # a context around the forward: autocast, or DDP's no_sync
    deferred: bool  # the losses stay on the device until read back (Trainer._flush)
    parameters: list  # every parameter (clipping skips those without a gradient)


class _Clock:
    """The main thread's time in the loop, split: ``compute`` (forward, backward, clipping
    and the optimizer step) and ``host`` (the rest of each step's iteration: preparing or
    taking the batch, copies, bookkeeping, logging). What ``bench/train_throughput.py``
    reports as host time on the critical path: in all (``host``) and step by step
    (``host_steps``, seconds, of the first :attr:`STEPS_TIMED` steps timed:
    the first step's batch is prepared on time, and a shared machine preempts some)."""

    #: how many steps' host times ``host_steps`` keeps
    STEPS_TIMED = 100_000

    def __init__(self):
        self.compute = 0.0
        self.host = 0.0
        self.steps = 0
        self.host_steps: list[float] = []


def _curriculum_model(model, objectives: dict):
    """The LM plus every objective's head as one module, whose forward runs the backbone
    once per input group and returns each active objective's summed loss (what DDP wraps:
    every forward of a step is inside this one module call)."""
    import torch
    from torch import nn

    from curriculumc.runtime.train.models import backbone

    class _CurriculumModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model
            self.heads = nn.ModuleDict(
                {name: o.head for name, o in objectives.items() if o.head is not None}
            )

        def forward(self, groups, attention_mask, labels: dict, scales: dict):
            """``groups``: ``[(input_ids, (objective, ...)), ...]``, one backbone forward
            each; every objective's head runs on its own group's hidden states (on zero
            rows when it has no label here, so that it takes part in backward)."""
            sums = {}
            for input_ids, names in groups:
                hidden = backbone(self.model)(
                    input_ids=input_ids, attention_mask=attention_mask
                ).last_hidden_state
                for name in names:
                    sums[name] = objectives[name].loss_sum(self.model, hidden, labels[name])
            total = torch.stack([scales[name] * sums[name] for name in sums]).sum()
            return total, sums

    return _CurriculumModel()


def _to_device(inputs: dict, device) -> dict:
    """A micro-batch's forward arguments (:attr:`PreparedStep.micro`) copied to ``device``
    (``non_blocking``: their host tensors are page-locked)."""
    return {
        "groups": [(ids.to(device, non_blocking=True), names) for ids, names in inputs["groups"]],
        "attention_mask": inputs["attention_mask"].to(device, non_blocking=True),
        "labels": {n: v.to(device, non_blocking=True) for n, v in inputs["labels"].items()},
        "scales": inputs["scales"],
    }


def input_groups(inputs: dict) -> list[tuple[object, tuple[str, ...]]]:
    """``{objective: input ids}`` as ``[(input ids, (objectives...)), ...]``: objectives
    whose inputs are equal (``torch.equal``, e.g. every reader of the clean batch) share
    one group -- one backbone forward --, in the order of first appearance."""
    import torch

    groups: list[tuple[object, list[str]]] = []
    for name, ids in inputs.items():
        for held, names in groups:
            if held is ids or (held.shape == ids.shape and torch.equal(held, ids)):
                names.append(name)
                break
        else:
            groups.append((ids, [name]))
    return [(ids, tuple(names)) for ids, names in groups]


def decay_groups(module, weight_decay: float, *, exclude=()) -> list[dict]:
    """AdamW parameter groups: weight decay on matrices only (not biases, not LayerNorm).
    Parameters in ``exclude`` (by identity) are left out (they are in a unit's groups)."""
    skip = {id(p) for p in exclude}
    decay, no_decay = [], []
    for _, param in module.named_parameters():
        if param.requires_grad and id(param) not in skip:
            (decay if param.ndim >= 2 else no_decay).append(param)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def head_parameters(model, objective) -> list:
    """The parameters of ``objective``'s head: its own head's, or -- for an objective that
    uses the model's LM head (mlm, clm) -- the LM head's parameters that are NOT the input
    embedding matrix (tied weights train with the backbone), found by identity."""
    from curriculumc.runtime.train.models import lm_head

    if objective.head is not None:
        return [p for p in objective.head.parameters() if p.requires_grad]
    embeddings = model.get_input_embeddings()
    tied = {id(p) for p in embeddings.parameters()} if embeddings is not None else set()
    seen, out = set(), []
    for param in lm_head(model).parameters():
        if param.requires_grad and id(param) not in tied and id(param) not in seen:
            seen.add(id(param))
            out.append(param)
    return out


def optimizer_groups(module, model, objectives: dict, plan: Plan) -> list[dict]:
    """AdamW parameter groups: for each unit with its own ``lr`` (in the plan's order), its
    head's parameters (:func:`head_parameters`; a parameter already claimed by an earlier
    unit stays there) split by :func:`decay_groups`' rule and marked ``unit``; then the
    rest -- backbone and the heads of units without ``lr`` -- as :func:`decay_groups`
    (exactly today's two groups when no unit has an ``lr``). Empty groups are left out
    of a unit's pair."""
    weight_decay = plan.train.weight_decay
    claimed: set[int] = set()
    unit_groups: list[dict] = []
    for unit in plan.trained_units():
        if unit.lr is None or unit.name not in objectives:
            continue
        params = [p for p in head_parameters(model, objectives[unit.name]) if id(p) not in claimed]
        claimed.update(id(p) for p in params)
        for decay in (True, False):
            chosen = [p for p in params if (p.ndim >= 2) == decay]
            if chosen:
                unit_groups.append(
                    {
                        "params": chosen,
                        "weight_decay": weight_decay if decay else 0.0,
                        "unit": unit.name,
                    }
                )
    rest = decay_groups(module, weight_decay, exclude=[p for g in unit_groups for p in g["params"]])
    return rest + unit_groups


@dataclass
class Trainer:
    """Runs ``plan`` on prepared ``data`` (``.corpus``, ``.tokenizer``, ``.summary``) in
    ``order`` (example indices, easiest first; None for a self-paced sort) with its sort
    ``keys`` (what ``ties include`` reads; None without a sort)."""

    plan: Plan
    data: Any
    order: np.ndarray | None
    options: RunOptions
    world: dist_utils.World = field(default_factory=dist_utils.World)
    keys: np.ndarray | None = None

    # --- setup -------------------------------------------------------------------------

    def setup(self) -> None:
        """Build model, heads, optimizer and sampler; resume when asked."""
        self.folder = rf.RunFolder(Path(self.options.run_dir))
        # what checkpoints name as "the plan": the compiled one (its hash names the run
        # folder), also when ``plan`` is it resolved against the data (times in words)
        self.written_plan = self.options.written_plan or self.plan
        self._setup_model()
        self._setup_optimizer()
        self.step = 0
        self.words_seen = 0
        self.tokens_seen = 0
        self.switches: list[dict] = []
        self.eval_results: dict[str, dict] = {}
        self.eval_outcomes = EvalOutcomes()
        self.wall_before = 0.0
        self.window = _Window()
        self.since_checkpoint: list[float] = []  # step losses since the last checkpoint
        self.best_loss: float | None = None
        self.interrupted: str | None = None
        self.rescorer = self._self_paced_scorer()
        #: internal switches (tests and bench compare both ways; results are bitwise equal):
        #: prepare the next step's batch on a thread; read losses back only when needed.
        #: Both stay off under torchrun until a multi-process run has been checked with them
        #: on a GPU (one two-node CPU test hung once with them on, never since: unexplained)
        self.prefetch = not self.world.distributed
        self.defer_losses = not self.world.distributed
        self.clock = _Clock()
        self._pending: list[StepResult] = []
        self._prefetcher = None
        self._prefetch_until = None
        self._flags: _StepFlags | None = None  # set for the steps of a train() call
        self.last_drawn: np.ndarray | None = None  # the global batch of step self.step - 1
        self._resumed_draws: str | None = None  # what the checkpoint's last step drew
        if self.options.resume_from is not None:
            self._resume(Path(self.options.resume_from))
        self._setup_sampler()
        self._check_draws()
        self._setup_parallel()
        self._setup_logging()
        self._check_evaluations()
        if self.options.resume_from is not None and self.world.is_main:
            record = {"step": self.step, "event": "resumed", "from": str(self.options.resume_from)}
            if self.options.resume_changes:
                record["changed"] = self.options.resume_changes
            self.metrics.write(record)

    def _setup_model(self) -> None:
        """The model from config (seeded), every unit's objective and head, on the device."""
        import torch

        from curriculumc.runtime.train.models import (
            SpecialIds,
            build_model,
            count_parameters,
            hidden_size,
            model_config,
        )

        plan, train = self.plan, self.plan.train
        self.device = torch.device(self.world.device)
        self.corpus = self.data.corpus
        # words seen: the words each example's kept tokens hold (the one definition,
        # simulate's too); what truncation cut is reported at start and in the summary
        self.example_words = self.corpus.text_words(train.seq)
        self.truncation = self.corpus.truncation(train.seq)
        self.tokenizer = self.data.tokenizer
        self.specials = SpecialIds.from_tokenizer(self.tokenizer)
        self.vocab_size = len(self.tokenizer)
        self.shares = self.world.size * train.grad_accum  # micro-batches of a global batch
        if train.batch_unit == "tokens":
            # each share needs a row: a budget of shares x (seq - 2) text tokens has that many
            if train.batch < self.shares * (train.seq - 2):
                raise CurriculumError.single(
                    "E440",
                    f"a budget of {train.batch:,} tokens does not split into "
                    f"{self.world.size} process(es) x {train.grad_accum} accumulation "
                    f"step(s) of up to {train.seq - 2} tokens an example",
                    hint=f"use a budget of at least {self.shares * (train.seq - 2):,} tokens",
                )
            self.micro_batch = None
        else:
            # every size a batch ramp takes splits too (Megatron's check of each global
            # batch against micro-batch x data-parallel size), checked here, before step 0
            sizes = plan.batch_ramp.sizes() if plan.batch_ramp is not None else (train.batch,)
            for size in sizes:
                per_rank, remainder = divmod(size, self.shares)
                if remainder or per_rank < 1:
                    ramp = "" if size == train.batch else " (a size the batch ramp takes)"
                    raise CurriculumError.single(
                        "E440",
                        f"batch {size}{ramp} does not split into {self.world.size} "
                        f"process(es) x {train.grad_accum} accumulation step(s)",
                        hint="make the batch (and a ramp's start and increment) a multiple "
                        "of processes x grad_accum",
                    )
            self.micro_batch = train.batch // self.shares  # (a ramp's step: its own share)

        seed_everything(train.seed)
        config = model_config(
            plan.model.preset,
            family=plan.model.family,
            vocab_size=self.vocab_size,
            seq=train.seq,
            specials=self.specials,
        )
        self.model = build_model(config, plan.model.family)
        # the tokenizer's limit is the model's (its positions, less RoBERTa's offset), not
        # the training seq: evaluation sentences may be longer, and fit (issue 17)
        from curriculumc.runtime.evaluate.likelihoods import position_limit

        self.max_length = position_limit(self.model) or train.seq
        if hasattr(self.tokenizer, "model_max_length"):
            self.tokenizer.model_max_length = self.max_length
        context = ObjectiveContext(
            family=plan.model.family,
            vocab_size=self.vocab_size,
            hidden_size=hidden_size(config),
            specials=self.specials,
            config=config,
        )
        self.objectives = build_objectives(plan.trained_units(), context)
        check_tags(plan, self.corpus)
        signatures = registry.objectives()
        #: whether each unit's targets are token ids (the vocabulary curriculum maps them)
        self.token_targets = {
            u.name: signatures[u.objective].token_targets if u.objective in signatures else True
            for u in plan.trained_units()
        }
        self.module = _curriculum_model(self.model, self.objectives).to(self.device)
        self.heads = dict(self.module.heads.items())
        self.parameters = count_parameters(self.module)

    def _setup_optimizer(self) -> None:
        """AdamW over the model and heads, one pair of groups per unit with its own ``lr``
        (the learning rates are set every step: :meth:`learning_rates`)."""
        import torch

        self.optimizer = torch.optim.AdamW(
            optimizer_groups(self.module, self.model, self.objectives, self.plan),
            lr=self.plan.train.lr,
            betas=(0.9, 0.98),
            eps=1e-6,
        )

    def _setup_sampler(self) -> None:
        """The sampler over the initial order. A self-paced run draws from all data,
        uniformly, until its first score (the seed's rule), or -- resumed after one --
        from the checkpoint's order, its draw stream restarted at that score's step."""
        from curriculumc.runtime.ordering.sampler import CurriculumSampler

        if self.rescorer is None:
            self.sampler = CurriculumSampler.for_corpus(
                self.plan, self.corpus, self.order, keys=self.keys
            )
        elif self.rescorer.model_scores is None:
            everything = np.arange(len(self.corpus), dtype=np.int64)
            self.sampler = CurriculumSampler.for_corpus(
                self.plan, self.corpus, everything, paced=False
            )
        else:
            self._self_paced_sampler(self.rescorer.scored_at)

    def _check_draws(self) -> None:
        """On a resume, the sampler must draw for the checkpoint's last step what the run
        drew there (its :func:`draws_digest`): the same data, order and plan make the same
        draws unless the sampler's rules changed between the versions that began and
        continue the run -- then the two halves would train on different streams, so the
        resume is refused (E421). A checkpoint written before the digest passes."""
        step, wanted = self.step, self._resumed_draws
        if wanted is None or step == 0 or step - 1 < self.sampler.start_step:
            return
        drawn = self.sampler.indices(step - 1)
        self.last_drawn = drawn  # (a checkpoint before the next step records it again)
        if draws_digest(drawn) != wanted:
            raise CurriculumError.single(
                E_OTHER_DRAWS,
                f"the checkpoint's last step ({step - 1:,}) drew other examples than this "
                "curriculumc draws for it: the sampler's rules changed since the run began, "
                "so a resumed run would not continue the same stream",
                hint="finish the run with the version that began it, or start over (--force)",
            )

    def _self_paced_sampler(self, step: int) -> None:
        """The sampler over the rescorer's latest order, its stream starting at ``step``."""
        from curriculumc.runtime.ordering.sampler import CurriculumSampler
        from curriculumc.runtime.ordering.scorers import sort_keys

        order = self.rescorer.order()
        keys = sort_keys(self.rescorer.scores(), self.plan.sort.descending)[order]
        self.sampler = CurriculumSampler.for_corpus(
            self.plan, self.corpus, order, keys=keys, start_step=step
        )

    def _setup_parallel(self) -> None:
        """DDP over the processes (torchrun), then torch.compile when asked."""
        import torch

        self.train_module = self.module
        if self.world.distributed:
            from torch.nn.parallel import DistributedDataParallel

            self.train_module = DistributedDataParallel(
                self.train_module,
                device_ids=[self.device.index] if self.device.type == "cuda" else None,
                find_unused_parameters=self._some_head_idles(),
            )
        if self.options.compile:  # after DDP, as torch recommends
            self.train_module = torch.compile(self.train_module, dynamic=True)

    def _setup_logging(self) -> None:
        """metrics.jsonl, the progress display and (optionally) wandb, on rank 0."""
        plan, train = self.plan, self.plan.train
        main = self.world.is_main
        self.metrics = rf.MetricsLog(self.folder.metrics if main else None)
        self.reporter = Reporter(
            total_steps=train.steps,
            start_step=self.step,
            quiet=self.options.quiet,
            interactive=self.options.interactive,
            enabled=main,
        )
        if main and (plan.output.wandb_project or self.options.wandb):
            run, note = start_wandb(
                plan.output.wandb_project or "curriculumc",
                name=self.options.run_name,
                config=plan.to_dict(),
                run_dir=self.folder.root,
            )
            self.reporter.wandb = run
            if note:
                self.reporter.message(note)
            wandb_image(run, self.folder.timeline)
        self.reporter.message(
            f"training {plan.model.preset} ({self.parameters / 1e6:.2f}M parameters) on "
            f"{len(self.corpus):,} examples, {train.steps:,} steps of {train.batch_text()} on "
            f"{self.world.size} x {self.device}"
            + (f", resumed at step {self.step}" if self.step else ""),
            important=False,
        )

    def _some_head_idles(self) -> bool:
        # DDP must be told when a step may leave parameters without gradients: a head
        # (or the LM head) of an objective that is not active in every phase.
        phases = [self.objective_weights(p.start) for p in self.plan.phases] or [
            self.objective_weights(0)
        ]
        always = set.intersection(*(set(w) for w in phases))
        return always != set(self.objectives)

    def _self_paced_scorer(self):
        from curriculumc.runtime.ordering.scorers.model_ppl import (
            ModelPplScorer,
            is_self_paced,
            model_loss_scorer,
        )

        if not is_self_paced(self.plan.sort):
            if self.order is None:
                raise ValueError("an order is needed unless the sort is self-paced")
            return None
        score_fn = model_loss_scorer(
            self.model,
            family=self.plan.model.family,
            seq=self.plan.train.seq,
            specials=self.specials,
            device=self.device,
        )
        return ModelPplScorer(
            self.plan.sort,
            self.corpus,
            score_fn,
            cache_dir=self.options.cache_dir,
            seed=self.plan.train.seed,
        )

    def _resume(self, folder: Path) -> None:
        state = ckpt.load(folder, model=self.model, heads=self.heads, optimizer=self.optimizer)
        self.step = int(state["step"])
        self.words_seen = int(state.get("words_seen", 0))
        self.tokens_seen = int(state.get("tokens_seen", 0))
        self.switches = list(state.get("switches", []))
        self.eval_results = dict(state.get("evals", {}))
        self.wall_before = float(state.get("wall_s", 0.0))
        self.window = _Window.from_dict(state.get("window"))
        self._resumed_draws = state.get("last_draws")
        self.since_checkpoint = []
        best = state.get("best_loss")
        self.best_loss = float(best) if best is not None else None
        if self.rescorer is not None and (folder / "model_scores.npy").is_file():
            self.rescorer.load_state_dict(
                {
                    "model_scores": np.load(folder / "model_scores.npy"),
                    "scored_at": state.get("scored_at"),
                }
            )
        if self.world.is_main:
            rf.truncate_metrics(self.folder.metrics, self.step)

    # --- schedules -----------------------------------------------------------------------

    def objective_weights(self, step: int) -> dict[str, float]:
        """``{unit: weight}`` at ``step`` (the plan's rule; E441 when a plan trains nothing)."""
        weights = self.plan.objectives(step)
        if not weights:
            raise CurriculumError.single(
                "E441", f"no objective is active at step {step}", hint="add `at 0 mlm` (or clm)"
            )
        return weights

    # --- training ------------------------------------------------------------------------

    def train(self) -> dict:
        """Run from the current step to the plan's last; returns the summary."""

        train = self.plan.train
        steps_end = (
            train.steps
            if self.options.stop_after is None
            else min(train.steps, self.options.stop_after)
        )
        started = self._started = time.perf_counter()
        active = self.objective_weights(self.step - 1) if self.step > 0 else None
        self.module.train()
        previous_handlers = self._catch_signals()
        from curriculumc.runtime.train.prefetch import Prefetcher

        self._prefetcher = Prefetcher(self.prepare_step) if self.prefetch else None
        self._prefetch_until = steps_end
        self._flags = self._step_flags()
        try:
            self._loop(steps_end, active)
            self._flush()
        finally:
            if self._prefetcher is not None:
                self._prefetcher.close()
            self._prefetcher = self._prefetch_until = self._flags = None
            for signum, handler in previous_handlers.items():
                signal.signal(signum, handler)
        wall = self.wall_before + time.perf_counter() - started
        if self.step >= train.steps:
            self.save_checkpoint(self.folder.final, wall_s=wall)
        return self.summary(wall)

    def _loop(self, steps_end: int, active: dict | None) -> None:
        import torch

        train = self.plan.train
        clock = self.clock
        log_every = max(1, self.plan.output.log_every)
        cuda = self.device.type == "cuda"
        for step in range(self.step, steps_end):
            began, computed = time.perf_counter(), clock.compute
            weights = self.objective_weights(step)
            if weights != active:
                if active is not None:  # the losses before the switch, then its line
                    self._flush()
                self._log_switch(step, active, weights)
                active = weights
            if self.rescorer is not None and self.rescorer.due(step):
                self._flush()
                self._rescore(step)

            tick = time.perf_counter()
            result = self.train_step(step, weights)
            if result.sums is None and cuda:
                torch.cuda.synchronize(self.device)
            seconds = time.perf_counter() - tick
            self.step = step + 1
            self.words_seen += result.words
            self.tokens_seen += result.tokens
            self._pending.append((self.step, result, seconds, self.words_seen))
            # the last step of the plan, not of this process (--stop-after, a signal): a
            # resumed run must log exactly the lines of an uninterrupted one
            logged = self.step % log_every == 0 or self.step in (1, train.steps)
            if logged or result.sums is None or len(self._pending) >= _MOST_PENDING:
                self._flush()
            result = None  # held by the pending steps: freed with them, on the thread
            if logged:
                window = self.window
                record = self._record(self.step, window.mean(), window)
                for name, steps in window.partial().items():  # active in part of the window
                    record[f"steps/{name}"] = steps
                self.metrics.write(record)
                self.reporter.log(record)
                self.window = _Window()
            self._maybe_evaluate(self.step)
            saved = False
            if self.plan.checkpoint_due(self.step):  # every N steps, and the milestones
                self.save_checkpoint(self.folder.step_checkpoint(self.step))
                saved = True
            stop, checkpoint_now = self._signals_pending()
            if (stop or checkpoint_now) and not saved and self.step < train.steps:
                name = stop or CHECKPOINT_SIGNAL
                self.reporter.message(f"step {self.step}: {name} received, saving a checkpoint")
                self.save_checkpoint(self.folder.step_checkpoint(self.step))
            host = time.perf_counter() - began - (clock.compute - computed)
            clock.host += host
            if clock.steps < clock.STEPS_TIMED:
                clock.host_steps.append(host)
            clock.steps += 1
            if stop and self.step < steps_end:
                self._flush()
                self.interrupted = stop
                self.metrics.write({"step": self.step, "event": "interrupted", "signal": stop})
                return

    def _flush(self) -> None:
        """Read the pending steps' losses back (one device-to-host copy for all of them)
        and account them in order as each step once was: the metrics window, the losses
        since the last checkpoint, the per-step report. The first step whose loss is not
        finite stops the run here (E450, :meth:`_diverged`, naming that step) -- called
        at every logged step and before anything is written (a checkpoint, an evaluation,
        a re-score, a phase switch's line, an interruption), so no checkpoint holds the
        weights of a step whose loss was not finite. The steps' losses still hold their
        autograd graphs (spent: the backward freed what they saved); with a prefetcher they
        are let go of on its thread, during the next backward (~0.17 ms a step of teardown
        that would otherwise be the main thread's)."""
        pending, self._pending = self._pending, []
        if not pending:
            return
        import torch

        # every summed loss of every pending step's micro-batches, in order
        flat = [
            loss_sums[n]
            for _, result, _, _ in pending
            if result.sums is not None
            for loss_sums in result.sums
            for n in result.weights
        ]
        if flat:
            tick = time.perf_counter()
            with torch.no_grad():  # Python floats: float64, exact from float32/bf16
                values = torch.stack(flat).tolist()  # the one host sync
            last = pending[-1]
            pending[-1] = (last[0], last[1], last[2] + time.perf_counter() - tick, last[3])
        at = 0
        # the display reads every step's record only for wandb; a bar shows the latest
        every, latest = self.reporter.wants_every_step, self.reporter.wants_latest
        for index, (step, result, seconds, words_seen) in enumerate(pending):
            if result.sums is not None:
                weights, counts = result.weights, result.counts
                size = len(weights)
                sums = values[at : at + size]
                for _ in result.sums[1:]:  # the micro-batches added in order, in float64
                    at += size
                    sums = [a + b for a, b in zip(sums, values[at : at + size])]
                at += size
                losses = {n: sums[i] / max(1, counts[n]) for i, n in enumerate(weights)}
                result = StepResult(
                    losses=losses,
                    total=sum(weights[n] * losses[n] for n in weights),
                    tokens=result.tokens,
                    words=result.words,
                )
                if not all(math.isfinite(v) for v in losses.values()):
                    self._diverged(step - 1, losses)
            self.window.add(result, seconds)
            self.since_checkpoint.append(result.total)
            if every or (latest and index == len(pending) - 1):
                self.reporter.step(self._record(step, result, self.window, words_seen=words_seen))
        if self._prefetcher is not None:
            self._prefetcher.release(pending)

    # --- signals ------------------------------------------------------------------------

    def _catch_signals(self) -> dict:
        """Install the handlers of SIGTERM/SIGINT (stop after this step) and SIGUSR1
        (checkpoint after this step); returns the previous handlers. Only the main thread
        may set handlers: elsewhere (a library calling train() in a thread) none are set."""
        self._stop_signal: str | None = None
        self._checkpoint_signal = False
        if threading.current_thread() is not threading.main_thread():
            return {}

        def stop(signum, frame):
            if self._stop_signal is not None:  # the second one: at once
                signal.signal(signum, signal.SIG_DFL)
                os.kill(os.getpid(), signum)
                return
            self._stop_signal = signal.Signals(signum).name

        def checkpoint(signum, frame):
            self._checkpoint_signal = True

        previous = {}
        handlers = [(name, stop) for name in STOP_SIGNALS] + [(CHECKPOINT_SIGNAL, checkpoint)]
        for name, handler in handlers:
            signum = getattr(signal, name, None)
            if signum is not None:
                previous[signum] = signal.signal(signum, handler)
        return previous

    def _signals_pending(self) -> tuple[str | None, bool]:
        """(the stop signal's name or None, whether to checkpoint), taken and cleared;
        under torchrun the ranks agree (one all-reduce a step) so that all stop together."""
        stop = getattr(self, "_stop_signal", None)
        checkpoint = getattr(self, "_checkpoint_signal", False)
        self._checkpoint_signal = False
        if self.world.distributed:
            import torch

            flags = torch.tensor(
                [float(stop is not None), float(checkpoint)],
                dtype=torch.float64,
                device=self.device,
            )
            dist_utils.all_reduce_sum(flags, self.world)
            stop = (stop or "SIGTERM") if flags[0] > 0 else None
            checkpoint = bool(flags[1] > 0)
        return stop, checkpoint

    def step_inputs(self, step: int, batch, weights: dict[str, float]) -> tuple[dict, dict]:
        """``({objective: input ids}, {objective: labels})`` of step ``step``'s global
        ``batch``: each objective's targets (generator ``objective:NAME``), each corrupting
        objective's own corrupted copy at its written split (generator ``corrupt:NAME``),
        the clean batch for the others; then the vocabulary curriculum. A pure function of
        (seed, step, unit names, batch)."""
        seed = self.plan.train.seed
        inputs, labels, shifts = {}, {}, {}
        for name in weights:
            objective = self.objectives[name]
            target = objective.targets(batch, step_generator(seed, step, f"objective:{name}"))
            labels[name], shifts[name] = target.labels, target.shift
            if target.corrupt is None:
                inputs[name] = batch.ids
                continue
            random, keep = split_of(objective)
            inputs[name] = corrupt(
                batch.ids,
                target.corrupt,
                step_generator(seed, step, f"corrupt:{name}"),
                mask_id=self.specials.mask,
                vocab_size=self.vocab_size,
                random=random,
                keep=keep,
            )
        if vocab_active(self.plan):
            rule = self.plan.vocab_rule
            how = dict(
                order=rule.order,
                fraction=self.plan.vocab_fraction(step),
                vocab_size=self.vocab_size,
                special_ids=self.specials.all,
                unk_id=self.specials.unk,
            )
            mapped: dict[int, Any] = {}  # the clean batch is mapped once for all its readers
            for name, ids in inputs.items():
                if id(ids) not in mapped:
                    mapped[id(ids)] = hide_inputs(ids, batch.pos, **how)
                inputs[name] = mapped[id(ids)]
            if rule.hides == "inputs_and_labels":
                for name in labels:
                    if self.token_targets.get(name, True):
                        labels[name] = hide_targets(
                            labels[name], batch.pos, shift=shifts[name], ignore=IGNORE, **how
                        )
        return inputs, labels

    def learning_rates(self, step: int) -> tuple[float, ...]:
        """Each optimizer group's learning rate at ``step``, in the optimizer's order:
        backbone groups at :func:`lr_at`, a unit's own head groups at ``plan.head_lr``.
        Pure (it only reads the groups' ``unit``): part of the prepared step."""
        lr = plan_lr(self.plan, step)
        return tuple(
            lr if group.get("unit") is None else self.plan.head_lr(group["unit"], step)
            for group in self.optimizer.param_groups
        )

    def prepare_step(self, step: int, sampler, weights: dict[str, float]) -> PreparedStep:
        """Everything of step ``step`` before its forward: the sampler's global batch,
        collated; each objective's targets and input (:meth:`step_inputs`, the vocabulary
        map), grouped by distinct input; label counts, loss scales, the learning rates, and
        this rank's micro-batches cut from it (the forward's arguments of each). Pure (a
        function of the step, ``sampler`` and ``weights``): the loop runs it for the next
        step on a background thread (:mod:`~curriculumc.runtime.train.prefetch`). On CUDA
        the tensors are pinned, for non-blocking copies."""
        train = self.plan.train
        indices = sampler.indices(step)
        # this step's length: train.seq, or a sequence-length warmup's (each example cut to
        # seq - 2 tokens of text; what is seen is counted at it too)
        seq = self.plan.seq_at(step)
        batch = collate(self.corpus, indices, seq=seq, specials=self.specials)
        inputs, labels = self.step_inputs(step, batch, weights)
        groups = input_groups(inputs)
        counts = {name: int((labels[name] != IGNORE).sum()) for name in weights}
        # DDP averages gradients over ranks; scaling by the world size makes that a sum
        scales = {name: weights[name] * self.world.size / max(1, counts[name]) for name in weights}
        tokens = int(batch.attention_mask.sum()) - 2 * len(indices)  # text: no <s> </s>
        if seq == train.seq:
            words = int(self.example_words[np.asarray(indices)].sum())  # those read
        else:
            words = int(self.corpus.read_counts(indices, seq)[0].sum())
        if self.device.type == "cuda":  # page-locked: the copies to the device overlap
            groups = [(ids.pin_memory(), names) for ids, names in groups]
            labels = {name: value.pin_memory() for name, value in labels.items()}
            batch = replace(batch, attention_mask=batch.attention_mask.pin_memory())
        micro = [
            {
                "groups": [(ids[rows], names) for ids, names in groups],
                "attention_mask": batch.attention_mask[rows],
                "labels": {name: labels[name][rows] for name in weights},
                "scales": scales,
            }
            for rows in self._micro_rows(batch)
        ]
        lrs = self.learning_rates(step)
        return PreparedStep(
            step, indices, batch, groups, labels, counts, scales, tokens, words, lrs, micro
        )

    def _prepared(self, step: int, weights: dict[str, float]) -> PreparedStep:
        """Step ``step``'s prepared batch: the background thread's when it prepared this
        step with this sampler and these weights, else prepared now."""
        if self._prefetcher is None:
            return self.prepare_step(step, self.sampler, weights)
        return self._prefetcher.take(step, (self.sampler, weights))

    def _arm_next(self, step: int) -> None:
        """In the loop: name step ``step + 1``'s preparation (the thread starts it when
        the first backward does: :meth:`train_step` fires it then -- the backward runs
        without the GIL, so the thread's Python delays none of the main thread's)."""
        following = step + 1
        if self._prefetcher is None or following >= (self._prefetch_until or 0):
            return
        upcoming = self.plan.objectives(following)
        if upcoming:  # (none: E441 at that step, in the main thread)
            self._prefetcher.arm(following, (self.sampler, upcoming))

    def _step_flags(self) -> _StepFlags:
        device = self.device.type
        if getattr(self, "_all_parameters", None) is None:  # listed once: 0.5 ms a step
            self._all_parameters = list(self.module.parameters())
        return _StepFlags(
            cuda=device == "cuda",
            move=device != "cpu",
            contexts=device == "cuda"
            or (self.world.distributed and self.plan.train.grad_accum > 1),
            # (under torchrun the sums are all-reduced, and read back, every step)
            deferred=self.defer_losses
            and self._prefetch_until is not None
            and not self.world.distributed,
            parameters=self._all_parameters,
        )

    def _fire_next(self, micro: int, tick: float) -> float:
        """After the first micro-batch's forward: start the next step's preparation on the
        thread (it runs during this backward), its hand-over on the host's clock. Returns
        the compute clock's new start."""
        if micro != 0 or self._prefetcher is None:
            return tick
        self.clock.compute += time.perf_counter() - tick
        self._prefetcher.fire()
        return time.perf_counter()

    def train_step(self, step: int, weights: dict[str, float]) -> StepResult:
        """One optimizer step on the global batch of ``step``.

        Called directly (outside :meth:`train`) it reads the losses back and raises
        CurriculumError E450 when one is not finite, before the optimizer touches the
        weights. In the loop (``defer_losses``) the losses stay on the device (the result's
        ``sums``) and are checked when read back, at the next logged step or before the
        next checkpoint (:meth:`_flush`).

        The main thread's part of a step is kept to what only it can do (the host time on
        the critical path, ``bench/train_throughput.py --only host``): the batch, its
        micro-batches' inputs and the learning rates come prepared (:meth:`prepare_step`,
        on the thread), the next step's preparation is named here and started by one lock
        release, and in the loop the forward's summed losses are kept as returned --
        stacked, converted and read back at the next read-back, for all pending steps
        at once."""
        import torch

        train = self.plan.train
        prepared = self._prepared(step, weights)
        self.last_drawn = prepared.indices
        counts = prepared.counts
        for group, lr in zip(self.optimizer.param_groups, prepared.lrs):
            group["lr"] = lr
        self._arm_next(step)
        flags, clock = self._flags or self._step_flags(), self.clock
        outputs = []  # each micro-batch's {objective: summed loss over its rows}
        for micro, inputs in enumerate(prepared.micro):
            if flags.move:  # page-locked (prepare_step): the copies overlap
                inputs = _to_device(inputs, self.device)
            tick = time.perf_counter()
            if not flags.contexts:  # (the CPU, no accumulation over processes)
                total, loss_sums = self.train_module(**inputs)
                tick = self._fire_next(micro, tick)
                total.backward()
            else:
                cuda = flags.cuda
                autocast = torch.autocast("cuda", dtype=torch.bfloat16) if cuda else _NO_CONTEXT
                # gradients all-reduced at the last micro-batch only
                last = not self.world.distributed or micro == train.grad_accum - 1
                with _NO_CONTEXT if last else self.train_module.no_sync():
                    with autocast:
                        total, loss_sums = self.train_module(**inputs)
                    tick = self._fire_next(micro, tick)
                    total.backward()
            clock.compute += time.perf_counter() - tick
            outputs.append(loss_sums)
        deferred = flags.deferred
        losses = total_loss = None
        if not deferred:  # the host sync of every step: before the optimizer step
            sums = None  # each objective's summed loss over this rank's rows, float64
            for loss_sums in outputs:
                part = torch.stack([loss_sums[n].detach().double() for n in weights])
                sums = part if sums is None else sums + part  # (0 + x is x: as from zeros)
            dist_utils.all_reduce_sum(sums, self.world)
            losses = {n: float(sums[i]) / max(1, counts[n]) for i, n in enumerate(weights)}
            total_loss = sum(weights[n] * losses[n] for n in weights)
            if not all(math.isfinite(v) for v in losses.values()):
                self.optimizer.zero_grad(set_to_none=True)
                self._diverged(step, losses)

        tick = time.perf_counter()
        for name, head in self.heads.items():  # idle heads keep no (zero) gradient
            if name not in weights:
                for param in head.parameters():
                    param.grad = None
        if train.clip and train.clip > 0:
            torch.nn.utils.clip_grad_norm_(
                [p for p in flags.parameters if p.grad is not None], train.clip
            )
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        clock.compute += time.perf_counter() - tick
        if self._prefetcher is not None:
            self._prefetcher.join()  # between steps nothing runs on the thread
            # this step's batch and its loss's graph root are freed there too (later)
            self._prefetcher.release((prepared, total))
        if deferred:
            return StepResult(None, None, prepared.tokens, prepared.words, outputs, counts, weights)
        return StepResult(losses, total_loss, prepared.tokens, prepared.words)

    def _micro_rows(self, batch) -> list[slice]:
        """This rank's micro-batches of the global ``batch``: its contiguous share (equal
        rows; for a token budget, nearly equal tokens: :func:`token_shares`), cut into
        ``grad_accum`` pieces the same way."""
        from curriculumc.runtime.ordering.sampler import rank_rows, token_shares

        accum = self.plan.train.grad_accum
        if self.micro_batch is None:
            tokens = batch.attention_mask.sum(dim=1).numpy()
            bounds = token_shares(tokens, self.shares)
            first = self.world.rank * accum
            return [slice(int(bounds[k]), int(bounds[k + 1])) for k in range(first, first + accum)]
        start = rank_rows(len(batch.ids), self.world.rank, self.world.size).start
        size = len(batch.ids) // self.shares  # (train.batch's share; a ramp's step's own)
        return [slice(start + m * size, start + (m + 1) * size) for m in range(accum)]

    def _diverged(self, step: int, losses: dict[str, float]) -> None:
        good, skipped = ckpt.newest_intact(self.folder.root, good_only=True)
        if good is not None:
            where = f"the newest good checkpoint is {good}"
        elif skipped:
            where = "no checkpoint has good losses (all were written while it exploded)"
        else:
            where = "no checkpoint was written"
        passed = "".join(f"\n  {line}" for line in skipped)
        shown = ", ".join(f"{n} {v}" for n, v in losses.items())
        shown_losses = {n: v if math.isfinite(v) else str(v) for n, v in losses.items()}
        self.metrics.write(
            {
                "step": step + 1,
                "event": "diverged",
                "losses": shown_losses,
                "good_checkpoint": str(good) if good else None,
            }
        )
        raise CurriculumError.single(
            "E450",
            f"training diverged at step {step + 1}: loss is not finite ({shown}); {where}" + passed,
            hint="--resume with a lower train.lr (or a longer train.warmup, a train.clip) "
            "continues from the newest good checkpoint: resume allows those three to change",
        )

    # --- self-paced re-scoring ---------------------------------------------------------

    def _rescore(self, step: int) -> None:
        tick = time.perf_counter()
        self.rescorer.rescore(step)
        if self.world.distributed:  # every rank must draw from rank 0's order
            import torch
            import torch.distributed as dist

            scores = torch.from_numpy(self.rescorer.model_scores).to(self.device)
            dist.broadcast(scores, src=0)
            self.rescorer.model_scores = scores.cpu().numpy()
        self._self_paced_sampler(step)
        self.metrics.write(
            {"step": step, "event": "rescored", "seconds": round(time.perf_counter() - tick, 3)}
        )
        self.reporter.message(
            f"step {step}: re-scored the data with the current model", important=False
        )

    # --- evaluation -------------------------------------------------------------------

    def _maybe_evaluate(self, step: int) -> None:
        due = self.plan.evaluations_due(step)
        if due:
            self._flush()  # a diverged model is not evaluated
        for spec in due:
            self._evaluate(spec, step)

    def _check_evaluations(self) -> None:
        """Check every evaluation's inputs before training (on every rank, so that all
        stop together): warnings are shown, an evaluation that would fail every time
        stops the run now rather than after hours of training."""
        from curriculumc.runtime.evaluate.evaluation import check_eval_inputs
        from curriculumc.runtime.evaluate.likelihoods import position_limit

        if not self.plan.evals:
            return
        report = check_eval_inputs(
            self.plan,
            self.tokenizer,
            position_limit(self.model),
            dev_texts=self.options.dev_texts,
            cache_dir=self.options.cache_dir,
        )
        if self.world.is_main:
            for warning in report.warnings():
                self.reporter.message(f"warning: {warning}")
        report.raise_for_errors()

    def _evaluate(self, spec, step: int) -> None:
        """Run evaluation ``spec`` on rank 0 (no dropout, no gradients, the training RNG
        untouched) and log it; a failing evaluation is reported and training goes on."""
        import torch

        from curriculumc.runtime.evaluate.evaluation import run_eval

        if self.world.is_main:
            tick = time.perf_counter()
            self.module.eval()
            try:
                with torch.no_grad(), torch.random.fork_rng(devices=[]):
                    figures, details = run_eval(
                        spec,
                        self.model,
                        self.tokenizer,
                        family=self.plan.model.family,
                        data=self.plan.data,
                        cache_dir=self.options.cache_dir,
                        dev_texts=self.options.dev_texts,
                        device=self.device,
                        reporter=self.reporter,  # progress with an ETA (none when quiet)
                    )
            except CurriculumError as exc:
                figures = None
                self.eval_outcomes.failure(spec.name, step, exc)
                self.reporter.message(f"step {step}: eval {spec.name} failed: {exc}")
            finally:
                self.module.train()
            if figures is not None:
                self.eval_outcomes.success(spec.name, step)
                record = {"step": step, "eval": spec.name, **figures}
                record["eval_seconds"] = round(time.perf_counter() - tick, 2)
                self.metrics.write(record)
                self.reporter.evaluation(record)
                self.eval_results[spec.name] = record
                if details is not None and step == self.plan.train.steps:
                    # per-pair outcomes of the final model, for compare's paired bootstrap
                    self.folder.write_eval(self.folder.eval_result(spec.name), details)
        dist_utils.barrier(self.world)

    # --- logging ------------------------------------------------------------------------

    def _log_switch(self, step: int, before: dict | None, after: dict[str, float]) -> None:
        switch = {"step": step, "from": before, "to": after}
        if before is not None:
            self.switches.append(switch)
        self.metrics.write({"step": step, "event": "objectives", "from": before, "to": after})
        if before is not None:
            shown = " + ".join(n if w == 1.0 else f"{w:g} {n}" for n, w in after.items())
            self.reporter.message(f"step {step}: objectives -> {shown}")

    def _record(
        self, step: int, result: StepResult, window: _Window, *, words_seen: int | None = None
    ) -> dict:
        record = {"step": step, "loss": round(result.total, 6)}
        for name, value in result.losses.items():
            record[f"loss/{name}"] = round(value, 6)
        record["pool"] = round(self.sampler.drawable(step - 1) / len(self.sampler), 6)
        record["vocab"] = round(self.plan.vocab_fraction(step - 1), 6)
        if self.plan.seq_warmup is not None:
            record["seq"] = self.plan.seq_at(step - 1)
        if self.plan.batch_ramp is not None:  # the examples of this step (a batch ramp's)
            record["batch"] = self.sampler.batch_at(step - 1)
        record["lr"] = plan_lr(self.plan, step - 1)
        for unit in self.plan.trained_units():  # units whose heads have their own schedule
            if unit.lr is not None:
                record[f"lr/{unit.name}"] = self.plan.head_lr(unit.name, step - 1)
        record["tokens_per_s"] = round(window.tokens_per_s(), 1)
        record["words_seen"] = self.words_seen if words_seen is None else words_seen
        return record

    # --- checkpoints and summary -------------------------------------------------------

    def save_checkpoint(self, folder: Path, *, wall_s: float | None = None) -> Path | None:
        """Write a checkpoint of the current step to ``folder`` (rank 0; others wait)."""
        self._flush()  # every step's loss checked before weights are written (E450)
        path = None
        if self.world.is_main:
            window = [float(v) for v in self.since_checkpoint]
            good, why = ckpt.verdict(window, self.best_loss)
            finite = [v for v in window if math.isfinite(v)]
            if finite:
                lowest = min(finite)
                self.best_loss = lowest if self.best_loss is None else min(self.best_loss, lowest)
            state = {
                "good": good,
                "why": why,
                "best_loss": self.best_loss,
                "window": self.window.to_dict(),
                "step": self.step,
                "plan_hash": self.written_plan.hash,
                # the last step's draws: a resume checks the sampler still draws them
                "last_draws": None if self.last_drawn is None else draws_digest(self.last_drawn),
                "words_seen": self.words_seen,
                "tokens_seen": self.tokens_seen,
                "switches": self.switches,
                "evals": self.eval_results,
                "wall_s": wall_s if wall_s is not None else self._wall_so_far(),
                "scheduler": {
                    "schedule": self.plan.train.schedule,
                    "next_lr": plan_lr(self.plan, min(self.step, self.plan.train.steps - 1)),
                },
            }
            scores = None
            if self.rescorer is not None and self.rescorer.model_scores is not None:
                state["scored_at"] = self.rescorer.scored_at
                scores = self.rescorer.model_scores
            path = ckpt.save(
                folder,
                model=self.model,
                tokenizer=self.tokenizer,
                heads=self.heads,
                optimizer=self.optimizer,
                state=state,
                plan_json=self.written_plan.to_json(),
                max_length=self.max_length,
                model_scores=scores,
            )
            self.since_checkpoint = []
            name = (self.options.milestone_names or {}).get(self.step)
            if name is not None:  # checkpoints/chck_1M -> step-N (or the final model)
                self.folder.link_milestone(name, path)
            if folder.parent == self.folder.checkpoints:
                ckpt.prune(
                    self.folder.checkpoints,
                    self.plan.output.keep,
                    milestones=self.plan.milestone_steps(),
                )
            self.metrics.write({"step": self.step, "event": "checkpoint", "path": str(path)})
            self.reporter.message(f"step {self.step}: saved {path}", important=False)
        dist_utils.barrier(self.world)
        return path

    def _wall_so_far(self) -> float:
        started = getattr(self, "_started", None)
        return self.wall_before + (time.perf_counter() - started if started else 0.0)

    def summary(self, wall_s: float) -> dict:
        """What ``summary.json`` holds."""
        last = {}
        if self.folder.metrics.is_file() and self.world.is_main:
            for record in rf.read_metrics(self.folder.metrics):
                if "loss" in record:
                    last = record
        return {
            "plan_hash": self.written_plan.hash,
            "steps": self.step,
            "finished": self.step >= self.plan.train.steps,
            "interrupted": self.interrupted,
            "wall_s": round(wall_s, 2),
            "words_seen": self.words_seen,
            "tokens_seen": self.tokens_seen,
            "truncation": self.truncation,
            "parameters": self.parameters,
            "world_size": self.world.size,
            "device": str(self.device),
            "final_metrics": {k: v for k, v in last.items() if k.startswith("loss")},
            "evals": self.eval_results,
            "evaluations": self.eval_outcomes.to_json(),
            "objective_switches": self.switches,
            "data": dict(getattr(self.data, "summary", {}) or {}),
        }

    def cleanup(self) -> None:
        """Close logs and the progress display."""
        if hasattr(self, "metrics"):
            self.metrics.close()
        if hasattr(self, "reporter"):
            self.reporter.close()


class _Window:
    """Accumulates step results between two logged steps.

    ``loss`` is the mean of the steps' total losses over all the window's steps; each
    objective's ``loss/NAME`` the mean over the steps where it was active (``active``:
    how many), so that a window across a phase switch averages no step where the
    objective was off."""

    def __init__(self):
        self.steps = 0
        self.seconds = 0.0
        self.tokens = 0
        self.words = 0
        self.totals: dict[str, float] = {}
        self.active: dict[str, int] = {}
        self.total = 0.0

    def add(self, result: StepResult, seconds: float) -> None:
        self.steps += 1
        self.seconds += seconds
        self.tokens += result.tokens
        self.words += result.words
        self.total += result.total
        for name, value in result.losses.items():
            self.totals[name] = self.totals.get(name, 0.0) + value
            self.active[name] = self.active.get(name, 0) + 1

    def mean(self) -> StepResult:
        n = max(1, self.steps)
        return StepResult(
            losses={k: v / max(1, self.active.get(k, n)) for k, v in self.totals.items()},
            total=self.total / n,
            tokens=self.tokens,
            words=self.words,
        )

    def partial(self) -> dict[str, int]:
        """``{objective: steps}`` for the objectives active in only part of the window."""
        return {k: v for k, v in self.active.items() if v < self.steps}

    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict:
        """JSON-able (floats round-trip exactly), for a checkpoint: a resumed run's first
        logged line then averages the same steps as an uninterrupted run's."""
        return {
            "steps": self.steps,
            "seconds": self.seconds,
            "tokens": self.tokens,
            "words": self.words,
            "totals": dict(self.totals),
            "active": dict(self.active),
            "total": self.total,
        }

    @classmethod
    def from_dict(cls, data: dict | None) -> _Window:
        window = cls()
        if data:
            window.steps = int(data["steps"])
            window.seconds = float(data["seconds"])
            window.tokens = int(data["tokens"])
            window.words = int(data["words"])
            window.totals = {k: float(v) for k, v in data["totals"].items()}
            # a checkpoint from before ``active`` was kept: every objective all the steps
            active = data.get("active") or {k: window.steps for k in window.totals}
            window.active = {k: int(v) for k, v in active.items()}
            window.total = float(data["total"])
        return window
