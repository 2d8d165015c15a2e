"""Which targets read an input back: the probe that SHOWS a target is an input check.

A target is an input check (`kind = "input_check"` in a targets file) when its outcome
equals an input by construction; fitting it would fit nothing, and reproducing it
validates nothing. The probe shows it: paired replications (the same seeds) of the
scenario as it is, with all marketing off and with tripled budgets, every target measured
on each run. A target whose value stays put when every vendor's marketing is switched off
and when it is tripled is read from the inputs (the channel table, the input flags, the
hand-set effort), not produced by the buyers' encounters with the vendors.

    from analysis.studies.calibrate.kinds import probe_kinds, format_probe
    result = probe_kinds(load_scenario("scenarios/baseline.toml"),
                         load_targets("scenarios/targets.toml"), replications=6)
    print(format_probe(result))

or `python -m analysis.cli.kinds scenarios/baseline.toml --reps 6` (add
`--slope buyers.sales_readiness_mean=0.05` for each target's slope in that input).

The three conditions (`conditions`):

- **as is**: the scenario unchanged;
- **marketing off**: every vendor's weekly_budget, social_selling and referral_reward 0,
  its schedule removed (a plan would spend again) and a data_loop or oracle vendor made
  static (a data loop needs a budget to move; an oracle follows its schedule). Organic
  discovery (the scenario's [organic] reach), installed bases and word of mouth stay:
  they are the market, not a vendor's spend;
- **budgets x3**: weekly_budget and social_selling x3 (in every plan of a schedule too);
  referral rewards unchanged.

The rule (`verdict`). For each changed condition the paired difference d_r = (value with
the change) - (value as is) is taken over the replications r that measured the target in
both, with its mean and 95% Student-t half-width. The change MOVES the target when the
interval excludes 0 (|mean d| > half-width) AND |mean d| > tolerance / 4 (a shift a
quarter of the target's own tolerance: smaller ones cannot change a verdict). The target's
verdict is "moves" when either change moves it, "unchanged" when both differences were
measured (two or more pairs each) and neither moves it, and "undetermined" otherwise: a
change after which the target is not measurable (no purchases with marketing off, say)
shows neither, and the probe says so rather than guess. "unchanged" is the evidence for
`kind = "input_check"`; "moves" says the outcome is produced by the model (emergent). A
target the probe calls "unchanged" can still be emergent in other inputs (the status quo,
consensus): the probe tests marketing only, so an "unchanged" verdict is read together
with how the measure is built (docs/calibration.md).

The other sign of an input check, an outcome that follows one input one for one, is
`input_slopes`: paired replications at an input's value and at value + delta, each
target's slope d(target) / delta with its 95% half-width; `Slope.one_for_one` when the
interval excludes 0 and the slope is within ONE_FOR_ONE (0.5) of 1 (a share that follows
a share). `probe(scenario, targets, {name: changes, ...})` compares any conditions (an
input that is not one number, such as consideration.shortlist_shares).

The runs go through the experiment engine as a calibration's do: one execution context
(a process pool, or Dask), the study's PointEvaluator with the calibration's plan (each
run measures the targets in its worker, analysis.studies.calibrate.moments), three points
on the same seeds (the calibration's fit seeds, replication_seed(scenario seed, r)), in a
temporary folder removed afterwards: the probe keeps nothing.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from analysis.engine.context import ExecutionContext
from analysis.engine.evaluate import Point, PointEvaluator
from analysis.errors import Stopped
from analysis.stats.compare import t_half_width
from analysis.studies.calibrate.moments import calibration_plan
from analysis.studies.calibrate.spec import Setup
from analysis.studies.calibrate.targets import Target, Targets
from sim.scenario import Scenario

#: the conditions, in order: the scenario as is, all marketing off, budgets tripled
CONDITIONS = ("as_is", "off", "x3")
#: how a condition is named in reports
LABELS = {"as_is": "as is", "off": "marketing off", "x3": "budgets x3"}
#: a change moves a target when its paired difference exceeds this share of the tolerance
SHARE_OF_TOLERANCE = 0.25
#: the factor of the "budgets x3" condition
FACTOR = 3.0
VERDICTS = ("moves", "unchanged", "undetermined")
#: a slope within this of 1 follows its input one for one (Slope.one_for_one)
ONE_FOR_ONE = 0.5


# ----------------------------------------------------------------------------- conditions
def _plans(vendor: Any, factor: float) -> list[dict[str, Any]]:
    """A vendor's schedule as plan dicts, budgets and social selling times `factor`."""
    plans = []
    for plan in vendor.schedule:
        p = plan.model_dump()
        for key in ("weekly_budget", "social_selling"):
            if p[key] is not None:
                p[key] = p[key] * factor
        plans.append(p)
    return plans


