"""Limits on what one command may ask for: runs in a design, worker processes, memory.

Each is checked before anything is built or started, and a refusal is one line (a
ScenarioError) stating the limit and what was asked:

- a design (sweep, replications) has at most MAX_RUNS runs, counted before it is expanded;
- --workers is at most WORKERS_PER_CORE x the cores this process may use;
- a run must fit in the memory available: `memory_estimate` predicts a run's peak from
  buyers, vendors, links per buyer and memory pools (measured, see below) and
  `check_memory` compares it with MemAvailable (/proc/meminfo), or with BJS_MAX_MEMORY
  if that is set lower (e.g. BJS_MAX_MEMORY=4G on a shared machine).

Only the standard library is imported at module level (sim.scenario, for the error type,
when a check runs): `run.py --help` builds the --workers flag with this module.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from analysis.engine.executors import default_workers

if TYPE_CHECKING:
    from analysis.engine.design import Sweep
    from sim.scenario import Scenario

#: The most runs one design may have (variants x replications): a million runs of the
#: baseline take days on a workstation.
MAX_RUNS = 1_000_000
#: The most values one grid axis may list (a sweep file is checked value by value).
MAX_AXIS_VALUES = 10_000
#: --workers may be at most this many per core (more only adds memory and switching).
WORKERS_PER_CORE = 4

# Peak memory of one run (`run.py simulate --out`, the largest of the commands), measured
# as the peak resident size of the process (ru_maxrss) on the baseline at 10k-1M buyers,
# 4-200 vendors, 6-60 links per buyer, with and without channel half-lives (Python 3.12,
# numpy 2, Linux); see README "Commands". Rounded up: the estimate errs on the high side.
#: the interpreter, numpy, pandas, pyarrow and the model's code
BASE_BYTES = 200 * 2**20
#: per buyer: state arrays, journeys, the tables and writing them to Parquet
PER_BUYER = 1000
#: per buyer and vendor: preference, consideration, exposure and memory arrays
PER_BUYER_VENDOR = 65
#: per buyer and link of the referral graph: edges, CSR adjacency, building them
PER_LINK = 60
#: per buyer, vendor and extra memory pool (a distinct channel half-life)
PER_POOL = 16
#: per byte of a graph file: networkx holds a read graph in about this many bytes
PER_GRAPH_FILE_BYTE = 20


def max_workers() -> int:
    """The largest --workers: WORKERS_PER_CORE x the cores this process may use."""
    return WORKERS_PER_CORE * default_workers()


def check_runs(source: str, field: str, variants: int, replications: int) -> None:
    """Refuse a design of more than MAX_RUNS runs, before it is expanded."""
    from sim.scenario import ScenarioError

    total = variants * replications
    if total > MAX_RUNS:
        raise ScenarioError(
            source,
            field,
            f"{total:,} runs ({variants:,} variants x {replications:,} replications); "
            f"a design may have at most {MAX_RUNS:,} runs: use fewer values, samples or "
            "replications",
        )


# ------------------------------------------------------------------------------ memory
def links_per_buyer(scenario: Scenario) -> float:
    """Referral-graph links per buyer: the generator's degree plus colleagues."""
    net, n = scenario.network, scenario.buyers.count
    if net.kind == "watts_strogatz":
        degree = float(min(net.k - net.k % 2, n - 1))
    elif net.kind in ("barabasi_albert", "powerlaw_cluster"):
        degree = 2.0 * min(net.m, n - 1)
    else:
        degree = 0.0  # a file's graph is counted by its size (graph_file_bytes)
    acc = scenario.accounts
    if acc is not None:
        sizes = [min(max(g, 1.0), acc.max_group) for g in acc.group_size.as_tuple()]
        shares = acc.size_shares.as_tuple()
        people = sum(s * g for s, g in zip(shares, sizes, strict=True))
        pairs = sum(s * g * (g - 1) for s, g in zip(shares, sizes, strict=True))
        degree += acc.colleague_links * pairs / max(people, 1e-9)
    return degree


def graph_file_bytes(scenario: Scenario) -> int:
    """The size of the scenario's graph file (0 for a generated graph or none)."""
    path = scenario.graph_path() if scenario.network.kind == "file" else None
    try:
        return os.stat(path).st_size if path is not None else 0
    except OSError:
        return 0


def memory_pools(scenario: Scenario) -> int:
    """Extra preference pools kept per buyer and vendor (one per distinct channel
    half-life, plus the default one, when channel half-lives are set)."""
    lives = scenario.memory.channel_half_lives
    return len(set(lives.values())) + 1 if lives else 0


