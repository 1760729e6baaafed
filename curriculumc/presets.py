"""Model presets: architectures built from config with random init, never downloaded.

Plain data, shared by the compiler (which checks preset names and learns each preset's
family without importing torch) and the runtime (which builds the ``transformers``
config from these numbers). The vocabulary size comes from the tokenizer at run time.
"""

from __future__ import annotations

from types import MappingProxyType

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