def marketing_off(scenario: Scenario) -> dict[str, Any]:
    """The changes that switch every vendor's marketing off (see the module doc)."""
    changes: dict[str, Any] = {}
    for v in scenario.vendors:
        key = f"vendors.{v.name}"
        changes[f"{key}.weekly_budget"] = 0.0
        changes[f"{key}.social_selling"] = 0.0
        changes[f"{key}.referral_reward"] = 0.0
        if v.schedule:
            changes[f"{key}.schedule"] = []
        if v.policy != "static":
            changes[f"{key}.policy"] = "static"
    return changes


def budgets_times(scenario: Scenario, factor: float = FACTOR) -> dict[str, Any]:
    """The changes that multiply every vendor's weekly budget and social-selling spend
    (its own and every plan's) by `factor`."""
    changes: dict[str, Any] = {}
    for v in scenario.vendors:
        key = f"vendors.{v.name}"
        changes[f"{key}.weekly_budget"] = v.weekly_budget * factor
        changes[f"{key}.social_selling"] = v.social_selling * factor
        if v.schedule:
            changes[f"{key}.schedule"] = _plans(v, factor)
    return changes


def conditions(scenario: Scenario) -> dict[str, dict[str, Any]]:
    """Each condition's scenario changes (as is: none)."""
    return {"as_is": {}, "off": marketing_off(scenario), "x3": budgets_times(scenario)}


# ----------------------------------------------------------------------------- results
@dataclass(frozen=True)
class Difference:
    """A change's paired difference over the replications that measured the target in
    both conditions: its mean, 95% half-width and the number of pairs."""

    mean: float
    half_width: float
    pairs: int

    @classmethod
    def of(cls, changed: np.ndarray, as_is: np.ndarray) -> Difference:
        d = changed - as_is
        d = d[~np.isnan(d)]
        n = len(d)
        mean = float(d.mean()) if n else math.nan
        sd = float(d.std(ddof=1)) if n >= 2 else math.nan
        hw = float(t_half_width(np.array([sd]), np.array([n]))[0]) if n >= 2 else math.nan
        return cls(mean, hw, n)

    @property
    def measured(self) -> bool:
        """Two or more pairs: an interval exists."""
        return self.pairs >= 2

    def moves(self, tolerance: float) -> bool:
        """Statistically nonzero and larger than SHARE_OF_TOLERANCE of `tolerance`."""
        if not self.measured:
            return False
        return abs(self.mean) > self.half_width and abs(self.mean) > SHARE_OF_TOLERANCE * tolerance


@dataclass(frozen=True)
class Probe:
    """One target probed: the mean and the runs that measured it in each condition, the
    paired difference of every other condition against the first ("as_is"), and the
    first note of each condition that could not measure it."""

    target: Target
    means: dict[str, float]
    runs: dict[str, int]
    diffs: dict[str, Difference]
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.target.name

    @property
    def off(self) -> Difference:
        """Marketing off minus as is."""
        return self.diffs["off"]

    @property
    def x3(self) -> Difference:
        """Budgets x3 minus as is."""
        return self.diffs["x3"]

    @property
    def verdict(self) -> str:
        """ "moves", "unchanged" or "undetermined" (the rule of the module doc)."""
        tol = self.target.tolerance
        if self.off.moves(tol) or self.x3.moves(tol):
            return "moves"
        if self.off.measured and self.x3.measured:
            return "unchanged"
        return "undetermined"

    def why(self) -> str:
        """The verdict in words: which change moved it, or what was not measurable."""
        tol = self.target.tolerance
        changes = (("off", self.off), ("x3", self.x3))
        moved = [LABELS[c] for c, d in changes if d.moves(tol)]
        if moved:
            return f"moved by {' and '.join(moved)}"
        lost = [LABELS[c] for c, d in changes if not d.measured]
        if lost:
            return f"not measurable with {' and '.join(lost)}"
        return f"both changes within noise or {SHARE_OF_TOLERANCE:g} tolerance"


@dataclass
class ProbeResult:
    """A finished probe: the scenario, the targets, the seeds and one Probe per target."""

    scenario: Scenario
    targets: Targets
    seeds: list[int]
    probes: list[Probe]

    def by_name(self) -> dict[str, Probe]:
        return {p.name: p for p in self.probes}


