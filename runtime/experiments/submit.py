"""A sweep submitted through submitit: one array job per grid, resumable tasks.

``curriculumc sweep SPEC seed=1,2,3 --control random --submit slurm --partition gpu``

- **Tasks.** Each grid point is one task of the array: its ``curriculumc run``, then its
  matched control's (a control several curricula share belongs to the first of them).
  A task whose runs are all complete is not submitted. A task is a :class:`SweepTask`,
  pickled by submitit; on the node it runs the very command lines ``sweep`` runs
  (:func:`~curriculumc.runtime.experiments.sweep.launch_command`) as subprocesses, and
  decides from the run folders, each time it starts, what is left: a complete run is
  skipped, an incomplete one continued with ``--resume``, a run another process holds
  locked is left to it (``busy``). So a finished run is never trained twice, whatever
  restarts the task.
- **Pre-emption and time limits.** submitit asks Slurm for ``--signal=USR2@<delay>``: a
  task is sent SIGUSR2 that long before its time runs out (and on pre-emption, after
  the SIGTERM that the trainer's children ignore here). Then :meth:`SweepTask.checkpoint`
  sends the trainer SIGTERM -- it finishes its step, writes ``checkpoints/step-N`` and
  exits -- and hands submitit the task again; submitit requeues it (``scontrol
  requeue``; with ``--submit local`` its controller starts it again), and the new start
  resumes from that checkpoint. How often: ``--max-requeues`` (submitit's
  ``max_num_timeout``); state, retries and queues are Slurm's and submitit's.
- **The manifest.** ``sweep.json`` gets a ``submit`` section (executor, submitit folder,
  one entry per job: id, runs, state) and each run its ``job_id``; ``sweep --status DIR``
  reads each job's state from submitit (its result file; ``sacct`` on Slurm; the
  controller's process locally), the requeues from its log, and each run's progress
  from its folder.
- ``--submit local`` is the same path through submitit's ``LocalExecutor`` (every task
  starts at once; the command waits for them): what the tests use.

submitit is imported only by the functions that submit, and by a task when it checkpoints.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from curriculumc.runtime.experiments import sweep as sweeps
from curriculumc.runtime.train import run_folder as rf

EXECUTORS = ("local", "slurm")
#: the submitit folder inside the sweep folder; on Slurm ``%j`` gives each job (each
#: array task) its own folder; the local executor's controller would create a literal
#: ``%j`` folder, so there the jobs' files lie side by side (``<pid>_0_log.out``, ...)
SUBMITIT_FOLDER = "submitit"
JOB_FOLDERS = {"slurm": "submitit/%j", "local": "submitit"}
#: submitit's signal ahead of a time limit (its ``JobEnvironment.USR_SIG``; USR2 unless
#: ``SUBMITIT_PREEMPT_SIGNAL`` says otherwise)
DEFAULT_SIGNAL_DELAY_S = 120
DEFAULT_TIME_MIN = 240
DEFAULT_MAX_REQUEUES = 8
#: how long a task waits for the trainer to write its checkpoint and exit after SIGTERM
STOP_WAIT_S = 600
#: job states after which nothing more happens (submitit's local ones and Slurm's)
DONE_STATES = {
    "FINISHED", "DONE", "COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY",
    "NODE_FAIL", "BOOT_FAIL", "DEADLINE", "INTERRUPTED", "UNKNOWN",
}  # fmt: skip


@dataclass(frozen=True)
class Resources:
    """What each task asks for. ``time_min``: its time limit; ``gpus``: GPUs per run
    (more than one: the run is ``torchrun --standalone --nproc-per-node N``);
    ``parallelism``: Slurm's ``--array=...%N``; ``slurm``: more sbatch options
    (``account``, ``qos``, ``constraint``, ...); ``setup``: shell lines before the task
    (``module load ...``, ``source .venv/bin/activate``)."""

    partition: str | None = None
    gpus: int = 0
    time_min: int = DEFAULT_TIME_MIN
    parallelism: int | None = None
    mem_gb: float | None = None
    cpus: int | None = None
    signal_delay_s: int = DEFAULT_SIGNAL_DELAY_S
    max_requeues: int = DEFAULT_MAX_REQUEUES
    slurm: dict[str, str] = field(default_factory=dict)
    setup: tuple[str, ...] = ()


def parse_time(text: str) -> int:
    """Minutes of a Slurm-style time: ``90``, ``1:30:00``, ``2-00:00:00``, ``45:00``
    (MM:SS). Raises ValueError."""
    text = text.strip()
    days = 0
    if "-" in text:
        head, text = text.split("-", 1)
        days = int(head)
    parts = [int(p) for p in text.split(":")]
    if len(parts) == 1:
        minutes = parts[0]
    elif len(parts) == 2:
        minutes = parts[0] + (1 if parts[1] else 0)
    elif len(parts) == 3:
        minutes = parts[0] * 60 + parts[1] + (1 if parts[2] else 0)
    else:
        raise ValueError(text)
    minutes += days * 24 * 60
    if minutes <= 0:
        raise ValueError(text)
    return minutes


# ------------------------------------------------------------------------------ tasks


def task_groups(sweep: sweeps.Sweep) -> list[tuple[str, ...]]:
    """The labels of each task: every run that is no control starts one, and each
    control joins the task of the first curriculum it is paired with."""
    owner: dict[str, str] = {}
    for curriculum, control in sweep.pairs:
        owner.setdefault(control, curriculum)
    tasks: dict[str, list[str]] = {}
    for run in sweep.runs:
        if run.control is None or run.label not in owner:
            tasks[run.label] = [run.label]
    for run in sweep.runs:
        if run.control is not None and run.label in owner:
            head = owner[run.label]
            # the curriculum may itself be deduplicated into another run's task
            target = next((k for k, v in tasks.items() if head in v), None)
            tasks.setdefault(target or run.label, []).append(run.label)
    return [tuple(labels) for labels in tasks.values()]


def _submitit_signal() -> int:
    """The signal submitit sends ahead of a time limit (``SIGUSR2`` by default)."""
    from submitit.core.job_environment import JobEnvironment

    return JobEnvironment._usr_sig()


def _ignore_signal_and_die_with_parent(ignored: int) -> None:  # pragma: no cover (child)
    """In a trainer's process, before exec: submitit's signal is the task's to handle
    (Slurm sends it to every process of the job; the trainer then stops on the SIGTERM
    the task sends), and when the task dies the trainer gets SIGTERM (it checkpoints and
    stops) instead of training on alone."""
    signal.signal(ignored, signal.SIG_IGN)
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class SweepTask:
    """One task of a submitted sweep: the runs ``labels`` of ``sweep``, one after
    another. Callable (submitit runs it) and checkpointable (submitit calls
    :meth:`checkpoint` on pre-emption or time-out and requeues what it returns)."""

    def __init__(
        self,
        sweep: sweeps.Sweep,
        labels: Sequence[str],
        *,
        cwd: str,
        nproc: int = 1,
        threads: int | None = None,
        exposure_checked: bool = False,
    ):
        self.sweep = replace(sweep, plans={})  # the plans are not needed on the node
        self.labels = tuple(labels)
        self.cwd = cwd
        self.nproc = nproc
        self.threads = threads
        self.exposure_checked = exposure_checked
        self._child = None

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_child"] = None
        return state

    def __call__(self) -> dict[str, dict[str, Any]]:
        """Train what is left of the task's runs; returns ``{label: status}``. Raises
        RuntimeError naming the runs that failed (the job then counts as failed)."""
        os.chdir(self.cwd)
        sweep = self.sweep
        results: dict[str, dict[str, Any]] = {}
        for label in self.labels:
            run = sweep.run_of(label)
            folder = sweep.folder_of(run)
            state, where = sweeps.sweep_run_state(sweep, run)
            if state == "complete":
                print(f"{label}: complete, skipped ({where})", flush=True)
                results[label] = {"status": "complete", "skipped": True}
                continue
            holder = rf.lock_holder(rf.RunFolder(folder))
            if holder is not None:
                print(f"{label}: skipped, process {holder} is training it", flush=True)
                results[label] = {"status": "busy", "holder": holder}
                continue
            resume = sweeps.run_state(folder) == "incomplete"
            argv = sweeps.launch_command(
                sweep,
                run,
                resume=resume,
                launcher="torchrun" if self.nproc > 1 else "python",
                nproc=self.nproc,
                python=sys.executable,
                exposure_checked=self.exposure_checked,
            )
            print(f"{label}: {'resuming' if resume else 'starting'} → {folder}", flush=True)
            print("  " + " ".join(argv), flush=True)
            code = self._train(argv)
            after = sweeps.run_state(folder)
            entry = {"returncode": code, "resumed": resume}
            if code == 0 and after == "complete":
                results[label] = {"status": "complete", **entry}
            elif code in (128 + signal.SIGTERM, -signal.SIGTERM):
                # the trainer was sent SIGTERM from outside (Slurm's pre-emption signals
                # every process of the job): it stopped at a checkpoint of its step
                print(f"{label}: stopped by SIGTERM (exit {code}) at a checkpoint", flush=True)
                self._preempted(label)
            else:
                results[label] = {"status": "failed", **entry}
                print(f"{label}: FAILED (exit {code})", flush=True)
        failed = [label for label, r in results.items() if r["status"] == "failed"]
        if failed:
            raise RuntimeError("failed: " + ", ".join(failed))
        return results

    def _preempted(self, label: str) -> None:
        """Hand the task to submitit's own pre-emption path, as if its signal had come:
        submitit calls :meth:`checkpoint` and requeues (pre-emptions do not count against
        ``--max-requeues``; time-outs do). Outside submitit: RuntimeError."""
        if not os.environ.get("SUBMITIT_EXECUTOR"):
            raise RuntimeError(f"{label} was stopped by SIGTERM; resume: run the sweep again")
        os.kill(os.getpid(), _submitit_signal())
        time.sleep(1.0)  # the handler runs at once and requeues (exits) ...
        raise RuntimeError(f"{label} was stopped by SIGTERM and the task was not requeued")

    def _train(self, argv: Sequence[str]) -> int:
        import subprocess

        env = dict(os.environ)
        if self.threads:
            env["OMP_NUM_THREADS"] = str(self.threads)
        ignored = _submitit_signal() if os.environ.get("SUBMITIT_EXECUTOR") else signal.SIGUSR2

        def prepare_child() -> None:  # pragma: no cover (runs in the child)
            _ignore_signal_and_die_with_parent(ignored)

        self._child = subprocess.Popen(list(argv), env=env, preexec_fn=prepare_child)
        try:
            # poll, not wait(): wait() holds a lock the signal handler would need
            while self._child.poll() is None:
                time.sleep(0.2)
            return self._child.returncode
        finally:
            if self._child.poll() is None:  # leaving early (KeyboardInterrupt, an error)
                self._stop_child()
            self._child = None

    def _stop_child(self) -> None:
        child = self._child
        if child is None or child.poll() is not None:
            return
        child.send_signal(signal.SIGTERM)  # the trainer: finish the step, checkpoint, exit
        deadline = time.monotonic() + STOP_WAIT_S
        while child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)

    def checkpoint(self, *args: Any, **kwargs: Any):
        """submitit's hook (pre-emption, time-out): stop the trainer at a checkpoint of
        its current step, and return this task to be requeued; the new start resumes."""
        from submitit.helpers import DelayedSubmission

        print("pre-empted or out of time: stopping the trainer at a checkpoint", flush=True)
        self._stop_child()
        return DelayedSubmission(self)


# ------------------------------------------------------------------------------ submitting


def make_executor(executor: str, folder: Path, resources: Resources):
    """A submitit executor (``LocalExecutor`` or ``SlurmExecutor``) for ``resources``."""
    import submitit

    if executor == "local":
        ex = submitit.LocalExecutor(folder=str(folder), max_num_timeout=resources.max_requeues)
        params: dict[str, Any] = {
            "timeout_min": resources.time_min,
            "signal_delay_s": resources.signal_delay_s,
            "gpus_per_node": resources.gpus,
        }
        if resources.setup:
            params["setup"] = list(resources.setup)
        ex.update_parameters(**params)
        return ex
    if executor == "slurm":
        ex = submitit.SlurmExecutor(folder=str(folder), max_num_timeout=resources.max_requeues)
        params = {
            "time": resources.time_min,
            "signal_delay_s": resources.signal_delay_s,
            "nodes": 1,
            "ntasks_per_node": 1,
            "job_name": "curriculumc-sweep",
        }
        if resources.partition:
            params["partition"] = resources.partition
        if resources.gpus:
            params["gpus_per_node"] = resources.gpus
        if resources.cpus:
            params["cpus_per_task"] = resources.cpus
        if resources.mem_gb:
            params["mem"] = f"{int(resources.mem_gb * 1024)}MB"
        if resources.parallelism:
            params["array_parallelism"] = resources.parallelism
        if resources.setup:
            params["setup"] = list(resources.setup)
        if resources.slurm:
            params["additional_parameters"] = dict(resources.slurm)
        ex.update_parameters(**params)
        return ex
    raise ValueError(f"unknown executor {executor!r}")  # the CLI offers only EXECUTORS


@dataclass
class Submission:
    """What :func:`submit` did: the jobs (submitit Job objects, by task), and the tasks
    left out because their runs are complete."""

    executor: str
    folder: Path
    jobs: list[tuple[tuple[str, ...], Any]]
    complete: list[tuple[str, ...]]
    kept: list[tuple[tuple[str, ...], dict]] = field(default_factory=list)


def submit(
    sweep: sweeps.Sweep,
    executor: str,
    resources: Resources,
    *,
    exposure_checked: bool = False,
    log: Callable[[str], None] = print,
) -> Submission:
    """Submit every task with a run left to do as one array (``executor.map_array``...:
    ``submit_array``), write the manifest with the job ids; returns the submission.

    A task whose job of an earlier submission is still queued or running (its state read
    through submitit) is not submitted again.
    """
    folder = sweep.folder / JOB_FOLDERS[executor]
    previous = _previous_jobs(sweep)
    to_submit, complete, kept = [], [], []
    for labels in task_groups(sweep):
        runs = [sweep.run_of(label) for label in labels]
        if all(sweeps.sweep_run_state(sweep, run)[0] == "complete" for run in runs):
            complete.append(labels)
            continue
        old = previous.get(labels)
        if old is not None and _still_active(sweep, old):
            kept.append((labels, old))
            log(f"{', '.join(labels)}: job {old['job_id']} is still {old.get('state')}; kept")
            continue
        to_submit.append(labels)
    jobs: list[tuple[tuple[str, ...], Any]] = []
    if to_submit:
        ex = make_executor(executor, folder, resources)
        tasks = [
            SweepTask(
                sweep,
                labels,
                cwd=os.getcwd(),
                nproc=max(1, resources.gpus),
                threads=resources.cpus,
                exposure_checked=exposure_checked,
            )
            for labels in to_submit
        ]
        jobs = list(zip(to_submit, ex.submit_array(tasks)))
    submission = Submission(executor, folder, jobs, complete, kept)
    write_submitted(sweep, submission, previous)
    for labels, job in jobs:
        log(f"job {job.job_id}: {', '.join(labels)}")
    return submission


def _previous_jobs(sweep: sweeps.Sweep) -> dict[tuple[str, ...], dict]:
    try:
        manifest = json.loads((sweep.folder / sweeps.MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    section = manifest.get("submit") or {}
    where = {"executor": section.get("executor"), "folder": section.get("folder")}
    return {
        tuple(job["runs"]): {**job, **where} for job in section.get("jobs", ()) if job.get("job_id")
    }


def _still_active(sweep: sweeps.Sweep, job: dict) -> bool:
    """Whether a job of an earlier submission may still train (queued or running)."""
    if not job.get("executor") or not job.get("folder"):
        return False
    state = job_state(job["executor"], sweep.folder / job["folder"], job)["state"]
    return state not in DONE_STATES


def write_submitted(
    sweep: sweeps.Sweep, submission: Submission, previous: dict[tuple[str, ...], dict]
) -> Path:
    """The manifest right after submitting: every run ``submitted`` with its new job id
    (a task not submitted again keeps its earlier job), complete runs ``complete``."""
    new = {labels for labels, _ in submission.jobs}
    jobs = [
        {"job_id": str(job.job_id), "runs": list(labels), "state": "SUBMITTED", "requeues": 0}
        for labels, job in submission.jobs
    ]
    # earlier jobs of the same executor stay on record (complete or still queued)
    executor = submission.executor
    jobs += [
        {k: v for k, v in old.items() if k not in ("executor", "folder")}
        for labels, old in previous.items()
        if labels not in new and old.get("executor") == executor
    ]
    section = {
        "executor": executor,
        "folder": JOB_FOLDERS[executor],
        "submitted": time.time(),
        "jobs": jobs,
    }
    return sweeps.write_manifest(sweep, run_statuses(sweep, section), submit=section)


def run_statuses(sweep: sweeps.Sweep, section: dict) -> dict[str, dict[str, Any]]:
    """Each run's manifest status under a submission (:func:`run_status`), with its job
    id and the step its folder reached."""
    job_of = {label: job for job in section.get("jobs", ()) for label in job["runs"]}
    statuses: dict[str, dict[str, Any]] = {}
    for run in sweep.runs:
        state, where = sweeps.sweep_run_state(sweep, run)
        job = job_of.get(run.label)
        entry: dict[str, Any] = {}
        if job is not None:
            entry["job_id"], entry["job_state"] = job["job_id"], job.get("state")
        if state == "complete":
            entry.update(sweeps._complete_status(sweep, run, where))
        else:
            entry["status"] = run_status(state, job)
        step = last_step(sweep.folder_of(run))
        if step is not None:
            entry["step"] = step
        statuses[run.label] = entry
    return statuses


def run_status(folder_state: str, job: dict | None) -> str:
    """A run's status from its folder's state and its job's: ``complete``; ``pending``
    (no job); ``submitted`` (queued); ``running`` (its job runs and its folder exists),
    ``queued`` (its job runs another run of the task first); ``failed`` (the job ended,
    the run incomplete) or ``not run`` (the job ended before it)."""
    if folder_state == "complete":
        return "complete"
    if job is None:
        return "pending"
    state = str(job.get("state", "")).upper()
    if state in ("SUBMITTED", "PENDING", "REQUEUED"):
        return "submitted"
    if state in DONE_STATES:
        return "failed" if folder_state == "incomplete" else "not run"
    return "running" if folder_state == "incomplete" else "queued"


def last_step(folder: Path) -> int | None:
    """The last training step a run folder's ``metrics.jsonl`` records, or None."""
    path = rf.RunFolder(folder).metrics
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a torn last line
        if isinstance(record, dict) and isinstance(record.get("step"), int):
            return record["step"]
    return None


