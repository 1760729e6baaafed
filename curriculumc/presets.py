"""Model presets: architectures built from config with random init, never downloaded.

Plain data, shared by the compiler (which checks preset names and learns each preset's
family without importing torch) and the runtime (which builds the ``transformers``
config from these numbers). The vocabulary size comes from the tokenizer at run time.
:func:`family_of_config` tells the family of any other model from its config.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

# family: "masked" (RoBERTa, trained with mlm) or "causal" (GPT-2, trained with clm)
MODEL_PRESETS = MappingProxyType(
    {
        # for CPU tests: seconds per hundred steps
        "roberta-tiny": dict(
            family="masked", arch="roberta", layers=2, heads=2, hidden=128, ffn=512
        ),
        # the seed system's model (Cambridge BabyLM 2023): pre-layer-norm RoBERTa
        "roberta-small": dict(
            family="masked",
            arch="roberta",
            layers=8,
            heads=8,
            hidden=256,
            ffn=2048,
            pre_layer_norm=True,
        ),
        "roberta-medium": dict(
            family="masked",
            arch="roberta",
            layers=10,
            heads=8,
            hidden=512,
            ffn=2048,
            pre_layer_norm=True,
        ),
        "gpt-tiny": dict(family="causal", arch="gpt2", layers=2, heads=2, hidden=128, ffn=512),
        "gpt-small": dict(family="causal", arch="gpt2", layers=8, heads=8, hidden=256, ffn=1024),
    }
)

#: the natural objective of each family (used when a spec has no ``at``)
FAMILY_OBJECTIVE = MappingProxyType({"masked": "mlm", "causal": "clm"})

# config.json ``model_type`` -> family, the last resort when neither ``is_decoder`` nor the
# ``architectures`` names tell (a hand-written config.json often has only model_type)
CAUSAL_MODEL_TYPES = frozenset(
    {"gpt2", "gpt_neo", "gpt_neox", "gptj", "llama", "mistral", "opt", "bloom", "qwen2",
     "phi", "phi3", "gemma", "gemma2", "olmo", "falcon", "mamba", "pythia"}
)  # fmt: skip
MASKED_MODEL_TYPES = frozenset(
    {"roberta", "bert", "distilbert", "deberta", "deberta-v2", "electra", "albert",
     "xlm-roberta", "camembert", "ltg-bert", "modernbert", "megatron-bert",
     "roberta-prelayernorm"}  # the type our pre-layer-norm presets save
)  # fmt: skip


def family_of_config(config: Mapping[str, Any]) -> str | None:
    """``"masked"`` or ``"causal"`` for a transformers model config, or None if it cannot tell.

    Takes the config's fields as a mapping (a config.json's data, or the fields of a loaded
    config). Decided by ``is_decoder`` (true: causal), then the ``architectures`` names
    (``...ForMaskedLM`` vs ``...ForCausalLM`` / ``...LMHeadModel``), then ``model_type``
    (:data:`CAUSAL_MODEL_TYPES`, :data:`MASKED_MODEL_TYPES`). Used by the compiler for
    ``model "config.json"`` and by evaluation for a saved model -- the same answer in both.
    """
    if config.get("is_decoder") is True:
        return "causal"
    names = config.get("architectures")
    for name in names if isinstance(names, (list, tuple)) else ():
        name = str(name)
        if name.endswith("ForMaskedLM"):
            return "masked"
        if name.endswith(("ForCausalLM", "LMHeadModel")):
            return "causal"
    model_type = str(config.get("model_type"))  # str: a config.json may hold anything here
    if model_type in CAUSAL_MODEL_TYPES:
        return "causal"
    if model_type in MASKED_MODEL_TYPES:
        return "masked"
    return None