# ----------------------------------------------------------------------------- the probe
def probe(
    scenario: Scenario,
    targets: Targets,
    changes: dict[str, dict[str, Any]],
    replications: int = 4,
    workers: int | None = None,
    dask: str | None = None,
    progress: bool = True,
) -> ProbeResult:
    """Measure every target on `replications` paired replications (the same seeds) of
    each condition of `changes` ({condition: scenario changes}, the first one the
    reference, usually {}) through the engine, and give each condition's mean and its
    paired difference against the first.

    Raises:
        ValueError: fewer than two replications (no interval), or fewer than two
            conditions.
        Stopped: the runs were interrupted, the pool broke or a run failed.
    """
    if replications < 2:
        raise ValueError(f"at least 2 replications are needed for an interval ({replications})")
    if len(changes) < 2:
        raise ValueError("a probe compares at least two conditions")
    names = list(changes)
    setup = Setup(scenario, targets, (), replications, 0, 1)
    seeds = setup.fit_seeds()
    with (
        ExecutionContext(workers, dask, progress, desc="probe", count_runs=True) as ctx,
        tempfile.TemporaryDirectory(prefix="kinds-") as tmp,
    ):
        points = PointEvaluator(
            ctx,
            Path(tmp),
            scenario,
            calibration_plan(targets),
            params=(),
            design=setup.design_hash,
            name="kinds",
        )
        specs = {
            c: points.specs(Point(LABELS.get(c, c), i, {}, changes[c]), seeds)
            for i, c in enumerate(names)
        }
        points.run([s for c in names for s in specs[c]])
        ids = {c: [s.run_id for s in specs[c]] for c in names}
        _check_ran(points, [r for c in names for r in ids[c]])
        values, notes = _values(points, ids, targets)
    probes = []
    for t in targets.targets:
        v = {c: values[c][t.name] for c in names}
        means = {
            c: float(np.nanmean(x)) if np.isfinite(x).any() else math.nan for c, x in v.items()
        }
        probes.append(
            Probe(
                t,
                means,
                {c: int(np.isfinite(x).sum()) for c, x in v.items()},
                {c: Difference.of(v[c], v[names[0]]) for c in names[1:]},
                {c: notes[c][t.name] for c in names if notes[c].get(t.name)},
            )
        )
    return ProbeResult(scenario, targets, seeds, probes)


def probe_kinds(
    scenario: Scenario,
    targets: Targets,
    replications: int = 4,
    workers: int | None = None,
    dask: str | None = None,
    progress: bool = True,
) -> ProbeResult:
    """The kinds probe: every target as is, with marketing off and with budgets x3
    (3 x `replications` runs; `Probe.verdict` is the module doc's rule).

    Raises:
        ValueError: fewer than two replications.
        Stopped: the runs were interrupted, the pool broke or a run failed.
    """
    return probe(scenario, targets, conditions(scenario), replications, workers, dask, progress)


@dataclass(frozen=True)
class Slope:
    """How a target follows one input: its mean at the input's value and at value +
    delta, and the paired difference per unit of the input (slope, 95% half-width)."""

    target: Target
    path: str
    delta: float
    at: float
    shifted: float
    slope: float
    half_width: float

    @property
    def one_for_one(self) -> bool:
        """The slope's interval excludes 0 and the slope is within ONE_FOR_ONE of 1: the
        outcome moves with the input unit for unit, the input read back (meaningful when
        the target and the input are in the same units: a share and a share)."""
        return abs(self.slope) > self.half_width and abs(self.slope - 1.0) <= ONE_FOR_ONE


def input_slopes(
    scenario: Scenario,
    targets: Targets,
    path: str,
    delta: float,
    replications: int = 4,
    workers: int | None = None,
    progress: bool = True,
) -> list[Slope]:
    """Each target's slope in the input at `path` (a numeric dotted path): paired
    replications at the scenario's value and at value + delta."""
    from analysis.studies.calibrate.spec import current_value

    value = current_value(scenario, path)
    shifted = {"as_is": {}, f"{path}+{delta:g}": {path: value + delta}}
    result = probe(scenario, targets, shifted, replications, workers, None, progress)
    out = []
    for p in result.probes:
        (c, d), *_ = p.diffs.items()
        out.append(
            Slope(
                p.target,
                path,
                delta,
                p.means["as_is"],
                p.means[c],
                d.mean / delta,
                d.half_width / abs(delta),
            )  # fmt: skip
        )
    return out