# ------------------------------------------------------------------------------ job state


def job_state(executor: str | None, folder: Path, job: dict) -> dict[str, Any]:
    """``{"state", "requeues", "error"?}`` of a submitted job, read through submitit from
    the job's folder: its result file when there is one (``FINISHED`` or ``FAILED``, with
    the error's last line); else on Slurm submitit's ``sacct`` state, locally whether the
    job's controller (its id is the controller's pid) is alive (``RUNNING``) or not
    (``INTERRUPTED``). ``requeues``: the "Requeued job" lines in the job's logs."""
    from submitit.core import utils as submitit_utils

    job_id = str(job["job_id"])
    paths = submitit_utils.JobPaths(folder, job_id=job_id, task_id=0)
    info: dict[str, Any] = {"requeues": _requeues(paths)}
    if paths.result_pickle.exists():
        try:
            outcome, result = submitit_utils.pickle_load(paths.result_pickle)
        except Exception as exc:  # a torn or foreign file: say so, do not stop
            return {**info, "state": "UNKNOWN", "error": f"unreadable result: {exc}"}
        if outcome == "success":
            return {**info, "state": "FINISHED"}
        last = [line for line in str(result).strip().splitlines() if line.strip()]
        return {**info, "state": "FAILED", "error": last[-1] if last else "failed"}
    if executor == "slurm":
        import submitit

        try:
            state = submitit.SlurmJob(folder=str(folder), job_id=job_id).state
        except Exception as exc:  # noqa: BLE001 (no sacct here, a scheduler hiccup)
            return {**info, "state": "UNKNOWN", "error": f"sacct: {exc}"}
        return {**info, "state": state.split()[0] if state else "UNKNOWN"}
    return {**info, "state": "RUNNING" if _local_controller_alive(job_id) else "INTERRUPTED"}


