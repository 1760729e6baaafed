"""Checkpoints: everything a run needs to continue bit for bit, written atomically.

A checkpoint folder (``checkpoints/step-N/`` or ``final/``) holds:

- ``config.json`` + ``model.safetensors`` (``save_pretrained``) and the tokenizer files,
  so that ``AutoModelForMaskedLM/CausalLM.from_pretrained`` and
  ``AutoTokenizer.from_pretrained`` load it -- under transformers 4.x too
  (:func:`make_loadable_by_v4`);
- ``heads.safetensors``: the objectives' own heads (``pos`` ...), keyed ``unit.param``;
- ``optimizer.pt``: the AdamW state; the learning rate needs none (a pure function of
  the step, recorded in ``trainer_state.json`` for the reader);
- ``rng.safetensors`` + ``rng.json``: torch (CPU and CUDA) generator states as tensors,
  Python and NumPy generator states as JSON -- dropout draws from these, while masking and
  batch sampling are pure functions of (seed, step);
- ``trainer_state.json``: step, plan hash, words/tokens seen, objective switches, the
  metrics window not yet logged, and the checkpoint's verdict (``good``: see
  :func:`verdict`) ...;
- ``plan.json`` and, for self-paced runs, ``order.npy`` / ``model_scores.npy``;
- ``manifest.json``, written last: the sha256 of every other file. :func:`verify` checks it;
  resume skips a damaged checkpoint for the newest intact one (:func:`newest_intact`).

Nothing read from a checkpoint can run code: tensors come from safetensors, state from
JSON, and ``optimizer.pt`` through ``torch.load(weights_only=True)``. A checkpoint written
before ``rng.safetensors`` existed holds a pickled ``rng.pt``; it is read only through
``weights_only=True`` too (NumPy arrays allowed), and refused with E430 if that fails.

The folder is written under a temporary name, every file and the folder fsync'ed, and then
renamed into place (and the parent fsync'ed), so a process killed in the middle (even
SIGKILL, or a power cut) leaves either the whole checkpoint or none of it.
"""

from __future__ import annotations

import hashlib
import json
import math
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
MANIFEST_FILE = "manifest.json"
RNG_TENSORS = "rng.safetensors"
RNG_JSON = "rng.json"
LEGACY_RNG = "rng.pt"  # pickled; written by versions before rng.safetensors
HEADS_FILE = "heads.safetensors"
OPTIMIZER_FILE = "optimizer.pt"
PLAN_COPY = "plan.json"
ORDER_FILE = "order.npy"
SCORES_FILE = "model_scores.npy"
#: what a checkpoint holds only to continue training; everything else in it is the
#: Hugging Face model folder (``save_pretrained`` of the model and the tokenizer), which
#: ``export`` copies
TRAINING_FILES = (
    HEADS_FILE, OPTIMIZER_FILE, RNG_TENSORS, RNG_JSON, LEGACY_RNG, PLAN_COPY, ORDER_FILE,
    SCORES_FILE, STATE_FILE, MANIFEST_FILE,
)  # fmt: skip