def memory_estimate(scenario: Scenario) -> int:
    """The estimated peak memory of one run of `scenario`, in bytes."""
    n, v = scenario.buyers.count, len(scenario.vendors)
    per_buyer = (
        PER_BUYER
        + v * PER_BUYER_VENDOR
        + links_per_buyer(scenario) * PER_LINK
        + v * memory_pools(scenario) * PER_POOL
    )
    return int(BASE_BYTES + n * per_buyer + graph_file_bytes(scenario) * PER_GRAPH_FILE_BYTE)


def parse_size(text: str) -> int | None:
    """'4G', '512M', '800000K' or plain bytes; None if it is not a size."""
    text = text.strip().upper().removesuffix("B")
    units = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
    scale = units.get(text[-1:], 1)
    number = text[:-1] if text[-1:] in units else text
    try:
        value = float(number)
    except ValueError:
        return None
    return int(value * scale) if value > 0 else None


def available_memory() -> tuple[int, str] | None:
    """(bytes a run may use, where that figure comes from), or None if unknown: the
    kernel's MemAvailable, or BJS_MAX_MEMORY if set and lower."""
    found: tuple[int, str] | None = None
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    found = (int(line.split()[1]) * 1024, "available")
                    break
    except (OSError, ValueError, IndexError):
        pass
    cap = os.environ.get("BJS_MAX_MEMORY")
    if cap:
        limit = parse_size(cap)
        if limit is None:
            from sim.scenario import ScenarioError

            raise ScenarioError(
                "BJS_MAX_MEMORY", "", f"must be a size like 4G or 512M (found {cap!r})"
            )
        if found is None or limit < found[0]:
            found = (limit, "allowed by BJS_MAX_MEMORY")
    return found


def _gb(n: float) -> str:
    return f"{n / 2**30:.1f} GB"


def check_memory(
    scenario: Scenario,
    source: str | None = None,
    field: str = "buyers.count",
    runs_at_once: int = 1,
) -> None:
    """Refuse a run (or `runs_at_once` runs side by side) that would not fit in memory,
    before any model is built: one line with what it needs and what is available."""
    from sim.scenario import ScenarioError

    have = available_memory()
    if have is None:
        return
    runs = max(1, runs_at_once)
    need = memory_estimate(scenario) * runs
    if need <= have[0]:
        return
    n, v = scenario.buyers.count, len(scenario.vendors)
    per_buyer = (memory_estimate(scenario) - BASE_BYTES) / n
    fit = int(max(have[0] / runs - BASE_BYTES, 0) / per_buyer)
    at_once = f" x {runs} runs at once" if runs > 1 else ""
    advice = (
        f"lower buyers.count to about {fit:,}" if fit >= 1 else "fewer vendors or links per buyer"
    )
    raise ScenarioError(
        source or scenario.source,
        field,
        f"a run of {n:,} buyers and {v} vendors needs about {_gb(need / runs)} of memory"
        f"{at_once}, {_gb(have[0])} is {have[1]}; {advice}"
        + (" or use fewer workers" if runs > 1 else ""),
    )


#: Paths whose value changes a run's memory (what an axis must touch to be looked at).
_MEMORY_PATHS = ("buyers.count", "network.", "accounts", "memory.channel_half_lives")


def check_sweep_memory(sweep: Sweep, runs_at_once: int = 1) -> None:
    """The largest run of a sweep must fit (`runs_at_once` of them side by side). Each
    value of an axis that changes buyers, the graph, accounts or memory pools is applied
    alone to the base; the largest of these runs is checked."""
    from sim.scenario import ScenarioError

    base = sweep.scenario.with_changes(sweep.fixed) if sweep.fixed else sweep.scenario
    worst, most = base, memory_estimate(base)
    for axis in sweep.axes:
        if axis.kind == "strategy" or not any(p.startswith(_MEMORY_PATHS) for p in axis.paths):
            continue
        values = axis.values if axis.kind == "grid" else (axis.low, axis.high)
        for value in values:
            if axis.kind == "range" and axis.integer:
                value = int(round(value))
            try:
                candidate = base.with_changes(sweep.axis_changes(axis, value))
            except ScenarioError:
                continue  # checked where the design is loaded
            need = memory_estimate(candidate)
            if need > most:
                worst, most = candidate, need
    check_memory(worst, sweep.source, "sweep", runs_at_once)
