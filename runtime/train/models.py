"""Models built from config with random init -- never downloaded.

A plan names either a preset from :data:`curriculumc.presets.MODEL_PRESETS` or the path of
a ``config.json`` (any ``transformers`` architecture with a masked-LM or causal-LM class).
The vocabulary size and the special-token ids always come from the tokenizer, and the
position table is made long enough for ``seq`` tokens plus RoBERTa's two-slot offset.

The trainer runs the *backbone* (:func:`backbone`) once per distinct input of a step (the
clean batch, each objective's own corruption) and applies the LM head (:func:`lm_head`)
only where a loss needs it -- see :mod:`curriculumc.runtime.train.objectives`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from curriculumc.errors import CurriculumError
from curriculumc.presets import MODEL_PRESETS
from curriculumc.runtime.data.tokenizer import SPECIAL_TOKENS


@dataclass(frozen=True)
class SpecialIds:
    """Ids of the tokenizer's special tokens (those of
    :data:`~curriculumc.runtime.data.tokenizer.SPECIAL_TOKENS` in a curriculumc tokenizer)."""

    bos: int
    pad: int
    eos: int
    unk: int
    mask: int | None

    @property
    def all(self) -> tuple[int, ...]:
        return tuple(
            i for i in (self.bos, self.pad, self.eos, self.unk, self.mask) if i is not None
        )

    @classmethod
    def from_tokenizer(cls, tokenizer) -> SpecialIds:
        """Read the ids from a ``PreTrainedTokenizerFast``; raises CurriculumError E401 if
        a needed token is missing."""
        ids = {
            "bos": tokenizer.bos_token_id,
            "pad": tokenizer.pad_token_id,
            "eos": tokenizer.eos_token_id,
            "unk": tokenizer.unk_token_id,
        }
        missing = [name for name, value in ids.items() if value is None]
        if missing:
            raise CurriculumError.single(
                "E401",
                f"the tokenizer has no {', '.join(missing)} token",
                hint=f"a curriculumc tokenizer has {' '.join(SPECIAL_TOKENS)} at ids 0..4",
            )
        return cls(mask=tokenizer.mask_token_id, **ids)


#: the shortest position table a preset gets, whatever the training ``seq``
MIN_POSITIONS = 128


def model_config(
    preset: str,
    *,
    family: str,
    vocab_size: int,
    seq: int,
    specials: SpecialIds,
    dropout: float | None = None,
):
    """The ``transformers`` config for ``preset`` (a preset name or a config.json path).

    ``vocab_size`` and ``specials`` come from the tokenizer; ``seq`` sets the position table
    (at least ``max(seq, MIN_POSITIONS) + 2``, so that evaluation sentences longer than the
    training sequence -- BLiMP has some of 40+ tokens -- still fit); ``dropout`` overrides every dropout probability when given.
    Raises CurriculumError E400 for an unknown preset or an unreadable config.json.
    """
    from transformers import AutoConfig, GPT2Config, RobertaConfig, RobertaPreLayerNormConfig

    # seq counts <s> and </s>; RoBERTa numbers positions from pad_id + 1
    length = max(seq, MIN_POSITIONS)
    positions = max(length + 2, length + specials.pad + 1)
    ids = dict(pad_token_id=specials.pad, bos_token_id=specials.bos, eos_token_id=specials.eos)
    if preset in MODEL_PRESETS:
        p = MODEL_PRESETS[preset]
        if p["arch"] == "gpt2":
            config = GPT2Config(
                vocab_size=vocab_size,
                n_positions=positions,
                n_embd=p["hidden"],
                n_layer=p["layers"],
                n_head=p["heads"],
                n_inner=p["ffn"],
                **ids,
            )
        else:
            cls = RobertaPreLayerNormConfig if p.get("pre_layer_norm") else RobertaConfig
            config = cls(
                vocab_size=vocab_size,
                hidden_size=p["hidden"],
                num_hidden_layers=p["layers"],
                num_attention_heads=p["heads"],
                intermediate_size=p["ffn"],
                max_position_embeddings=positions,
                type_vocab_size=1,
                layer_norm_eps=1e-5,
                **ids,
            )
    else:
        path = Path(preset)
        if path.is_dir():
            path = path / "config.json"
        if not path.is_file():
            raise CurriculumError.single(
                "E400",
                f"unknown model {preset!r}: not a preset and not a config.json file",
                hint=f"presets: {', '.join(MODEL_PRESETS)}",
            )
        try:
            config = AutoConfig.from_pretrained(str(path))
        except (ValueError, OSError, json.JSONDecodeError) as exc:
            raise CurriculumError.single(
                "E400", f"cannot read model config {path}: {exc}"
            ) from None
        config.vocab_size = vocab_size
        _ensure_positions(config, positions)
    for name, value in ids.items():
        setattr(config, name, value)
    if dropout is not None:
        for name in (
            "hidden_dropout_prob",
            "attention_probs_dropout_prob",
            "resid_pdrop",
            "embd_pdrop",
            "attn_pdrop",
            "summary_first_dropout",
        ):
            if hasattr(config, name):
                setattr(config, name, dropout)
    if family == "causal" and hasattr(config, "use_cache"):
        config.use_cache = False  # training: no key/value cache
    return config


def _ensure_positions(config, needed: int) -> None:
    for name in ("max_position_embeddings", "n_positions"):
        if getattr(config, name, None) is not None and getattr(config, name) < needed:
            setattr(config, name, needed)


def build_model(config, family: str):
    """A randomly initialised ``*ForMaskedLM`` (family ``masked``) or ``*ForCausalLM``.

    Raises CurriculumError E400 when the architecture has no such class.
    """
    from transformers import AutoModelForCausalLM, AutoModelForMaskedLM

    auto = AutoModelForMaskedLM if family == "masked" else AutoModelForCausalLM
    try:
        return auto.from_config(config)
    except ValueError as exc:
        raise CurriculumError.single(
            "E400", f"{config.model_type} has no {family} language-model class: {exc}"
        ) from None


def backbone(model):
    """The transformer body of an LM (``model.roberta``, ``model.transformer``, ...)."""
    return getattr(model, model.base_model_prefix)


def lm_head(model):
    """The module mapping hidden states to vocabulary logits (works on ``[N, H]`` rows)."""
    for name in ("lm_head", "cls", "pred_layer"):
        head = getattr(model, name, None)
        if head is not None:
            return head
    return model.get_output_embeddings()


def count_parameters(model) -> int:
    """Distinct trainable parameters (tied weights counted once)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def hidden_size(config) -> int:
    """The width of the backbone's output."""
    for name in ("hidden_size", "n_embd", "d_model"):
        value = getattr(config, name, None)
        if isinstance(value, int):
            return value
    raise CurriculumError.single("E400", f"cannot tell the hidden size of {config.model_type}")
