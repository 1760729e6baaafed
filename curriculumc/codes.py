"""Every diagnostic code curriculumc can print, and the one thing each means.

Errors are ``E…``, warnings ``W…``; the hundreds say which stage found the problem. A code
names one kind of problem wherever it is found (a file that cannot be read is E004 whether
it is a spec, a config file of a composed spec or a CLIMB config); the message and the
position say the rest. ``tests/test_codes.py`` checks that every code in the source is
listed here, that every code listed is used, and that the table in docs/language.md is
:func:`markdown_table`'s.
"""

from __future__ import annotations

#: the stages, by the first digit(s) of the code
STAGES = (
    ("E0", "the spec: syntax, names, values, statements"),
    ("E1", "overrides, YAML form, plans"),
    ("E2", "pictures"),
    ("E3", "data: reading, tokenizer, POS tags, storage, scorers, sampler, simulate"),
    ("E4", "training: models, objectives, resume, the loop, evaluations during training"),
    ("E6", "evaluation: minimal pairs, likelihoods, perplexity, model folders"),
    ("E7", "the generated corpus (synth)"),
    ("E8", "experiments: composition, sweeps, compare, import climb"),
    ("W0", "warnings"),
)

CODES: dict[str, str] = {
    # --- the spec ---------------------------------------------------------------------
    "E001": "syntax error",
    "E002": "unexpected character or unclosed string",
    "E003": "a file is not UTF-8 text",
    "E004": "a file cannot be read (missing, a folder, no permission)",
    "E010": "unknown model preset",
    "E011": "unknown scorer",
    "E012": "unknown pacing function",
    "E013": "unknown objective or unit",
    "E015": "unknown evaluation",
    "E016": "unknown data option",
    "E017": "unknown corpus name",
    "E018": "unknown training setting",
    "E019": "unknown part-of-speech tag",
    "E020": "unknown keyword argument of a scorer or objective",
    "E021": "unknown tokenizer",
    "E022": "a value that must be one of a few names is none of them",
    "E030": "a value of the wrong type",
    "E031": "a percentage or share out of range",
    "E032": "a word after a setting's value that the setting does not take",
    "E033": "a number out of its range",
    "E034": "a weight that is not greater than 0",
    "E035": "wrong positional arguments",
    "E036": "a setting or argument given twice",
    "E037": "a statement that may appear once given twice",
    "E038": "a unit with a bad or repeated name",
    "E039": "a token budget smaller than one example (seq - 2 tokens of text)",
    "E040": "a model config that cannot be read or whose family is unknown",
    "E041": "a path in a spec that is not a regular file or folder (a device, a FIFO)",
    "E060": "'at' steps that do not increase",
    "E061": "an 'at' step after training ends",
    "E062": "the first 'at' is not at step 0",
    "E063": "an objective that does not fit the model's family",
    "E064": "a pace whose pool would shrink",
    "E065": "a pace with a missing or superfluous schedule",
    "E066": "an evaluation given twice",
    "E067": "a tie rule where no pool edge can tie (vocab, pace none)",
    # --- overrides, YAML, plans -------------------------------------------------------
    "E150": "an override that is not key=value",
    "E151": "an override of an unknown key",
    "E152": "an override value that does not parse",
    "E153": "an override with nothing to change",
    "E170": "a YAML spec that does not fit the spec schema",
    "E171": "a file that is not valid YAML",
    "E172": "a YAML value of the wrong kind",
    "E173": "a YAML key given twice in one mapping",
    "E190": "a plan.json that is not a valid plan",
    "E191": "a plan value out of its range or choices (the checks of a compiled spec)",
    # --- pictures ---------------------------------------------------------------------
    "E200": "the timeline picture cannot be written",
    # --- data -------------------------------------------------------------------------
    "E300": "a data path does not exist",
    "E301": "a data folder holds no input files",
    "E302": "a data path that is neither a regular file nor a folder (a FIFO, a device)",
    "E303": "a JSON Lines line that is not valid JSON",
    "E304": "a JSON Lines line that is not an object",
    "E305": "an example without its text field",
    "E306": "a text field that is not a string",
    "E307": "a line longer than max_chars",
    "E308": "a data option with a wrong value",
    "E309": "a requested numeric column that is nowhere numeric",
    "E310": "a column value that is not a number",
    "E311": "a POS field that cannot be read as tags",
    "E312": "a hub dataset while offline",
    "E313": "a hub dataset that cannot be loaded",
    "E314": "a datasets folder that cannot be opened or lacks the split",
    "E315": "unknown registered corpus",
    "E316": "a data file with more bad lines (NUL, binary, not UTF-8) than bad_lines allows",
    "E317": "data without examples",
    "E318": "a compressed data file that is truncated or corrupt",
    "E319": "a JSON escape that is not a character (a lone surrogate such as \\ud800)",
    "E320": "a tokenizer that cannot be loaded",
    "E321": "a BPE vocabulary too small",
    "E330": "the POS tagger's weights cannot be loaded",
    "E340": "storage settings that leave nothing to store",
    "E341": "a cached corpus that no longer matches its inputs",
    "E350": "a scorer that is not installed",
    "E351": "source() names a source the corpus does not have",
    "E352": "source() names a source twice",
    "E353": "column() names a column the corpus does not have",
    "E354": "sort by age without an age column",
    "E355": "a scorer's arguments are wrong",
    "E356": "a scorer returned the wrong number of scores",
    "E357": "model_ppl used in a way self-paced scoring does not allow",
    "E358": "a scorer plugin that cannot be loaded",
    "E360": "a global batch that does not split over the processes",
    "E361": "a corpus smaller than one global batch",
    "E362": "an empty corpus to score",
    "E363": "a sort without a scorer",
    "E364": "a token budget smaller than the corpus's longest example",
    "E380": "examples of sources that source() does not name (placed last)",
    "E381": "examples without a score (placed last)",
    "E390": "the simulation output cannot be written",
    # --- training ---------------------------------------------------------------------
    "E400": "a model that cannot be built",
    "E401": "a tokenizer without the special tokens the model needs",
    "E410": "an objective that is not installed",
    "E411": "an objective's share argument out of (0, 1]",
    "E412": "an objective given arguments it does not take",
    "E413": "an objective that needs the other model family",
    "E414": "mlm without a mask token",
    "E415": "pos without part-of-speech tags in the data",
    "E416": "pos given a tag that is not a universal tag",
    "E420": "resume with a different plan",
    "E423": "a run folder that already holds a run of this plan",
    "E424": "a run folder another process is training",
    "E430": "a checkpoint that cannot be loaded",
    "E440": "a batch that does not split into processes x accumulation steps",
    "E441": "a step with no objective",
    "E442": "unknown learning-rate schedule",
    "E450": "the loss diverged",
    "E460": "eval ppl without a dev split",
    "E461": "unknown evaluation in a plan",
    "E462": "an evaluation that failed every time it ran during training",
    # --- evaluation -------------------------------------------------------------------
    "E600": "a minimal-pair source that is not a file or folder",
    "E601": "a minimal-pair folder without .jsonl files",
    "E602": "a minimal-pair line that is not a JSON object",
    "E603": "a minimal-pair column missing or not a non-empty string",
    "E604": "a paradigm given two different fields",
    "E605": "a pair id repeated within a paradigm",
    "E606": "a hub minimal-pair set while offline",
    "E607": "a hub minimal-pair set that cannot be fetched",
    "E608": "no minimal pairs found",
    "E609": "a limit below 1",
    "E610": "likelihood scoring settings that are not valid",
    "E611": "pseudo-log-likelihood without a mask token",
    "E612": "causal scoring without a token to start a sentence",
    "E613": "a sentence longer than the model's positions",
    "E614": "a model that is neither clearly masked nor causal",
    "E615": "minimal pairs whose every pair is longer than the model's positions",
    "E620": "a dev file that does not exist",
    "E621": "nothing to compute a perplexity over",
    "E630": "a model or run folder that does not exist",
    "E631": "a folder that is neither a model folder nor a run folder",
    "E632": "a model folder without a tokenizer",
    "E633": "a model folder that cannot be loaded",
    "E634": "a CUDA device asked for where there is none",
    "E635": "an evaluation result that cannot be written",
    "E640": "a file that is not a curriculumc evaluation result",
    # --- synth ------------------------------------------------------------------------
    "E700": "neither or both of sentences and words for the generated corpus",
    "E701": "a size of the generated corpus out of range",
    "E710": "pairs per phenomenon that are not a positive integer",
    "E711": "a paradigm that cannot give that many distinct pairs",
    # --- experiments ------------------------------------------------------------------
    "E801": "a malformed defaults list",
    "E802": "a defaults entry whose file is missing",
    "E803": "a group=option override naming no option",
    "E804": "config files that include each other",
    "E805": "a config file that is not a mapping",
    "E820": "an empty choice in a sweep value",
    "E821": "a sweep override that is not key=value",
    "E822": "a sweep axis given twice",
    "E824": "a sweep point that does not compile",
    "E840": "a run or sweep folder that does not exist",
    "E841": "no run folders to compare",
    "E842": "the comparison cannot be written",
    "E861": "a CLIMB config tree that cannot be composed",
    "E862": "a CLIMB group option that does not exist",
    "E863": "a CLIMB training length that is not a positive integer",
    "E864": "a CLIMB number that is missing or out of range",
    "E865": "a CLIMB pacing function curriculumc does not have",
    "E866": "a CLIMB difficulty scorer curriculumc does not have",
    "E867": "a CLIMB vocabulary curriculum curriculumc does not have",
    "E868": "a CLIMB objective unit curriculumc does not have",
    "E869": "a CLIMB POS tag curriculumc does not have",
    "E870": "CLIMB objective steps naming an undefined unit",
    "E871": "CLIMB objective steps that are not a [start, end) range",
    "E872": "the imported spec cannot be written",
    # --- warnings ---------------------------------------------------------------------
    "W001": "pacing releases everything after training ends",
    "W002": "sort without pacing has no effect",
    "W003": "pacing without sort grows the pool in file order",
    "W004": "a vocabulary curriculum with the pos objective",
    "W005": "a path that does not exist here",
    "W006": "an evaluation interval after training ends",
    "W007": "warmup as long as training",
    "W008": "a unit that is never used",
    "W009": "a checkpoint interval after training ends",
}


def stage_of(code: str) -> str:
    """The stage a code belongs to (see :data:`STAGES`)."""
    return next(what for prefix, what in sorted(STAGES, key=lambda s: -len(s[0]))
                if code.startswith(prefix))  # fmt: skip


def markdown_table() -> str:
    """The code table of docs/language.md: every code with what it means, by stage."""
    lines = ["| code | means |", "|---|---|"]
    stage = None
    for code, meaning in CODES.items():
        if stage_of(code) != stage:
            stage = stage_of(code)
            lines.append(f"| | **{stage}** |")
        lines.append(f"| {code} | {meaning} |")
    return "\n".join(lines) + "\n"