def _check_ran(points: PointEvaluator, ids: list[str]) -> None:
    rows = points.runs(ids)
    status = dict(zip(rows["run_id"], rows["status"], strict=True))
    errors = dict(zip(rows["run_id"], rows["error"], strict=True))
    for rid in ids:
        if status.get(rid) != "ok":
            why = errors.get(rid) if status.get(rid) == "error" else "did not run"
            raise Stopped(f"run {rid} of the kinds probe failed: {why}", 1)


def _values(
    points: PointEvaluator, ids: dict[str, list[str]], targets: Targets
) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, dict[str, str]]]:
    """Per condition and target, the value of each replication (NaN: not measured), and
    the first note saying why a target was not measured."""
    table = points.table("moments", [r for rs in ids.values() for r in rs])
    table = table[table["stat"] == "value"]
    found = {
        (rid, tg): (float(v), note if isinstance(note, str) else "")
        for rid, tg, v, note in zip(
            table["run_id"], table["target"], table["value"], table["note"], strict=True
        )
    }
    values: dict[str, dict[str, np.ndarray]] = {}
    notes: dict[str, dict[str, str]] = {}
    for c, rids in ids.items():
        values[c], notes[c] = {}, {}
        for t in targets.targets:
            got = [found.get((rid, t.name), (math.nan, "")) for rid in rids]
            values[c][t.name] = np.array([v for v, _ in got], dtype=float)
            notes[c][t.name] = next((n for v, n in got if math.isnan(v) and n), "")
    return values, notes


# ----------------------------------------------------------------------------- the report
def _fmt(x: float, digits: int = 3) -> str:
    return "-" if not math.isfinite(x) else f"{x:.{digits}g}"


def _diff(d: Difference) -> str:
    if not d.pairs:
        return "-"
    if not d.measured:
        return f"{d.mean:+.3g}"
    return f"{d.mean:+.3g} ± {d.half_width:.2g}"


def probe_rows(result: ProbeResult) -> list[list[str]]:
    """Per target: name, kind as declared, tolerance, the three means, the two paired
    differences (± 95% half-width), the verdict and why."""
    return [
        [
            p.name,
            p.target.kind,
            _fmt(p.target.tolerance, 2),
            *(_fmt(p.means[c]) for c in CONDITIONS),
            _diff(p.off),
            _diff(p.x3),
            p.verdict,
            p.why(),
        ]
        for p in result.probes
    ]


HEADERS = [
    "target",
    "declared kind",
    "tolerance",
    "as is",
    "marketing off",
    "budgets x3",
    "off - as is",
    "x3 - as is",
    "verdict",
    "why",
]


def format_probe(result: ProbeResult) -> str:
    """The probe as a Markdown table with a header line saying what ran."""
    sc = result.scenario
    lines = [
        f"{sc.name}: {sc.buyers.count:,} buyers, {sc.weeks} weeks, {len(result.seeds)} paired "
        f"replications per condition (seeds from {sc.seed}); targets: {result.targets.source}",
        "",
        "| " + " | ".join(HEADERS) + " |",
        "|" + "---|" * len(HEADERS),
    ]
    lines += ["| " + " | ".join(row) + " |" for row in probe_rows(result)]
    lines += [
        "",
        f"moves: a paired difference whose 95% interval excludes 0 and which exceeds "
        f"{SHARE_OF_TOLERANCE:g} of the target's tolerance; unchanged: neither change moves "
        "it and both were measured; undetermined: a change left it unmeasurable.",
    ]
    for p in result.probes:
        for c, note in p.notes.items():
            lines.append(f"- {p.name}, {LABELS[c]}: {note}")
    return "\n".join(lines) + "\n"


def format_slopes(slopes: list[Slope]) -> str:
    """The slopes as a Markdown table: target, mean at the input's value and shifted,
    slope ± 95% half-width, one for one?"""
    if not slopes:
        return ""
    s0 = slopes[0]
    head = ["target", "at the value", f"{s0.path} {s0.delta:+g}", "slope", "one for one"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s in slopes:
        slope = "-" if not math.isfinite(s.slope) else f"{s.slope:.3g} ± {s.half_width:.2g}"
        cells = [
            s.target.name,
            _fmt(s.at),
            _fmt(s.shifted),
            slope,
            "yes" if s.one_for_one else "no",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
