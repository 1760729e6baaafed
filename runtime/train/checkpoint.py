"""Checkpoints: everything a run needs to continue bit for bit, written atomically.

A checkpoint folder (``checkpoints/step-N/`` or ``final/``) holds:

- ``config.json`` + ``model.safetensors`` (``save_pretrained``) and the tokenizer files,
  so that ``AutoModelForMaskedLM/CausalLM.from_pretrained`` and
  ``AutoTokenizer.from_pretrained`` load it -- under transformers 4.x too
  (:func:`make_loadable_by_v4`);
- ``heads.safetensors``: the objectives' own heads (``pos`` ...), keyed ``unit.param``;
- ``optimizer.pt``: the AdamW state; the learning rate needs none (a pure function of
  the step, recorded in ``trainer_state.json`` for the reader);
- ``rng.pt``: Python, NumPy and torch (CPU and CUDA) generator states -- dropout draws from
  these, while masking and batch sampling are pure functions of (seed, step);
- ``trainer_state.json``: step, plan hash, words/tokens seen, objective switches ...;
- ``plan.json`` and, for self-paced runs, ``order.npy`` (the current difficulty order).

The folder is written under a temporary name and renamed into place, so a process killed
in the middle (even SIGKILL) leaves either the whole checkpoint or none of it.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
from pathlib import Path

import numpy as np

from curriculumc.errors import CurriculumError
from curriculumc.runtime.train.run_folder import STATE_FILE, STEP_PREFIX, RunFolder

_STEP_DIR = re.compile(rf"^{STEP_PREFIX}(\d+)$")
_TMP_PREFIX = ".tmp-"


def save(
    folder: Path,
    *,
    model,
    tokenizer,
    heads: dict,
    optimizer,
    state: dict,
    plan_json: str,
    order: np.ndarray | None = None,
    max_length: int | None = None,
) -> Path:
    """Write a checkpoint to ``folder`` atomically (temporary folder, then rename).

    ``model`` is the unwrapped ``transformers`` model; ``heads`` maps unit names to
    modules; ``state`` is JSON-able (it must hold ``step``). An existing ``folder`` is
    replaced. Returns ``folder``.
    """
    import torch
    from safetensors.torch import save_file
    from transformers.utils import logging as hf_logging

    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent / f"{_TMP_PREFIX}{folder.name}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()

    hf_logging.disable_progress_bar()
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    make_loadable_by_v4(tmp, max_length=max_length)
    head_tensors = {
        f"{name}.{key}": value.detach().cpu().contiguous()
        for name, head in heads.items()
        for key, value in head.state_dict().items()
    }
    if head_tensors:
        save_file(head_tensors, str(tmp / "heads.safetensors"))
    torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
    torch.save(rng_state(), tmp / "rng.pt")
    (tmp / "plan.json").write_text(plan_json + "\n", encoding="utf-8")
    if order is not None:
        np.save(tmp / "order.npy", np.asarray(order, dtype=np.int64))
    (tmp / STATE_FILE).write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")

    if folder.exists():  # rename() cannot replace a non-empty folder: move the old one away
        old = folder.parent / f"{_TMP_PREFIX}old-{folder.name}-{os.getpid()}"
        os.replace(folder, old)
        os.replace(tmp, folder)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, folder)
    return folder


def load(folder: Path, *, model, heads: dict, optimizer, restore_rng: bool = True) -> dict:
    """Restore ``model``, ``heads`` and ``optimizer`` (in place) from checkpoint ``folder``
    and, with ``restore_rng``, the random generators. Returns the trainer state dict.

    Raises CurriculumError E430 when the checkpoint is unreadable or does not fit the model.
    """
    import torch
    from safetensors.torch import load_file

    folder = Path(folder)
    try:
        weights = load_file(str(folder / "model.safetensors"))
        _load_model_weights(model, weights, folder)
        if heads:
            head_tensors = load_file(str(folder / "heads.safetensors"))
            for name, head in heads.items():
                prefix = f"{name}."
                head.load_state_dict(
                    {k[len(prefix) :]: v for k, v in head_tensors.items() if k.startswith(prefix)}
                )
        optimizer.load_state_dict(torch.load(folder / "optimizer.pt", weights_only=True))
        state = json.loads((folder / STATE_FILE).read_text())
        if restore_rng:
            set_rng_state(torch.load(folder / "rng.pt", weights_only=False))
    except (OSError, RuntimeError, KeyError, ValueError) as exc:
        raise CurriculumError.single(
            "E430", f"cannot resume from {folder}: {exc}", hint="use --force to start over"
        ) from None
    return state


def _load_model_weights(model, weights: dict, folder: Path) -> None:
    # save_pretrained leaves out tied copies (lm_head.decoder.weight = word embeddings):
    # a key may be missing only if its tensor is shared with one that was loaded.
    result = model.load_state_dict(weights, strict=False)
    params = dict(model.state_dict(keep_vars=True))
    loaded = {params[k].data_ptr() for k in weights if k in params}
    missing = [k for k in result.missing_keys if params[k].data_ptr() not in loaded]
    if missing or result.unexpected_keys:
        raise RuntimeError(
            f"weights in {folder} do not fit the model: missing {missing[:5]}, "
            f"unexpected {list(result.unexpected_keys)[:5]}"
        )


def read_state(folder: Path) -> dict:
    """The ``trainer_state.json`` of checkpoint ``folder``."""
    return json.loads((Path(folder) / STATE_FILE).read_text())


def step_folders(checkpoints: Path) -> list[tuple[int, Path]]:
    """Complete ``step-N`` folders under ``checkpoints``, oldest first."""
    if not Path(checkpoints).is_dir():
        return []
    found = []
    for child in Path(checkpoints).iterdir():
        match = _STEP_DIR.match(child.name)
        if match and (child / STATE_FILE).is_file():
            found.append((int(match.group(1)), child))
    return sorted(found)


def latest(run_dir: Path) -> Path | None:
    """The newest complete checkpoint of a run (``final/`` counts as the newest)."""
    folder = RunFolder(Path(run_dir))
    final = folder.final
    candidates = [(s, p) for s, p in step_folders(folder.checkpoints)]
    if (final / STATE_FILE).is_file():
        candidates.append((read_state(final)["step"], final))
    return max(candidates, key=lambda c: (c[0], c[1] == final))[1] if candidates else None


def prune(checkpoints: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` step folders and any leftover temporary folders
    (from a process killed while writing). Returns what was deleted."""
    removed = []
    folders = step_folders(checkpoints)
    for _, path in folders[: max(0, len(folders) - max(keep, 1))]:
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def remove_partial(parent: Path) -> None:
    """Delete temporary folders left by a process killed while writing a checkpoint."""
    if Path(parent).is_dir():
        for child in Path(parent).iterdir():
            if child.name.startswith(_TMP_PREFIX) and child.is_dir():
                shutil.rmtree(child, ignore_errors=True)


