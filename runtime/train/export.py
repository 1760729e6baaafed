"""Export a run as the BabyLM pipeline reads it: Hugging Face model folders named by words.

::

    DIR/
        <model>/main/          the run's final model (``final/``)
        <model>/chck_1M/       each checkpoint, named by the words it had seen
        <model>/chck_2M/ ...
        hub/models--<org>--<model>/
            refs/<revision>    the revision's (made-up, content-derived) commit id
            snapshots/<id>/    relative symbolic links to the files of ``<model>/<revision>``
        export.json            revision -> step, words seen, source checkpoint, how named

Why two views of the same files: the pipeline (babylm/evaluation-pipeline-2025,
``sentence_zero_shot/run.py``) loads ``from_pretrained(--model_path_or_name,
revision=--revision_name)``. For a *local path* transformers ignores ``revision``: every
revision would be the folder itself. So ``<model>/<revision>`` is a plain model folder
(give its path, ``eval_zero_shot.sh DIR/<model>/main mlm``), and ``hub/`` is a Hugging
Face hub cache in which ``<org>/<model>`` has one branch per revision, so that with
``HF_HUB_CACHE=DIR/hub HF_HUB_OFFLINE=1`` the pipeline's own
``eval_zero_shot_fast_all_revisions.sh <org>/<model> mlm strict-small`` opens each
``chck_*`` revision exactly as it would open the hub repository, and writes its results
to ``results/<model>/<revision>/`` (what ``collate_preds.sh`` reads).

Naming (:func:`name_checkpoints`): BabyLM checkpoints are at 1M, 2M, ..., 10M, 20M, ...,
100M, 200M, ..., 1000M words seen (:data:`MILESTONES`). A checkpoint is ``chck_<M>``
when it is the first of the run's checkpoints to have seen ``M`` words and it overshoots
``M`` by at most :data:`OVERSHOOT` (1%: a checkpoint taken at the step that first
reaches ``M`` overshoots by one batch's words). Any other checkpoint is exported under its
exact count, ``chck_<words>`` (``chck_1234567``), never dropped, and the table says why.
The final model is ``main`` and, when it qualifies, also its milestone's revision.

Only what ``save_pretrained`` wrote is copied (checkpoint.TRAINING_FILES are left out);
the checkpoint already made it loadable by transformers 4.x and 5.x
(:func:`~curriculumc.runtime.train.checkpoint.make_loadable_by_v4`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from curriculumc.files import write_atomic
from curriculumc.plan import BABYLM_MILESTONES, REVISION_PREFIX, revision_name
from curriculumc.runtime.train import checkpoint as ckpt
from curriculumc.runtime.train.run_folder import FINAL_DIR, STATE_FILE, RunFolder, read_times

#: BabyLM's checkpoint word counts (every 1M to 10M, every 10M to 100M, every 100M to 1B):
#: the plan's, which ``checkpoint babylm`` resolves
MILESTONES = BABYLM_MILESTONES
#: how far past a milestone a checkpoint may be and still carry its name (a share of it)
OVERSHOOT = 0.01
MAIN = "main"
HUB_DIR = "hub"
EXPORT_FILE = "export.json"
LOCAL_ORG = "local"  # the hub cache's owner when the plan has no `push to hub org/name`


class ExportError(Exception):
    """An export or a push that cannot be done; the message says why and what to do
    (the command prints it in one line and exits 1)."""


#: the pipeline's backend for a model family (``eval_zero_shot*.sh ... <backend>``)
BACKENDS = {"masked": "mlm", "causal": "causal"}


milestone_name = revision_name  # chck_<n>M, else chck_<words> (the plan's one rule)


@dataclass(frozen=True)
class Revision:
    """One exported model folder: its revision name, the checkpoint it comes from, its
    words seen and step, and how the name was chosen (``why``)."""

    name: str
    source: str
    step: int
    words: int
    why: str


def resolved_names(run_dir: Path) -> dict[int, tuple[str, int]]:
    """``{step: (revision name, words)}`` of the checkpoints a run's plan asked for at word
    counts, as its ``times.json`` recorded them (empty without one)."""
    record = read_times(RunFolder(Path(run_dir))) or {}
    return {
        int(t["step"]): (t["name"], int(t["value"]))
        for t in record.get("times", ())
        if t.get("name") and t.get("step") is not None and t.get("unit") == "words"
    }


def name_checkpoints(
    checkpoints: list[tuple[int, int, str]], resolved: dict[int, tuple[str, int]] | None = None
) -> list[Revision]:
    """Revision names for ``(step, words_seen, source)`` checkpoints (the final model's
    ``source`` is ``final``): see the module docstring. ``resolved``: ``{step: (name,
    words)}`` of the checkpoints the plan asked for at word counts (``checkpoint babylm``,
    ``checkpoint at 1M words``; the run's ``times.json``) -- each the first step to reach
    its count, named so. Pure; sorted by step, ``main`` last."""
    revisions: list[Revision] = []
    taken: set[int] = set()
    reached = 0  # the most words an earlier checkpoint had seen
    resolved = resolved or {}
    for step, words, source in sorted(checkpoints, key=lambda c: (c[0], c[2] == FINAL_DIR)):
        passed = [m for m in MILESTONES if m <= words]
        milestone = passed[-1] if passed else None
        named = None
        if step in resolved and resolved[step][1] not in taken:
            named, milestone = resolved[step]
            why = (f"the first step to reach {milestone:,} words (+{words - milestone:,}), "
                   "resolved before training (times.json)")  # fmt: skip
        elif milestone is None:
            why = f"below the first milestone ({MILESTONES[0]:,} words): exact count"
        elif milestone <= reached or milestone in taken:
            why = f"an earlier checkpoint already reached {milestone_name(milestone)}: exact count"
        elif words - milestone > OVERSHOOT * milestone:
            why = (
                f"{words - milestone:,} words past {milestone_name(milestone)} (more than "
                f"{OVERSHOOT:.0%}): exact count"
            )
        else:
            named = milestone_name(milestone)
            why = f"the first checkpoint past {milestone:,} words (+{words - milestone:,})"
        reached = max(reached, words)
        if source == FINAL_DIR:
            revisions.append(Revision(MAIN, source, step, words, "the final model"))
            if named:
                taken.add(milestone)
                revisions.append(Revision(named, source, step, words, why))
            continue
        if named:
            taken.add(milestone)
        revisions.append(Revision(named or milestone_name(words), source, step, words, why))
    # `main` last: the table reads in training order, the final model at the end
    return [r for r in revisions if r.name != MAIN] + [r for r in revisions if r.name == MAIN]


@dataclass(frozen=True)
class Export:
    """What :func:`export_babylm` wrote."""

    root: Path
    model_name: str
    repo_id: str
    backend: str
    revisions: tuple[Revision, ...]
    skipped: tuple[str, ...]

    @property
    def model_dir(self) -> Path:
        return self.root / self.model_name

    def revision_dir(self, name: str) -> Path:
        return self.model_dir / name

    @property
    def hub_cache(self) -> Path:
        return self.root / HUB_DIR

    def to_json(self) -> dict:
        return {
            "model_name": self.model_name,
            "repo_id": self.repo_id,
            "backend": self.backend,
            "revisions": [asdict(r) for r in self.revisions],
            "skipped": list(self.skipped),
        }


def run_checkpoints(run_dir: Path) -> tuple[list[tuple[int, int, Path]], list[str]]:
    """The run's intact checkpoints as ``(step, words_seen, folder)`` (``final/`` included),
    and one line per checkpoint left out, saying why (damaged, unreadable state, the
    same step as ``final/``)."""
    folder = RunFolder(Path(run_dir))
    found, skipped = [], []
    paths = [p for _, p in ckpt.step_folders(folder.checkpoints)]
    if (folder.final / STATE_FILE).is_file():
        paths.append(folder.final)
    steps_seen = {}
    for path in paths:
        problem = ckpt.verify(path)
        state = None
        if problem is None:
            try:
                state = ckpt.read_state(path)
                step, words = int(state["step"]), int(state["words_seen"])
            except (OSError, ValueError, KeyError, TypeError) as exc:
                problem = f"its {STATE_FILE} has no step and words_seen ({exc})"
        if problem is not None:
            skipped.append(f"{path}: {problem}")
            continue
        steps_seen.setdefault(step, []).append(path)
        found.append((step, words, path))
    # a signal checkpoint at the last step duplicates final/: keep final/
    final_steps = {s for s, _, p in found if p.name == FINAL_DIR}
    kept = []
    for step, words, path in found:
        if path.name != FINAL_DIR and step in final_steps:
            skipped.append(f"{path}: the same step as {FINAL_DIR}/ (exported as {MAIN})")
            continue
        kept.append((step, words, path))
    return kept, skipped


def backend_of(model_dir: Path) -> str:
    """The pipeline backend (``mlm`` / ``causal``) of a saved model, from its config."""
    from curriculumc.presets import family_of_config

    config = json.loads((Path(model_dir) / "config.json").read_text(encoding="utf-8"))
    family = family_of_config(config)
    if family not in BACKENDS:
        raise ExportError(f"cannot tell whether {model_dir} is a masked or a causal model")
    return BACKENDS[family]


def plan_repo(run_dir: Path) -> str | None:
    """The plan's ``push to hub org/name`` (``OutputSpec.push_to_hub``), or None."""
    from curriculumc.plan import Plan

    plan_path = RunFolder(Path(run_dir)).plan
    try:
        plan = Plan.from_json(plan_path.read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return plan.output.push_to_hub


def export_babylm(
    run_dir: Path,
    out_dir: Path,
    *,
    model_name: str | None = None,
    force: bool = False,
) -> Export:
    """Write ``out_dir`` (see the module docstring) from the run folder ``run_dir``.

    Written beside its place and renamed into it, so an interrupted export leaves no
    half-written folder. Raises ExportError when the run has no intact checkpoint, or
    ``out_dir`` holds something and ``force`` is not given."""
    run_dir, out_dir = Path(run_dir), Path(out_dir)
    found, skipped = run_checkpoints(run_dir)
    if not found:
        why = "; ".join(skipped[:3]) or "no checkpoints/step-N or final/ with a trainer state"
        raise ExportError(f"nothing to export in {run_dir}: {why}")
    repo = plan_repo(run_dir)
    if model_name is None:
        model_name = repo.split("/")[-1] if repo else run_dir.resolve().name
    repo_id = repo or f"{LOCAL_ORG}/{model_name}"
    if out_dir.exists() and any(out_dir.iterdir()) and not force:
        raise ExportError(f"{out_dir} exists and is not empty (give another -o, or --force)")
    by_source = {str(path): path for _, _, path in found}
    revisions = name_checkpoints([(s, w, FINAL_DIR if p.name == FINAL_DIR else str(p))
                                  for s, w, p in found], resolved_names(run_dir))  # fmt: skip
    sources = {FINAL_DIR: next((p for p in by_source.values() if p.name == FINAL_DIR), None)}
    backend = backend_of(found[-1][2])

    tmp = out_dir.parent / f".tmp-export-{out_dir.name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        written: dict[str, Path] = {}
        for rev in revisions:
            source = sources[FINAL_DIR] if rev.source == FINAL_DIR else by_source[rev.source]
            target = tmp / model_name / rev.name
            first = written.get(rev.source)
            _copy_model(source, target, link_from=first)
            written.setdefault(rev.source, target)
        cache = tmp / HUB_DIR / f"models--{repo_id.replace('/', '--')}"
        for rev in revisions:
            _link_revision(cache, rev.name, tmp / model_name / rev.name)
        result = Export(out_dir, model_name, repo_id, backend, tuple(revisions), tuple(skipped))
        write_atomic(tmp / EXPORT_FILE, json.dumps(result.to_json(), indent=1) + "\n")
        if out_dir.exists():
            old = out_dir.parent / f".tmp-old-{out_dir.name}-{os.getpid()}"
            os.replace(out_dir, old)
            os.replace(tmp, out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return result


def _copy_model(source: Path, target: Path, *, link_from: Path | None) -> None:
    """Copy the Hugging Face files of checkpoint ``source`` to ``target`` (hard links to
    ``link_from``'s copies when the same checkpoint was exported already)."""
    target.mkdir(parents=True)
    for path in sorted(Path(source).iterdir()):
        if not path.is_file() or path.name in ckpt.TRAINING_FILES:
            continue
        if link_from is not None:
            try:
                os.link(link_from / path.name, target / path.name)
                continue
            except OSError:
                pass
        shutil.copyfile(path, target / path.name)


def _commit_id(folder: Path) -> str:
    """A 40-hex id for a revision folder: sha1 over its files' names and sha256s."""
    digest = hashlib.sha1()
    for path in sorted(Path(folder).iterdir()):
        digest.update(path.name.encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).hexdigest().encode() + b"\n")
    return digest.hexdigest()


def _link_revision(cache: Path, revision: str, folder: Path) -> None:
    """Make ``revision`` of the hub cache ``cache`` point at ``folder``'s files."""
    commit = _commit_id(folder)
    snapshot = cache / "snapshots" / commit
    if not snapshot.is_dir():
        snapshot.mkdir(parents=True)
        for path in sorted(folder.iterdir()):
            os.symlink(os.path.relpath(path, snapshot), snapshot / path.name)
    (cache / "refs").mkdir(parents=True, exist_ok=True)
    (cache / "refs" / revision).write_text(commit, encoding="utf-8")


def pipeline_commands(result: Export, *, track: str = "strict-small") -> list[str]:
    """The BabyLM 2025 pipeline's commands for this export, run from its repository:
    the full evaluation of the final model (a local path), then every checkpoint through
    the hub cache (``revision=`` only means something there)."""
    root = result.root.resolve()
    env = f"HF_HUB_CACHE={root / HUB_DIR} HF_HUB_OFFLINE=1"
    lines = [
        f"./eval_zero_shot.sh {root / result.model_name / MAIN} {result.backend}",
        f"{env} ./eval_zero_shot_fast_all_revisions.sh {result.repo_id} {result.backend} {track}",
    ]
    odd = [r.name for r in result.revisions if r.name != MAIN and not _is_milestone(r.name)]
    for name in odd:  # the all-revisions script only loops over chck_<n>M names
        lines.append(f"{env} ./eval_zero_shot_fast.sh {result.repo_id} {name} {result.backend}")
    return lines


def _is_milestone(name: str) -> bool:
    return name.startswith(REVISION_PREFIX) and name.endswith("M")


# --- push -------------------------------------------------------------------------------


def check_hub(repo_id: str, *, timeout: float = 10.0) -> str | None:
    """What stops a push to ``repo_id`` now (None: the hub answers and the token is
    valid). Asked before the first upload, so that offline nothing is half-pushed."""
    try:
        from huggingface_hub import HfApi, get_token
    except ImportError:
        return "huggingface_hub is not installed"
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        return "HF_HUB_OFFLINE is set"
    if not get_token():
        return "no Hugging Face token (run `hf auth login` or set HF_TOKEN)"
    try:
        HfApi().whoami(timeout=timeout) if _whoami_takes_timeout() else HfApi().whoami()
    except Exception as exc:  # no network, a bad token
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return f"the hub cannot be reached or refused the token: {type(exc).__name__}: {first}"
    return None


def _whoami_takes_timeout() -> bool:
    import inspect

    from huggingface_hub import HfApi

    return "timeout" in inspect.signature(HfApi.whoami).parameters


def push(result: Export, repo_id: str, *, report=print) -> list[str]:
    """Push every revision of ``result`` to ``repo_id``: ``main`` to the main branch, each
    checkpoint to the branch of its name (``create_branch`` + ``upload_folder`` with
    ``revision=``; one commit per revision, which replaces the branch's files). Returns the
    revisions pushed. Raises ExportError before any upload when the hub cannot be
    reached (:func:`check_hub`), and, should the network go in the middle, says which
    revisions are on the hub and which are not."""
    problem = check_hub(repo_id)
    if problem is not None:
        raise ExportError(
            f"cannot push to {repo_id}: {problem}; nothing was pushed (the export in "
            f"{result.root} is complete: run export --push again when online)"
        )
    from huggingface_hub import HfApi

    api = HfApi()
    api.create_repo(repo_id, exist_ok=True)
    order = [r for r in result.revisions if r.name == MAIN] + [
        r for r in result.revisions if r.name != MAIN
    ]
    pushed: list[str] = []
    for rev in order:
        try:
            if rev.name != MAIN:
                api.create_branch(repo_id, branch=rev.name, exist_ok=True)
            api.upload_folder(
                folder_path=str(result.revision_dir(rev.name)),
                repo_id=repo_id,
                revision=rev.name,
                delete_patterns="*",
                commit_message=f"curriculumc export: {rev.name} (step {rev.step}, "
                f"{rev.words:,} words)",
            )
        except Exception as exc:
            left = [r.name for r in order if r.name not in pushed]
            raise ExportError(
                f"push to {repo_id} stopped at {rev.name}: {type(exc).__name__}: {exc}; "
                f"pushed: {', '.join(pushed) or 'none'}; not pushed: {', '.join(left)} "
                "(each revision is one commit: export --push again pushes them all)"
            ) from None
        pushed.append(rev.name)
        report(f"pushed {rev.name} to https://huggingface.co/{repo_id}/tree/{rev.name}")
    return pushed