#: a checkpoint is good when the mean loss of the steps since the previous one is at most
#: this many times the lowest step loss of the run so far (and every loss was finite)
EXPLODING = 10.0


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
    model_scores: np.ndarray | None = None,
) -> Path:
    """Write a checkpoint to ``folder`` atomically (temporary folder, fsync, then rename).

    ``model`` is the unwrapped ``transformers`` model; ``heads`` maps unit names to
    modules; ``state`` is JSON-able (it must hold ``step``); ``max_length``: the saved
    tokenizer's ``model_max_length`` (default: the model's position limit, what
    :func:`~curriculumc.runtime.evaluate.likelihoods.position_limit` says). An existing
    ``folder`` is replaced. Returns ``folder``.
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

    if max_length is None:
        from curriculumc.runtime.evaluate.likelihoods import position_limit

        max_length = position_limit(model)
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
        save_file(head_tensors, str(tmp / HEADS_FILE))
    torch.save(optimizer.state_dict(), tmp / OPTIMIZER_FILE)
    save_rng(tmp)
    (tmp / PLAN_COPY).write_text(plan_json + "\n", encoding="utf-8")
    if order is not None:
        np.save(tmp / ORDER_FILE, np.asarray(order, dtype=np.int64))
    if model_scores is not None:
        np.save(tmp / SCORES_FILE, model_scores)
    (tmp / STATE_FILE).write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
    write_manifest(tmp)
    _fsync_tree(tmp)

    if folder.exists():  # rename() cannot replace a non-empty folder: move the old one away
        old = folder.parent / f"{_TMP_PREFIX}old-{folder.name}-{os.getpid()}"
        os.replace(folder, old)
        os.replace(tmp, folder)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, folder)
    _fsync_dir(folder.parent)
    return folder


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # a platform without directory handles
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    """fsync every file under ``root``, then the folders (deepest first)."""
    folders = []
    for dirpath, _, filenames in os.walk(root):
        folders.append(Path(dirpath))
        for name in filenames:
            with open(Path(dirpath) / name, "rb") as handle:
                os.fsync(handle.fileno())
    for path in reversed(folders):
        _fsync_dir(path)


# --- manifest ------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(folder: Path) -> Path:
    """Write ``manifest.json``: the sha256 of every other file under ``folder``."""
    folder = Path(folder)
    files = {
        str(path.relative_to(folder)): _sha256(path)
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != MANIFEST_FILE
    }
    target = folder / MANIFEST_FILE
    target.write_text(json.dumps({"sha256": files}, indent=1, sort_keys=True) + "\n")
    return target


def verify(folder: Path) -> str | None:
    """What is wrong with checkpoint ``folder`` (None: intact).

    Every file the manifest names must be there with its sha256. A checkpoint without a
    manifest (written by an older version) cannot be checked and passes."""
    folder = Path(folder)
    manifest = folder / MANIFEST_FILE
    if not manifest.is_file():
        return None if (folder / LEGACY_RNG).is_file() else f"{MANIFEST_FILE} is missing"
    try:
        files = json.loads(manifest.read_text())["sha256"]
        if not isinstance(files, dict):
            raise ValueError("not a mapping")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return f"{MANIFEST_FILE} is unreadable ({exc})"
    for name, expected in sorted(files.items()):
        path = folder / name
        if not path.is_file():
            return f"{name} is missing"
        if _sha256(path) != expected:
            return f"{name} does not match its sha256 in {MANIFEST_FILE}"
    return None


def verdict(window_losses: list[float], best_loss: float | None) -> tuple[bool, str]:
    """Whether a checkpoint is *good*, and why: every step loss logged since the previous
    checkpoint is finite and their mean is at most :data:`EXPLODING` times the lowest step
    loss of the run so far (``best_loss``, this window included)."""
    if not window_losses:
        return True, "no step since the previous checkpoint"
    if not all(math.isfinite(v) for v in window_losses):
        return False, "a loss since the previous checkpoint is not finite"
    mean = sum(window_losses) / len(window_losses)
    best = min(window_losses) if best_loss is None else min(best_loss, min(window_losses))
    if best > 0 and mean > EXPLODING * best:
        return False, (
            f"mean loss {mean:.4g} over the last {len(window_losses)} step(s) is more than "
            f"{EXPLODING:g}x the run's best {best:.4g}"
        )
    return True, f"mean loss {mean:.4g} over the last {len(window_losses)} step(s)"


def is_good(folder: Path) -> bool:
    """The verdict recorded in checkpoint ``folder`` (older checkpoints count as good)."""
    try:
        return bool(read_state(folder).get("good", True))
    except (OSError, ValueError):
        return False


def load(folder: Path, *, model, heads: dict, optimizer, restore_rng: bool = True) -> dict:
    """Restore ``model``, ``heads`` and ``optimizer`` (in place) from checkpoint ``folder``
    and, with ``restore_rng``, the random generators. Returns the trainer state dict.

    Raises CurriculumError E430 when the checkpoint is unreadable or does not fit the model.
    """
    import torch
    from safetensors.torch import load_file

    folder = Path(folder)
    problem = verify(folder)
    if problem is not None:
        raise CurriculumError.single(
            "E430", f"cannot resume from {folder}: it is damaged: {problem}", hint=_START_OVER
        )
    try:
        weights = load_file(str(folder / "model.safetensors"))
        _load_model_weights(model, weights, folder)
        if heads:
            head_tensors = load_file(str(folder / HEADS_FILE))
            for name, head in heads.items():
                prefix = f"{name}."
                head.load_state_dict(
                    {k[len(prefix) :]: v for k, v in head_tensors.items() if k.startswith(prefix)}
                )
        optimizer.load_state_dict(torch.load(folder / OPTIMIZER_FILE, weights_only=True))
        state = json.loads((folder / STATE_FILE).read_text())
        if restore_rng:
            set_rng_state(load_rng(folder))
    except CurriculumError:
        raise
    except (OSError, RuntimeError, KeyError, ValueError, TypeError) as exc:
        raise CurriculumError.single(
            "E430", f"cannot resume from {folder}: {exc}", hint=_START_OVER
        ) from None
    return state


_START_OVER = "--force without --resume starts the run over"


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


def candidates(run_dir: Path) -> list[Path]:
    """A run's complete checkpoints, newest first (``final/`` before a step folder of
    the same step). One whose state cannot be read sorts last."""
    folder = RunFolder(Path(run_dir))
    final = folder.final
    found = [(s, False, p) for s, p in step_folders(folder.checkpoints)]
    if (final / STATE_FILE).is_file():
        try:
            step = int(read_state(final)["step"])
        except (OSError, ValueError, KeyError, TypeError):
            step = -1
        found.append((step, True, final))
    return [p for *_, p in sorted(found, key=lambda c: (c[0], c[1]), reverse=True)]


def latest(run_dir: Path) -> Path | None:
    """The newest complete checkpoint of a run (``final/`` counts as the newest)."""
    found = candidates(run_dir)
    return found[0] if found else None


def newest_intact(
    run_dir: Path, *, good_only: bool = False, report=None
) -> tuple[Path | None, list[str]]:
    """The newest checkpoint of a run that passes :func:`verify` (with ``good_only``: whose
    verdict is good too, see :func:`verdict`), and one line per newer checkpoint passed
    over, saying why. ``report`` (e.g. ``print``) is also called with each line."""
    skipped = []
    for path in candidates(run_dir):
        problem = verify(path)
        if problem is None and good_only and not is_good(path):
            problem = "its losses were exploding (" + str(read_state(path).get("why", "")) + ")"
        if problem is None:
            return path, skipped
        line = f"skipping checkpoint {path}: {problem}"
        skipped.append(line)
        if report is not None:
            report(line)
    return None, skipped


def prune(checkpoints: Path, keep: int, *, milestones=()) -> list[Path]:
    """Delete all but the newest ``keep`` step folders -- keeping also the newest *good*
    one (:func:`is_good`), so that a diverging run always has one to go back to, and every
    milestone (the steps of ``checkpoint at`` / ``checkpoint babylm``, never pruned).
    Returns what was deleted."""
    removed = []
    kept_steps = set(milestones)
    folders = [entry for entry in step_folders(checkpoints) if entry[0] not in kept_steps]
    doomed = folders[: max(0, len(folders) - max(keep, 1))]
    kept = folders[len(doomed) :]
    if doomed and not any(is_good(p) for _, p in kept):
        good = [entry for entry in doomed if is_good(entry[1])]
        if good:
            doomed.remove(good[-1])
    for _, path in doomed:
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def remove_partial(parent: Path) -> None:
    """Delete temporary folders left by a process killed while writing a checkpoint."""
    if Path(parent).is_dir():
        for child in Path(parent).iterdir():
            if child.name.startswith(_TMP_PREFIX) and child.is_dir():
                shutil.rmtree(child, ignore_errors=True)


def save_rng(folder: Path) -> None:
    """Write :func:`rng_state` as ``rng.safetensors`` (torch states) + ``rng.json``."""
    from safetensors.torch import save_file

    state = rng_state()
    tensors = {"torch": state["torch"].contiguous()}
    for index, cuda in enumerate(state.get("cuda", [])):
        tensors[f"cuda.{index}"] = cuda.cpu().contiguous()
    version, internal, gauss = state["python"]
    name, keys, pos, has_gauss, cached = state["numpy"]
    plain = {
        "python": {"version": version, "state": list(internal), "gauss": gauss},
        "numpy": {
            "name": name,
            "keys": [int(k) for k in keys],
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "cuda_devices": len(state.get("cuda", [])),
    }
    save_file(tensors, str(Path(folder) / RNG_TENSORS))
    (Path(folder) / RNG_JSON).write_text(json.dumps(plain) + "\n")


def load_rng(folder: Path) -> dict:
    """What :func:`save_rng` wrote (or an older checkpoint's ``rng.pt``, read safely)."""
    import torch
    from safetensors.torch import load_file

    folder = Path(folder)
    if not (folder / RNG_TENSORS).is_file() and (folder / LEGACY_RNG).is_file():
        return _load_legacy_rng(folder / LEGACY_RNG)
    tensors = load_file(str(folder / RNG_TENSORS))
    plain = json.loads((folder / RNG_JSON).read_text())
    python, npy = plain["python"], plain["numpy"]
    state = {
        "python": (python["version"], tuple(python["state"]), python["gauss"]),
        "numpy": (
            npy["name"],
            np.asarray(npy["keys"], dtype=np.uint32),
            npy["pos"],
            npy["has_gauss"],
            npy["cached_gaussian"],
        ),
        "torch": tensors["torch"].to(torch.uint8),
    }
    cuda = [tensors[f"cuda.{i}"] for i in range(int(plain.get("cuda_devices", 0)))]
    if cuda:
        state["cuda"] = cuda
    return state


def _load_legacy_rng(path: Path) -> dict:
    """An older checkpoint's pickled ``rng.pt``, through torch's restricted unpickler
    (tensors, plain containers and NumPy arrays only: nothing in it can run code)."""
    import torch

    allowed = [np.ndarray, np.dtype, type(np.dtype(np.uint32))]
    core = np._core if hasattr(np, "_core") else np.core
    reconstruct = core.multiarray._reconstruct
    try:
        with torch.serialization.safe_globals([reconstruct, *allowed]):
            return torch.load(path, weights_only=True)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CurriculumError.single(
            "E430",
            f"cannot resume from {path.parent}: {path.name} (an older checkpoint's pickled "
            f"random state) holds more than plain data, and loading it could run code: "
            f"{first[:200]}",
            hint="if you did not write this checkpoint, do not trust it; --force without "
            "--resume starts the run over",
        ) from None


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
      ``max_length``: the model's position limit, not the training seq.
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
