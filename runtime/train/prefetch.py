"""The next step's batch, prepared on a background thread while the current step runs.

Everything a step needs before its forward -- the sampler's indices, the collated batch,
each objective's targets and corrupted input, the vocabulary map, the learning rates --
is a pure function of the step (its generators are :func:`~curriculumc.runtime.train.
objectives.step_generator` of ``(seed, step, salt)``, fresh CPU generators: nothing reads
or advances a global RNG), so preparing it early on another thread computes exactly what
preparing it on time does.

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

Handing a job over is split in two so that the main thread's share is one lock release
at the moment the work should start (the trainer's: just before the backward, which runs
without the GIL): :meth:`Prefetcher.arm` names the job (step and context, at the start of
the step), :meth:`Prefetcher.fire` wakes the thread. The hand-overs are bare locks, not a
queue or an event: on a CPU, after ~100 ms of matrix products, every piece of Python the
main thread runs is slow (cold caches: tens of microseconds for a few lines), and a
queue's put (a Condition's Python code, then the wake-up) took ~0.09 ms a step, a bare
lock's release ~0.045 ms -- most of it the wake-up itself (``bench/train_throughput.py
--only host``).

The thread also lets go of what the main thread hands it with :meth:`Prefetcher.release`
-- the trainer's spent autograd graphs (the losses of the steps it has read back) and
spent batches: their teardown, ~0.17 ms a step for roberta-tiny's graph on a CPU, then
runs during a backward instead of on the main thread. It drops them after the job's preparation; the objects must need nothing but
their memory freed (no finalizer that touches what the main thread uses).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


class _Channel:
    """One thread's hand-over, two bare locks: the main thread releases ``wake`` once per
    job and the thread acquires it once per job; the thread releases ``done`` once per job
    and the main thread acquires it once per job (:meth:`_Job.wait`). ``job`` is what the
    thread runs next (None: exit)."""

    __slots__ = ("wake", "done", "job")

    def __init__(self):
        self.wake = threading.Lock()
        self.wake.acquire()
        self.done = threading.Lock()
        self.done.acquire()
        self.job: _Job | None = None


class _Job:
    __slots__ = ("step", "context", "result", "error", "garbage", "channel")

    def __init__(self, step: int, context: tuple):
        self.step = step
        self.context = context
        self.result: Any = None
        self.error: BaseException | None = None
        self.garbage: list = []  # let go of on the thread, after the preparation
        self.channel: _Channel | None = None  # while handed over and not yet waited for

    def wait(self) -> None:
        """Block until the job is done (any number of times; the main thread only)."""
        if self.channel is not None:
            self.channel.done.acquire()
            self.channel = None


def _same_context(a: tuple, b: tuple) -> bool:
    """Contexts are ``(sampler, weights)``: the sampler by identity (a job holds a reference
    to it, so its id cannot be reused while compared), the weights by value."""
    return len(a) == len(b) and a[0] is b[0] and all(x == y for x, y in zip(a[1:], b[1:]))


class Prefetcher:
    """Runs ``prepare(step, *context)`` for the next step on one daemon thread."""

    def __init__(self, prepare: Callable[..., Any]):
        self._prepare = prepare
        self._channel: _Channel | None = None
        self._job: _Job | None = None  # handed to the thread, not yet taken
        self._armed: _Job | None = None  # named, not yet handed over
        self._garbage: list = []  # released, for the next job to drop

    def arm(self, step: int, context: tuple) -> None:
        """Name the next job (started by :meth:`fire`; a job armed before is dropped)."""
        self._armed = _Job(step, context)

    def fire(self) -> None:
        """Hand the armed job to the thread (a job still in flight is joined and dropped
        first); nothing when none is armed."""
        job, self._armed = self._armed, None
        if job is None:
            return
        if self._job is not None:
            self._job.wait()
        self._job = job
        job.garbage, self._garbage = self._garbage, []
        channel = self._channel
        if channel is None:
            channel = self._channel = _Channel()
            threading.Thread(
                target=self._work, args=(channel,), name="curriculumc-prefetch", daemon=True
            ).start()
        job.channel = channel
        channel.job = job
        channel.wake.release()

    def release(self, objects: Any) -> None:
        """Hand ``objects`` over to be dropped on the thread with the next job (when no job
        is fired again, they are dropped with the prefetcher)."""
        self._garbage.append(objects)

    def submit(self, step: int, context: tuple) -> None:
        """Start preparing ``step`` now: :meth:`arm` then :meth:`fire`."""
        self.arm(step, context)
        self.fire()

    def join(self) -> None:
        """Wait for the job in flight, if any (it is kept for :meth:`take`)."""
        if self._job is not None:
            self._job.wait()

    def take(self, step: int, context: tuple) -> Any:
        """The prepared batch of ``step`` in ``context``: the job's result when it matches
        (its exception re-raised), else prepared now on this thread."""
        job, self._job = self._job, None
        if job is not None:
            job.wait()
            if job.step == step and _same_context(job.context, context):
                if job.error is not None:
                    raise job.error
                return job.result
        return self._prepare(step, *context)

    def close(self) -> None:
        """Drop the jobs armed and in flight and end the thread (it exits after its
        current job)."""
        self._job = self._armed = None
        self._garbage = []
        channel, self._channel = self._channel, None
        if channel is not None:
            channel.job = None
            try:
                channel.wake.release()
            except RuntimeError:  # a wake-up is pending: the thread reads None and exits
                pass

    def _work(self, channel: _Channel) -> None:
        while True:
            channel.wake.acquire()
            job = channel.job
            if job is None:
                return
            try:
                job.result = self._prepare(job.step, *job.context)
            except BaseException as exc:  # re-raised by take() in the main thread
                job.error = exc
            finally:
                job.garbage = []  # the last references to them: dropped on this thread
                channel.done.release()