def rng_state() -> dict:
    """The Python, NumPy and torch generator states."""
    import torch

    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore what :func:`rng_state` returned."""
    import torch

    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def make_loadable_by_v4(folder: Path, *, max_length: int | None = None) -> None:
    """Rewrite what transformers 5 saves so that transformers 4.x loads it too.

    - config.json: 5.x writes ``dtype``; 4.x reads ``torch_dtype`` (both are kept).
    - tokenizer_config.json: 5.x names the class ``TokenizersBackend``, unknown to 4.x;
      ``PreTrainedTokenizerFast`` means the same to both. ``model_max_length`` is set to
      what the model was trained on.
    """
    folder = Path(folder)
    config_path = folder / "config.json"
    if config_path.is_file():
        config = json.loads(config_path.read_text())
        if "dtype" in config and "torch_dtype" not in config:
            config["torch_dtype"] = config["dtype"]
        config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    tok_path = folder / "tokenizer_config.json"
    if tok_path.is_file():
        tok = json.loads(tok_path.read_text())
        tok["tokenizer_class"] = "PreTrainedTokenizerFast"
        tok.pop("backend", None)
        if max_length is not None:
            tok["model_max_length"] = max_length
        tok_path.write_text(json.dumps(tok, indent=2, sort_keys=True) + "\n")
