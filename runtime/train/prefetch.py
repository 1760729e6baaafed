"""The next step's batch, prepared on a background thread while the current step runs.

Everything a step needs before its forward -- the sampler's indices, the collated batch,
each objective's targets and corrupted input, the vocabulary map -- is a pure function of
the step (its generators are :func:`~curriculumc.runtime.train.objectives.step_generator`
of ``(seed, step, salt)``, fresh CPU generators: nothing reads or advances a global RNG),
so preparing it early on another thread computes exactly what preparing it on time does.

One job at most is in flight, and the trainer joins it before its step ends
(:meth:`Prefetcher.join`): between two steps no thread touches the sampler, the corpus or
the model, so re-scoring, evaluating, checkpointing and stopping on a signal meet no
concurrent work, and the daemon thread never holds up the process's exit.

A job is keyed by its step and by a *context* (the sampler it drew from and the objective
weights it used): :meth:`Prefetcher.take` returns the prepared batch only when both match
-- after a self-paced re-score the sampler is a new object and the stale batch is
recomputed on the spot. An exception raised while preparing step ``k`` (a
:class:`~curriculumc.errors.CurriculumError`, say) is re-raised by ``take(k)``, in the
main thread, at step ``k``: the same exception object, the same message.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any


class _Job:
    __slots__ = ("step", "context", "done", "result", "error")

    def __init__(self, step: int, context: tuple):
        self.step = step
        self.context = context
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None


def _same_context(a: tuple, b: tuple) -> bool:
    """Contexts are ``(sampler, weights)``: the sampler by identity (a job holds a reference
    to it, so its id cannot be reused while compared), the weights by value."""
    return len(a) == len(b) and a[0] is b[0] and all(x == y for x, y in zip(a[1:], b[1:]))


class Prefetcher:
    """Runs ``prepare(step, *context)`` for the next step on one daemon thread."""

    def __init__(self, prepare: Callable[..., Any]):
        self._prepare = prepare
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._job: _Job | None = None

    def submit(self, step: int, context: tuple) -> None:
        """Start preparing ``step`` (a job still in flight is joined and dropped first)."""
        self.join()
        self._job = _Job(step, context)
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._work, name="curriculumc-prefetch", daemon=True
            )
            self._thread.start()
        self._queue.put(self._job)

    def join(self) -> None:
        """Wait for the job in flight, if any (it is kept for :meth:`take`)."""
        if self._job is not None:
            self._job.done.wait()

    def take(self, step: int, context: tuple) -> Any:
        """The prepared batch of ``step`` in ``context``: the job's result when it matches
        (its exception re-raised), else prepared now on this thread."""
        job, self._job = self._job, None
        if job is not None:
            job.done.wait()
            if job.step == step and _same_context(job.context, context):
                if job.error is not None:
                    raise job.error
                return job.result
        return self._prepare(step, *context)

    def close(self) -> None:
        """Drop the job in flight and end the thread (it exits after its current job)."""
        self._job = None
        if self._thread is not None:
            self._queue.put(None)
            self._thread = None

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            try:
                job.result = self._prepare(job.step, *job.context)
            except BaseException as exc:  # re-raised by take() in the main thread
                job.error = exc
            finally:
                job.done.set()