def _local_controller_alive(job_id: str) -> bool:
    """Whether the local job's controller (pid ``job_id``) still runs: the process
    exists, is no zombie, and is submitit's controller (not a reused pid)."""
    try:
        stat = Path(f"/proc/{int(job_id)}/stat").read_text()
        cmdline = Path(f"/proc/{int(job_id)}/cmdline").read_bytes()
    except (OSError, ValueError):
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z" and b"submitit.local._local" in cmdline


def _requeues(paths) -> int:
    count = 0
    for path in (paths.stdout, paths.stderr):
        try:
            count += path.read_text(encoding="utf-8", errors="replace").count("Requeued job")
        except OSError:
            pass
    return count


def refresh(sweep_folder: Path) -> dict[str, Any]:
    """Read every job's state (:func:`job_state`) and every run's folder, rewrite
    ``sweep.json`` with them; returns the manifest. Needs no Sweep: the manifest has it all."""
    path = Path(sweep_folder) / sweeps.MANIFEST_NAME
    manifest = json.loads(path.read_text(encoding="utf-8"))
    section = manifest.get("submit")
    if not section:
        return manifest
    folder = Path(sweep_folder) / section.get("folder", SUBMITIT_FOLDER)  # a pattern (%j)
    for job in section.get("jobs", ()):
        job.pop("error", None)
        job.update(job_state(section.get("executor"), folder, job))
    job_of = {label: job for job in section.get("jobs", ()) for label in job["runs"]}
    for entry in manifest.get("runs", ()):
        run_folder = Path(sweep_folder) / entry["folder"]
        job = job_of.get(entry["label"])
        if job is not None:
            entry["job_id"], entry["job_state"] = job["job_id"], job["state"]
            entry["requeues"] = job.get("requeues", 0)
        state = sweeps.run_state(run_folder)
        if state == "complete" or job is not None:
            entry["status"] = run_status(state, job)
        step = last_step(run_folder)
        if step is not None:
            entry["step"] = step
    tmp = path.with_suffix(f".json.{os.getpid()}.tmp")  # --status may refresh alongside
    tmp.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return manifest


