"""The tokenizer: a byte-level BPE trained on the corpus, or one loaded from a path.

Trained tokenizers follow RoBERTa's layout -- specials ``<s> <pad> </s> <unk> <mask>`` at
ids 0..4, a post-processor that wraps a text in ``<s> ... </s>`` -- with two choices of
our own:

- an NFKC + lowercase normaliser: CHILDES transcripts are lower case while evaluation
  sentences (BLiMP) are not, and the model should see the same tokens for both;
- a prefix space (``add_prefix_space=True``): a word gets the same tokens at the start
  of an utterance as inside it. CHILDES utterances are ~4 words long, so without it a
  quarter of all words would be split into a second, rarer vocabulary. The price: a
  decoded text starts with a space.

A tokenizer is saved as a Hugging Face folder (``tokenizer.json`` +
``tokenizer_config.json`` naming ``PreTrainedTokenizerFast``, which transformers 4.x
and 5.x both load with ``AutoTokenizer.from_pretrained``). Training is deterministic and
cached by the corpus identity and vocabulary size. Error codes E320-E329.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from curriculumc.errors import CurriculumError
from curriculumc.plan import TokenizerSpec

#: RoBERTa's special tokens, in id order -- the one list (models and tests import it)
SPECIAL_TOKENS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")
#: bump when training settings change (invalidates cached tokenizers)
TOKENIZER_VERSION = 1
_BYTE_ALPHABET = 256
_BOS, _PAD, _EOS, _UNK, _MASK = SPECIAL_TOKENS
#: which special token plays which role (RoBERTa's: <s> is also cls, </s> also sep)
_ROLES = {
    "bos_token": _BOS,
    "cls_token": _BOS,
    "pad_token": _PAD,
    "eos_token": _EOS,
    "sep_token": _EOS,
    "unk_token": _UNK,
    "mask_token": _MASK,
}


@dataclass(frozen=True, eq=False)
class TokenizerArtifacts:
    """A ready tokenizer.

    ``backend``: the ``tokenizers.Tokenizer`` (fast batch encoding); ``directory``: the
    Hugging Face folder; ``content_hash``: sha256 of its ``tokenizer.json`` bytes;
    ``separator_id``: the id put between lines when packing (``</s>`` or the tokenizer's
    own eos/sep), None if it has none; ``origin``: ``trained``, ``cached`` or ``loaded``.
    """

    backend: object
    directory: Path
    content_hash: str
    vocab_size: int
    separator_id: int | None
    origin: str

    def hf(self):
        """The tokenizer as a ``transformers.PreTrainedTokenizerFast`` (loaded from the folder)."""
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(str(self.directory))


def train_bpe(
    texts: Iterable[str | list[str]], vocab_size: int, *, progress: bool = False, length=None
):
    """Train a byte-level BPE on ``texts`` (strings, or lists of strings: batches, which
    ``tokenizers`` takes ~2x faster and counts the same); returns a ``tokenizers.Tokenizer``.

    Raises :class:`CurriculumError` (E321) when ``vocab_size`` cannot hold the 256 bytes
    and the 5 specials.
    """
    from tokenizers import (
        AddedToken,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
        trainers,
    )

    minimum = _BYTE_ALPHABET + len(SPECIAL_TOKENS)
    if vocab_size < minimum:
        raise CurriculumError.single(
            "E321",
            f"vocabulary size {vocab_size} is too small for a byte-level BPE",
            hint=f"use at least {minimum} (256 bytes + 5 special tokens)",
        )
    tokenizer = Tokenizer(models.BPE())
    tokenizer.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tokenizer.decoder = decoders.ByteLevel()
    specials = [
        AddedToken(t, special=True, lstrip=(t == "<mask>"), normalized=False)
        for t in SPECIAL_TOKENS
    ]
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=progress,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer, length=length)
    tokenizer.post_processor = processors.RobertaProcessing(
        ("</s>", SPECIAL_TOKENS.index("</s>")),
        ("<s>", SPECIAL_TOKENS.index("<s>")),
        trim_offsets=True,
        add_prefix_space=True,
    )
    return tokenizer


def write_hf_folder(tokenizer_json: str, directory: Path, *, model_max_length: int) -> None:
    """Write ``tokenizer.json``, ``tokenizer_config.json`` and ``special_tokens_map.json``.

    The config names ``PreTrainedTokenizerFast`` (transformers 5 would write
    ``TokenizersBackend``, which 4.x cannot load). Only the roles whose token exists in
    the vocabulary are written. ``add_prefix_space`` is copied from a byte-level
    pre-tokenizer: transformers 4.x resets it to False when the config does not say.
    Writes atomically: a temporary folder, then a rename.
    """
    model = json.loads(tokenizer_json)
    known = set(model.get("model", {}).get("vocab", {})) | {
        t["content"] for t in model.get("added_tokens", [])
    }
    roles = {role: token for role, token in _ROLES.items() if token in known}
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": model_max_length,
        "clean_up_tokenization_spaces": False,
        "model_input_names": ["input_ids", "attention_mask"],
        **roles,
    }
    pre_tokenizer = model.get("pre_tokenizer") or {}
    if pre_tokenizer.get("type") == "ByteLevel":
        config["add_prefix_space"] = bool(pre_tokenizer.get("add_prefix_space", False))
    files = {
        "tokenizer.json": tokenizer_json,
        "tokenizer_config.json": json.dumps(config, indent=2, sort_keys=True) + "\n",
        "special_tokens_map.json": json.dumps(roles, indent=2, sort_keys=True) + "\n",
    }
    _write_folder_atomically(directory, files)


def prepare_tokenizer(
    spec: TokenizerSpec,
    texts_factory,
    *,
    corpus_identity: str,
    cache_dir: Path,
    seq: int,
    progress: bool = False,
) -> TokenizerArtifacts:
    """Train (or reuse from the cache) or load the tokenizer ``spec`` asks for.

    ``texts_factory``: a no-argument callable returning an iterator over the training
    texts, or over batches (lists) of them (called only when training is needed). ``corpus_identity`` keys the cache with
    the vocabulary size. The folder is ``cache_dir/tokenizers/<key>/seq<seq>``.
    Raises :class:`CurriculumError`: E320 (path unusable), E321 (vocabulary too small).
    """
    if spec.kind == "path":
        return _load_path_tokenizer(spec, cache_dir, seq)
    if spec.kind != "bpe":
        raise CurriculumError.single("E320", f"unknown tokenizer kind {spec.kind!r}")
    key = _sha256(json.dumps([TOKENIZER_VERSION, corpus_identity, spec.vocab_size]).encode())[:32]
    root = Path(cache_dir) / "tokenizers" / key
    model_file = root / "tokenizer.json"
    origin = "cached"
    if not model_file.exists():
        tokenizer = train_bpe(texts_factory(), spec.vocab_size, progress=progress)
        _write_folder_atomically(root, {"tokenizer.json": tokenizer.to_str()}, merge=True)
        origin = "trained"
    return _artifacts_from_json(model_file.read_text("utf-8"), root / f"seq{seq}", seq, origin)


def _load_path_tokenizer(spec: TokenizerSpec, cache_dir: Path, seq: int) -> TokenizerArtifacts:
    path = Path(spec.path or "")
    if not spec.path or not path.exists():
        raise CurriculumError.single(
            "E320",
            f"tokenizer path {spec.path!r} does not exist",
            hint="give a tokenizer.json file or a folder holding one",
        )
    model_file = path / "tokenizer.json" if path.is_dir() else path
    if not model_file.is_file():
        raise CurriculumError.single(
            "E320",
            f"{path} holds no tokenizer.json",
            hint="only fast (tokenizers) tokenizers are supported",
        )
    text = model_file.read_text("utf-8")
    try:
        from tokenizers import Tokenizer

        Tokenizer.from_str(text)
    except Exception as exc:  # tokenizers raises a bare Exception for a bad file
        raise CurriculumError.single("E320", f"cannot load tokenizer {model_file}: {exc}") from None
    if path.is_dir() and (path / "tokenizer_config.json").exists():
        return _artifacts_from_json(text, path, seq, "loaded", write=False)
    key = _sha256(text.encode("utf-8"))[:32]
    return _artifacts_from_json(
        text, Path(cache_dir) / "tokenizers" / key / f"seq{seq}", seq, "loaded"
    )


def _artifacts_from_json(
    text: str, directory: Path, seq: int, origin: str, *, write: bool = True
) -> TokenizerArtifacts:
    from tokenizers import Tokenizer

    if write and not (directory / "tokenizer_config.json").exists():
        write_hf_folder(text, directory, model_max_length=seq)
    backend = Tokenizer.from_str(text)
    separator = next(
        (
            backend.token_to_id(t)
            for t in ("</s>", "[SEP]", "<|endoftext|>", "<eos>")
            if backend.token_to_id(t) is not None
        ),
        None,
    )
    return TokenizerArtifacts(
        backend=backend,
        directory=directory,
        content_hash=_sha256(text.encode("utf-8")),
        vocab_size=backend.get_vocab_size(with_added_tokens=True),
        separator_id=separator,
        origin=origin,
    )


def _write_folder_atomically(directory: Path, files: dict[str, str], *, merge: bool = False):
    """Write ``files`` into a temporary sibling folder and rename it to ``directory``.

    If another process finished first the folder is left as it is (same content: the
    key is a content hash). ``merge`` writes into an existing folder file by file
    (each file atomically) instead.
    """
    directory.parent.mkdir(parents=True, exist_ok=True)
    if merge and directory.exists():
        for name, content in files.items():
            tmp = directory / f".{name}.{os.getpid()}.tmp"
            tmp.write_text(content, "utf-8")
            os.replace(tmp, directory / name)
        return
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        for name, content in files.items():
            (tmp_dir / name).write_text(content, "utf-8")
        try:
            os.rename(tmp_dir, directory)
        except OSError:
            if not directory.exists():
                raise
    finally:
        if tmp_dir.exists():
            shutil.rmtree(tmp_dir, ignore_errors=True)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
