"""Derive the plan JSON Schema from the Plan dataclasses (test_compile checks that the
shipped curriculumc/lang/plan.schema.json equals this; run this file to regenerate it)."""

from __future__ import annotations

import dataclasses
import json
import types
import typing

from curriculumc import plan

SCALAR = {"type": ["string", "number", "boolean", "null"]}


def _type_schema(tp) -> dict:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is plan.Scalar:
        return SCALAR
    if origin in (typing.Union, types.UnionType):
        options = [_type_schema(a) for a in args if a is not type(None)]
        if type(None) in args:
            options.append({"type": "null"})
        return options[0] if len(options) == 1 else {"anyOf": options}
    if origin is tuple:
        return {"type": "array", "items": _type_schema(args[0])}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return {"$ref": f"#/$defs/{tp.__name__}"}
    return {
        int: {"type": "integer"},
        float: {"type": "number"},
        str: {"type": "string"},
        bool: {"type": "boolean"},
    }[tp]


def _dataclass_schema(cls) -> dict:
    hints = typing.get_type_hints(cls)
    properties = {}
    for f in dataclasses.fields(cls):
        if f.metadata.get("transient"):  # never in the JSON (a resolved plan's clock)
            continue
        if f.metadata.get("mapping"):
            value_tp = typing.get_args(typing.get_args(hints[f.name])[0])[1]
            properties[f.name] = {"type": "object", "additionalProperties": _type_schema(value_tp)}
        else:
            properties[f.name] = _type_schema(hints[f.name])
    required = [
        f.name
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
        and not f.metadata.get("transient")
    ]
    schema = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = required
    if cls.__doc__:
        schema["description"] = " ".join(cls.__doc__.split())
    return schema


def plan_schema() -> dict:
    classes = [
        plan.ModelSpec, plan.DataSpec, plan.TokenizerSpec, plan.TrainSpec, plan.ScorerTerm,
        plan.SortSpec, plan.PaceStage, plan.Pace, plan.VocabRule, plan.Unit, plan.Phase, plan.EvalSpec, plan.OutputSpec, plan.Time,
        plan.MixPhase, plan.Mix, plan.SeqWarmup, plan.BatchRamp,
    ]  # fmt: skip
    root = _dataclass_schema(plan.Plan)
    # older plans are read too: Plan.from_dict upgrades them
    root["properties"]["version"] = {
        "enum": list(range(1, plan.PLAN_VERSION + 1)),
        "description": f"{plan.PLAN_VERSION}; a version-1 plan (curriculumc before exact "
        "epochs) is read as this version with train.sampling 'replacement', a version-2 "
        "plan (before per-objective corruption) with vocab_rule.hides 'inputs'",
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://curriculumc/plan.schema.json",
        "title": "curriculumc plan",
        **root,
        "$defs": {c.__name__: _dataclass_schema(c) for c in classes},
    }


def schema_text() -> str:
    return json.dumps(plan_schema(), indent=2) + "\n"


if __name__ == "__main__":
    from pathlib import Path

    # run as a script (python tests/support/plan_schema_gen.py): the repository is 3 up
    target = Path(__file__).resolve().parents[2] / "curriculumc" / "lang" / "plan.schema.json"
    target.write_text(schema_text(), encoding="utf-8")
    print(f"wrote {target}")