def status_rows(manifest: dict[str, Any]) -> list[tuple[str, str, str, str, str, str]]:
    """``(run, job, job state, requeues, status, step)`` per run of a refreshed manifest."""
    rows = []
    for entry in manifest.get("runs", ()):
        rows.append(
            (
                entry["label"],
                str(entry.get("job_id", "–")),
                str(entry.get("job_state", "–")),
                str(entry.get("requeues", 0)),
                str(entry.get("status", "pending")),
                str(entry.get("step", "–")),
            )
        )
    return rows


def wait(
    sweep_folder: Path,
    *,
    poll_s: float = 5.0,
    log: Callable[[str], None] = print,
    jobs: Sequence[Any] = (),
) -> dict[str, Any]:
    """Refresh the manifest every ``poll_s`` seconds until every job is done, logging
    each change of a run's status; returns the last manifest. ``jobs``: the submitit
    Job objects of this process (a local job's state needs its controller's handle)."""
    seen: dict[str, tuple] = {}
    while True:
        for job in jobs:  # reap finished local controllers (their pid would linger)
            try:
                job.done()
            except Exception:  # noqa: BLE001 (a state query must not stop the wait)
                pass
        manifest = refresh(sweep_folder)
        for entry in manifest.get("runs", ()):
            key = (entry.get("status"), entry.get("job_state"), entry.get("requeues", 0))
            if seen.get(entry["label"]) != key:
                seen[entry["label"]] = key
                step = f", step {entry['step']}" if "step" in entry else ""
                requeued = f", requeued {key[2]}x" if key[2] else ""
                log(
                    f"{entry['label']}: {entry.get('status')} (job {entry.get('job_id', '–')} "
                    f"{entry.get('job_state', '–')}{requeued}{step})"
                )
        section = manifest.get("submit") or {}
        if all(job.get("state") in DONE_STATES for job in section.get("jobs", ())):
            return manifest
        time.sleep(poll_s)
