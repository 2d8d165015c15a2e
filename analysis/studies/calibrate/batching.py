"""pyabc's particles run in batches through the experiment engine, reproducibly.

pyabc's ABC-SMC hands a sampler one opaque function, `simulate_one()`, that draws a
parameter set from the proposal, calls the model on it, and decides acceptance. Its own
samplers call it in their own worker processes, one particle at a time, so the model
would bypass the engine (resume from stored runs, process pools or Dask, one progress
bar, common seeds). `EngineSampler` keeps pyabc's algorithm and moves only the model
calls: each particle of a batch runs in its own thread until it asks the model for its
summary statistics, and parks there (`Gateway`); when every particle of the batch has
parked, their parameter sets go to the engine as ONE batch of runs; then the particles
resume, one at a time, and finish their acceptance step.

Reproducible: particle i of batch b of generation t seeds numpy's and Python's global
generators (which pyabc draws from) with a seed derived from (the calibration's seed, t,
b, i), and only one particle thread runs Python at any moment (the next starts once the
previous has parked; they resume in order). So the same calibration draws the same
particles whatever the pool, and a calibration run again into the same folder finds
every run on disk and replays its search.

A batch is the particles still missing for the population (at least `min_batch`); the
particles are kept in order until the population is full, so a batch's surplus is
dropped without preferring fast or accepted particles.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
from pyabc.sampler import Sampler

#: run a batch of parameter sets: [{name: value}] -> [{statistic: value}]
BatchRunner = Callable[[list[dict[str, float]]], list[dict[str, float]]]


class _Cancelled(Exception):
    """The batch's runs did not finish (the engine stopped): the particle ends."""


class _Slot:
    """One particle of a batch: where its thread parks and gets its statistics."""

    def __init__(self) -> None:
        self.parked = threading.Event()  # at the model, or finished
        self.resume = threading.Event()  # its statistics are in
        self.done = threading.Event()
        self.request: dict[str, float] | None = None
        self.result: dict[str, float] | None = None
        self.cancelled = False
        self.particle: Any = None
        self.error: BaseException | None = None


_here = threading.local()


class Gateway:
    """The model pyabc calls: inside a batch's particle thread it parks until the batch
    has run; anywhere else it runs the one parameter set as a batch of its own."""

    def __init__(self, run_batch: BatchRunner) -> None:
        self.run_batch = run_batch

    def __call__(self, pars: Any) -> dict[str, float]:
        values = {k: float(v) for k, v in dict(pars).items()}
        slot: _Slot | None = getattr(_here, "slot", None)
        if slot is None:
            return self.run_batch([values])[0]
        if slot.request is not None:
            raise RuntimeError("a particle asked the model twice in one batch")
        slot.request = values
        slot.parked.set()
        slot.resume.wait()
        if slot.cancelled:
            raise _Cancelled
        assert slot.result is not None
        return slot.result


class EngineSampler(Sampler):
    """A pyabc sampler whose model calls run in batches through a Gateway (module doc).

    Args:
        gateway: the model pyabc was given (its run_batch runs the engine).
        seed: the calibration's seed (every particle's seed derives from it).
        min_batch: the fewest particles a batch runs (keeps the pool busy at a
            population's tail).
        on_batch: called after each batch with (generation, particles, accepted so far).
    """

    def __init__(
        self,
        gateway: Gateway,
        seed: int,
        min_batch: int = 8,
        on_batch: Callable[[int, int, int], None] | None = None,
    ) -> None:
        super().__init__()
        self.gateway, self.seed, self.min_batch = gateway, int(seed), int(min_batch)
        self.on_batch = on_batch

    def sample_until_n_accepted(
        self,
        n,
        simulate_one,
        t,
        *,
        max_eval=np.inf,
        all_accepted=False,  # noqa: ARG002 - every particle runs anyway
        ana_vars=None,  # noqa: ARG002
    ):
        sample = self._create_empty_sample()
        evaluations = accepted = batch = 0
        while accepted < n and evaluations < max_eval:
            size = max(n - accepted, self.min_batch)
            if max_eval < np.inf:
                size = int(min(size, max_eval - evaluations))
            for particle in self._batch(simulate_one, self._seeds(t, batch, size)):
                if accepted >= n:
                    break  # the population is full: the batch's surplus is dropped
                sample.append(particle)
                evaluations += 1
                accepted += bool(particle.accepted)
            batch += 1
            if self.on_batch is not None:
                self.on_batch(t, evaluations, accepted)
        self.nr_evaluations_ = evaluations
        if sample.n_accepted < n:
            sample.ok = False
        return sample

    def _seeds(self, t: int, batch: int, size: int) -> list[int]:
        """The particles' seeds: a fixed function of (seed, generation, batch, index)."""
        seq = np.random.SeedSequence([self.seed, t + 2, batch])  # t is -1 for pyabc's prior sample
        return [int(s) for s in seq.generate_state(size, dtype=np.uint32)]

    def _batch(self, simulate_one: Callable[[], Any], seeds: list[int]) -> list[Any]:
        """Run one particle per seed: each to its model call, the model calls as one
        batch, then each particle to its end, in order."""
        slots = []
        for seed in seeds:
            slot = _Slot()
            threading.Thread(target=_particle, args=(slot, simulate_one, seed), daemon=True).start()
            slot.parked.wait()  # one particle thread runs at a time
            slots.append(slot)
        asking = [s for s in slots if s.request is not None and not s.done.is_set()]
        try:
            results = self.gateway.run_batch([s.request for s in asking]) if asking else []
        except BaseException:
            for s in asking:
                s.cancelled = True
                s.resume.set()
            raise
        for slot, result in zip(asking, results, strict=True):
            slot.result = result
            slot.resume.set()
            slot.done.wait()  # one at a time, in order
        for slot in slots:
            if slot.error is not None:
                raise slot.error
        return [s.particle for s in slots]


def _particle(slot: _Slot, simulate_one: Callable[[], Any], seed: int) -> None:
    """A particle's thread: seed the generators pyabc draws from, run `simulate_one`."""
    _here.slot = slot
    np.random.seed(seed)  # noqa: NPY002 - pyabc draws from the global generator
    random.seed(seed)
    try:
        slot.particle = simulate_one()
    except _Cancelled:
        pass
    except BaseException as exc:  # handed to the sampler, which raises it
        slot.error = exc
    finally:
        slot.done.set()
        slot.parked.set()
