"""Reference-model difficulty: ``reference_ppl(model="folder")``, scored once, before training.

A saved Hugging Face model -- not the model being trained (that is ``model_ppl``, which
re-scores during training) -- reads the *text* of every example with its **own** tokenizer
(saved in its folder; the run's tokenizer may differ) and scores it by its mean negative
log-likelihood per token (natural log; ``exp`` of it is the example's perplexity under the
reference):

- masked (``family_of_config`` of its ``config.json``): the pseudo-log-likelihood -- every
  non-special token masked alone (Salazar et al. 2020), divided by the tokens scored;
- causal: the next-token log-likelihood of every token after one start token, divided
  by the tokens scored.

Both are :func:`~curriculumc.runtime.evaluate.likelihoods.score_sentences_with_counts`
(the evaluation's kernel, which takes a foreign tokenizer; ``model_ppl``'s kernel reads
the run's token ids), so an example scored here and a sentence scored by ``eval`` agree.
The folder is read as ``eval`` reads one (:func:`~curriculumc.runtime.evaluate.evaluation.
load_model_dir`: a model folder, or a run folder's ``final/`` or newest checkpoint; E630
missing, E631 neither, E632 no tokenizer, E633 not loadable).

The text of an example (:func:`example_texts`): for the ``line`` unit the line as read
(case and all); for ``packed`` the example's tokens decoded by the run's tokenizer, its
lines joined by newlines (that tokenizer's normaliser applies: the product's BPE
lowercases). An example longer than the reference's positions is not scored: NaN, placed
last, with a warning (E381), as is one with no token to score.

Caching (:func:`cache_kwargs`): the scores are cached like every scorer's, under the
corpus's content hash, with ``model`` replaced in the key by the sha256 of the folder's
files (:func:`model_identity`: weights, config, tokenizer -- not the folder's path), so
the same model elsewhere hits and new weights at the same path miss.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from curriculumc.errors import CurriculumError, Diagnostic
from curriculumc.runtime.data.tokenized import TokenizedCorpus
from curriculumc.runtime.ordering.scorers.simple import ScorerOutput

NAME = "reference_ppl"
#: bump when the scores change, so that old cached scores are not reused
VERSION = "mean-nll-1"
#: examples handed to the likelihood kernel at once (one step of the progress display)
CHUNK = 2048
#: files of a model or checkpoint folder that do not change the scores (training state)
TRAINING_STATE = frozenset(
    {
        "optimizer.pt",
        "scheduler.pt",
        "trainer_state.json",
        "training_args.bin",
        "rng.safetensors",
        "rng.json",
        "rng.pt",
        "manifest.json",
        "plan.json",
        "README.md",
    }
)
_HASH_BLOCK = 1 << 20


def model_folder(model: str | os.PathLike) -> Path:
    """The model folder ``model`` names (``~`` expanded; a run folder resolves to its
    ``final/`` or newest checkpoint). Raises :class:`CurriculumError` E630 / E631."""
    from curriculumc.runtime.evaluate.evaluation import resolve_model_dir

    return resolve_model_dir(Path(os.path.expanduser(str(model))))


def model_identity(model: str | os.PathLike) -> str:
    """sha256 of what decides the reference's scores: every file of its model folder but
    training state (:data:`TRAINING_STATE`, ``rng_state*``), and of the folder its
    tokenizer is read from, by name and content. Raises :class:`CurriculumError` E630 /
    E631 for a missing folder, E632 when there is no tokenizer."""
    from curriculumc.runtime.evaluate.evaluation import _tokenizer_folders

    folder = model_folder(model)
    tokenizer_folder = next(
        (
            f
            for f in _tokenizer_folders(folder)
            if (f / "tokenizer.json").is_file() or (f / "tokenizer_config.json").is_file()
        ),
        None,
    )
    if tokenizer_folder is None:
        raise CurriculumError.single(
            "E632",
            f"no tokenizer found for the reference model '{folder}'",
            hint="save it next to the model with tokenizer.save_pretrained(folder): "
            "reference_ppl reads the text with the reference's own tokenizer",
        )
    digest = hashlib.sha256(VERSION.encode())
    for place, directory in (("model", folder), ("tokenizer", tokenizer_folder)):
        for path in sorted(directory.iterdir()):
            if not path.is_file() or path.name in TRAINING_STATE:
                continue
            if path.name.startswith("rng_state"):
                continue
            digest.update(f"{place}/{path.name}\0".encode())
            digest.update(_file_hash(path).encode())
    return digest.hexdigest()


def _file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def cache_kwargs(kwargs: dict) -> dict:
    """The keyword arguments the cache key is made of: ``model`` replaced by the content
    hash of the folder (:func:`model_identity`), so that the key follows the weights, not
    the path."""
    if "model" not in kwargs:
        return kwargs  # the call itself reports the missing argument (E355)
    return {**kwargs, "model": "sha256:" + model_identity(kwargs["model"])}


def reference_ppl(
    corpus: TokenizedCorpus,
    model: str,
    *,
    texts: Callable[[], Sequence[str]] | None = None,
    quiet: bool = False,
) -> ScorerOutput:
    """Mean negative log-likelihood per token of each example's text under the reference
    model in folder ``model`` (see the module docstring). ``texts``: gives the text of
    every example, in corpus order (the scorers' caller supplies it); ``quiet``: no
    progress display.

    Raises :class:`CurriculumError`: E630-E633 for the folder, E355 when no texts are
    given, E356 when they are not one per example.
    """
    from curriculumc.runtime.evaluate.evaluation import load_model_dir
    from curriculumc.runtime.evaluate.likelihoods import score_sentences_with_counts
    from curriculumc.runtime.evaluate.progress import eval_progress

    if texts is None:
        raise CurriculumError.single(
            "E355",
            "reference_ppl needs the text of every example, and none was given",
            hint="score it through curriculumc.runtime.ordering.order.initial_order "
            "(or pass texts= to score_sort)",
        )
    folder = model_folder(model)
    reference, tokenizer, family = load_model_dir(folder)
    sentences = list(texts())
    if len(sentences) != len(corpus):
        raise CurriculumError.single(
            "E356",
            f"reference_ppl was given {len(sentences)} texts for {len(corpus)} examples",
        )
    device = _device()
    log_likelihoods = np.empty(len(sentences), dtype=np.float64)
    counts = np.empty(len(sentences), dtype=np.int64)
    chunks = range(0, len(sentences), CHUNK)
    label = f"reference_ppl: {len(sentences):,} examples by {folder} ({family})"
    with eval_progress(label, quiet=quiet) as progress:
        progress(0, len(chunks))
        for done, start in enumerate(chunks, 1):
            part = sentences[start : start + CHUNK]
            scored = score_sentences_with_counts(
                reference, tokenizer, part, family=family, device=device, over_long="skip"
            )
            log_likelihoods[start : start + len(part)] = scored.log_likelihoods
            counts[start : start + len(part)] = scored.token_counts
            progress(done, len(chunks))
    with np.errstate(invalid="ignore", divide="ignore"):
        values = np.where(counts > 0, -log_likelihoods / np.maximum(counts, 1), np.nan)
    missing = int(np.count_nonzero(np.isnan(values)))
    notes = ()
    if missing:
        notes = (
            Diagnostic(
                "E381",
                f"{missing} of {len(values)} examples have no reference_ppl score (longer "
                f"than the reference model's positions, or no token to score); they are "
                "placed last",
                severity="warning",
            ),
        )
    return ScorerOutput(values, notes)


def _device():
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def example_texts(data) -> list[str]:
    """The text of every example of ``data`` (a
    :class:`~curriculumc.runtime.data.prepare.PreparedData`), in corpus order: the lines
    as read for the ``line`` unit; for ``packed``, each example's tokens decoded by the
    run's tokenizer, its lines joined by newlines. Raises :class:`CurriculumError` E356
    when the texts are not one per example."""
    corpus = data.corpus
    if data.summary.get("unit", "line") == "line":
        texts = list(data.raw.texts())
    else:
        backend, separator = data.artifacts.backend, data.artifacts.separator_id
        texts = []
        for i in range(len(corpus)):
            ids = np.asarray(corpus.example(i), dtype=np.int64)
            cuts = np.flatnonzero(ids == separator) if separator is not None else []
            pieces = np.split(ids, cuts)
            lines = [backend.decode(p[p != separator].tolist()) for p in pieces]
            texts.append("\n".join(line.strip() for line in lines if line.strip()))
    if len(texts) != len(corpus):
        raise CurriculumError.single(
            "E356", f"the data has {len(texts)} texts for {len(corpus)} examples"
        )
    return texts
