"""`python run.py dataloop FILE --out DIR`: the value of measurement (the DATA loop).

    python run.py dataloop scenarios/data_loop.toml --out results/dataloop [--reps 10] \\
        [--oracle-reps N] [--workers 2] [--dask local] [--quiet]

One focal vendor follows one policy per variant: static (its fixed plan), data_loop (it
measures with a tracking method and moves budget to what it believes returns most) or
oracle (it moves budget on the TRUE incremental return per channel); the other vendors
are the market. The study file is a sweep file (scenarios/data_loop.toml): [sweep] names
the base scenario, [sweep.set] the market, and an axis {vendor = "Focal", strategies =
[...]} the policies to compare (each [strategies.NAME] sets the focal vendor's `policy`
and `data_loop` fields); an optional grid axis on `vendors.Focal.data_loop.cadence_weeks`
gives the cadences (quarterly 13 vs yearly 52). A static policy runs once, whatever the
cadence.

The oracle planner (`plan_oracle`). At each adjustment week w (baseline_weeks, then every
cadence_weeks), it runs, through the experiment engine with common random numbers, the
scenario with the oracle's schedule so far and, per channel of its mix, the same with that
channel's spend set to ZERO over [w, w + window_weeks) (the vendor's other channels keep
their spend). The objective's difference (to the end of the horizon, so lagged effects of
the window's spend count) divided by the spend removed is the channel's true incremental
return per currency unit, with a 95% t-interval over the planning replications. Why
removal rather than a small raise: (1) it is the attribution lab's definition of a
channel's true effect (`without_channel_spend`), so both tools agree; (2) what a data-loop
vendor measures is an average return (attributed results / spend), and removal gives the
true average return over the same kind of window, the like-for-like benchmark; (3) a small
step changes few conversions, so its difference drowns in noise at a planning budget of a
few replications, while removing a channel's whole window spend moves enough to rank
channels. The cost: in a saturated channel the average return overstates the marginal one.
Then the oracle moves budget with the data-loop rule (`shift_shares`): at most max_shift
of the budget from the channel with the lowest return (among those above the exploration
floor) to the highest, every channel of the initial mix keeping at least `exploration` of
the budget. The plans are written as the vendor's `schedule`.

The planning replications use their own seeds (replications 10,000 + r of the scenario's
seed), never the study's: the oracle knows each channel's expected return, not the noise
of the runs it is scored on. Every planning run lives in DIR/oracle=<vendor>/cadence=<c>/
(one growing experiment per oracle, like a calibration): a killed planner run again
replays the same adjustments from the stored runs and runs only what is missing. The
study's runs live in DIR/study/. DIR holds a writer's lock for the whole command.

Only light modules are imported at module level: run.py builds this parser for --help.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analysis.errors import Stopped

if TYPE_CHECKING:
    import pandas as pd

    from analysis.engine.design import RunSpec
    from analysis.engine.experiment import Outcome
    from sim.scenario import Scenario

POLICIES = ("static", "data_loop", "oracle")
OBJECTIVES = ("conversions", "revenue", "originated")
#: the data-loop settings and their defaults (the interface of sim/scenario.py)
LOOP_DEFAULTS: dict[str, Any] = {
    "objective": "conversions",
    "baseline_weeks": 26,
    "cadence_weeks": 13,
    "max_shift": 0.2,
    "exploration": 0.05,
    "window_weeks": 26,
}
#: planning replications are numbered from here (seeds never used by a study)
PLANNING_REPLICATION0 = 10_000
DEFAULT_REPS = 10
#: a quarter, for the mix table
QUARTER = 13
#: the focal vendor's numbers in each study run's `runs` row
FOCAL_COLUMNS = {
    "conversions": "Int64",
    "revenue": "Float64",
    "originated": "Int64",
    "paid_spend": "Float64",
    "marketing_spend": "Float64",
    "roi": "Float64",
}
METRICS = {
    "conversions": "conversions",
    "roi": "ROI",
    "originated": "mkt-originated customers",
}


# ----------------------------------------------------------------------------- settings
@dataclass(frozen=True)
class LoopSettings:
    """Define / Assess / Adjust of a data-loop or oracle vendor."""

    objective: str = "conversions"
    baseline_weeks: int = 26
    cadence_weeks: int = 13
    max_shift: float = 0.2
    exploration: float = 0.05
    window_weeks: int = 26

    @classmethod
    def of(cls, src: str, where: str, data: dict[str, Any]) -> LoopSettings:
        """Settings from a mapping (unknown keys other than `tracking` refused)."""
        from sim.scenario import ScenarioError, shown

        values = dict(LOOP_DEFAULTS)
        for k, v in data.items():
            if k == "tracking":
                continue
            if k not in LOOP_DEFAULTS:
                raise ScenarioError(
                    src, f"{where}.{k}", f"unknown key; allowed: {', '.join(LOOP_DEFAULTS)}"
                )
            values[k] = v
        if values["objective"] not in OBJECTIVES:
            raise ScenarioError(
                src,
                f"{where}.objective",
                f"must be one of {', '.join(OBJECTIVES)} (found {shown(values['objective'])})",
            )
        for k in ("baseline_weeks", "cadence_weeks", "window_weeks"):
            v = values[k]
            if not isinstance(v, int) or isinstance(v, bool) or v < (0 if k[0] == "b" else 1):
                raise ScenarioError(
                    src, f"{where}.{k}", f"must be a whole number (found {shown(v)})"
                )
        for k in ("max_shift", "exploration"):
            v = values[k]
            if not isinstance(v, int | float) or isinstance(v, bool) or not 0 <= v <= 1:
                raise ScenarioError(src, f"{where}.{k}", f"must be in [0, 1] (found {shown(v)})")
        return cls(**values)


def vendor_loop(scenario: Scenario, vendor: str) -> dict[str, Any]:
    """The vendor's own [vendors.data_loop] table as plain data ({} when the scenario
    has no such field or the vendor none)."""
    v = next(x for x in scenario.vendors if x.name == vendor)
    loop = getattr(v, "data_loop", None)
    if loop is None:
        return {}
    return loop.model_dump() if hasattr(loop, "model_dump") else dict(loop)


def sim_knows_policies() -> bool:
    """Whether the scenario model has the vendor fields `policy` and `data_loop`."""
    from sim.scenario import VendorSpec

    return "policy" in VendorSpec.model_fields and "data_loop" in VendorSpec.model_fields


# ----------------------------------------------------------------------------- the rule
def shift_shares(
    shares: dict[str, float], returns: dict[str, float], max_shift: float, exploration: float
) -> dict[str, float]:
    """One adjustment, by the data-loop policy's own rule (sim.policies.adjusted_shares,
    so the oracle and the data-loop vendors adjust alike): at most `max_shift` of the
    budget moves from the channels with the lowest return (lowest first, each down to
    `exploration`) to the one with the highest; nothing moves when all returns tie.
    Channels without a return (NaN) stay as they are. Returns the new shares."""
    import numpy as np

    from sim.channels import CHANNEL_NAMES
    from sim.policies import adjusted_shares

    known = [c for c in CHANNEL_NAMES if c in shares and not math.isnan(returns.get(c, math.nan))]
    if len(known) < 2:
        return dict(shares)
    arr = np.array([shares.get(c, 0.0) for c in CHANNEL_NAMES])
    believed = np.array([returns.get(c, math.nan) for c in CHANNEL_NAMES], dtype=float)
    mix = np.array([CHANNEL_NAMES.index(c) for c in known])
    got = adjusted_shares(arr, believed, np.zeros(len(CHANNEL_NAMES)), mix, max_shift, exploration)
    return {c: float(got[CHANNEL_NAMES.index(c)]) for c in shares}


def adjustment_weeks(settings: LoopSettings, weeks: int) -> list[int]:
    """The weeks a loop adjusts: baseline_weeks, then every cadence_weeks, before the end."""
    start = max(settings.baseline_weeks, 1)
    return list(range(start, weeks, settings.cadence_weeks))


def _clean(shares: dict[str, float]) -> dict[str, float]:
    """Shares rounded (stable run ids) and rescaled to sum to 1, zero shares dropped."""
    kept = {c: s for c, s in shares.items() if s > 1e-12}
    total = sum(kept.values())
    return {c: round(s / total, 12) for c, s in kept.items()}


# ----------------------------------------------------------------------------- planner runs
def focal_row(model: Any, _spec: RunSpec, index: int) -> dict[str, Any]:
    """The focal vendor's numbers in a run's `runs` row."""
    import numpy as np

    from sim import metrics

    m = model.market
    spend = float(m.marketing_spend()[index])
    scale = model.market_scale
    return {
        "conversions": int(m.conversions[index]),
        "revenue": float(m.revenue[index] * scale),
        "originated": int(m.originated[index]),
        "paid_spend": float(m.spent[index].sum() + m.social_selling_spent[index]),
        "marketing_spend": spend,
        "roi": float(np.asarray(metrics.roi(m.originated_revenue[index] * scale, spend))),
    }


@dataclass
class OraclePlan:
    """What the planner found: the schedule (plans by week), the true return of each
    channel at each adjustment (`truth`), and what ran."""

    vendor: str
    settings: LoopSettings
    schedule: list[dict[str, Any]]
    truth: pd.DataFrame
    ran: int = 0
    already: int = 0

    def shares_by_week(self) -> list[tuple[int, dict[str, float]]]:
        return [(p["week"], dict(p["channel_mix"])) for p in self.schedule]


def _stored_specs(out: str | Path) -> list[RunSpec]:
    """The runs already in a planner's folder, as specs the engine counts as done (they
    are never run again; listing them keeps the engine from calling them stale)."""
    import pyarrow.parquet as pq

    from analysis.engine.design import RunSpec
    from analysis.engine.parts import part_files

    specs = []
    for f in part_files(Path(out), "runs"):
        try:
            t = pq.read_table(f, columns=["run_id", "variant", "variant_id", "replication", "seed"])
        except (KeyError, ValueError, OSError):
            continue  # a damaged part: the engine quarantines it
        for r in t.to_pylist():
            specs.append(
                RunSpec(
                    r["run_id"], r["variant"], r["variant_id"], r["replication"], r["seed"], {}, {}
                )
            )
    return specs


def _vid(label: str) -> int:
    return int(hashlib.sha256(label.encode()).hexdigest()[:12], 16)


def plan_oracle(
    scenario: Scenario,
    vendor: str,
    settings: LoopSettings,
    out: str | Path,
    reps: int,
    workers: int = 1,
    dask: str | None = None,
    progress: bool = False,
    label: str = "oracle",
) -> OraclePlan:
    """Plan an oracle vendor's channel mix adjustment by adjustment (see the module doc).

    `scenario` is the market with the vendor as it starts (its weekly_budget and
    channel_mix; a schedule of its own is replaced). Runs go to `out` (resumable).
    Raises Stopped when the engine stops or a planning run fails.
    """
    import numpy as np
    import pandas as pd

    from analysis.engine.design import RunSpec, replication_seed, run_id, scenario_hash
    from analysis.engine.experiment import Experiment, RunPlan, run_experiment
    from analysis.engine.parts import load_table
    from analysis.errors import raise_if_stopped
    from analysis.stats.compare import t_half_width
    from sim.scenario import ScenarioError

    v = next(x for x in scenario.vendors if x.name == vendor)
    budget = float(v.weekly_budget)
    mix = {c: float(s) for c, s in v.channel_mix.items() if s > 0}
    if budget <= 0 or not mix:
        raise ScenarioError(
            scenario.source, f"vendors.{vendor}", "an oracle vendor needs a weekly_budget and mix"
        )
    shares = _clean(mix)
    base = scenario.with_changes({f"vendors.{vendor}.schedule": []})
    shash = scenario_hash(base)
    index = base.vendor_names().index(vendor)
    plan = RunPlan(columns=FOCAL_COLUMNS, summarize=partial(focal_row, index=index))
    seeds = [replication_seed(base.seed, PLANNING_REPLICATION0 + r) for r in range(reps)]
    path = f"vendors.{vendor}.schedule"
    objective = settings.objective
    schedule: list[dict[str, Any]] = []
    runs: list[RunSpec] = _stored_specs(out)  # a resumed planner: its runs are not stale
    rows = []
    ran = already = 0
    for w in adjustment_weeks(settings, base.weeks):
        end = min(w + settings.window_weeks, base.weeks)
        variants: dict[str, list[dict[str, Any]]] = {"base": list(schedule)}
        for c in [k for k, s in shares.items() if s > 0]:
            rest = _clean({k: s for k, s in shares.items() if k != c})
            if not rest:
                cut = [{"week": w, "weekly_budget": 0.0}]
            else:
                cut = [{"week": w, "weekly_budget": budget * (1 - shares[c]), "channel_mix": rest}]
            if end < base.weeks:
                cut.append({"week": end, "weekly_budget": budget, "channel_mix": dict(shares)})
            variants[c] = [*schedule, *cut]
        specs = []
        for name, sched in variants.items():
            params = {"vendor": vendor, "week": w, "counterfactual": name}
            changes = {path: sched}
            vlabel = f"w{w}:{name}"
            for r, seed in enumerate(seeds):
                rid = run_id(shash, changes, params, seed)
                specs.append(
                    RunSpec(
                        rid, vlabel, _vid(vlabel), PLANNING_REPLICATION0 + r, seed, params, changes
                    )
                )
        known = {s.run_id for s in runs}
        runs.extend(s for s in specs if s.run_id not in known)
        exp = Experiment(
            name=f"{label} week {w}",
            scenario=base,
            runs=tuple(runs),
            plan=plan,
            params=(("vendor", False), ("week", True), ("counterfactual", False)),
        )
        info = {
            "vendor": vendor,
            "scenario": base.name,
            "scenario_hash": shash,
            "settings": settings.__dict__,
            "planning_seeds": seeds,
            "schedule_so_far": schedule,
        }
        outcome: Outcome = run_experiment(
            exp,
            out,
            workers=max(1, min(workers, len(specs))),
            dask=dask,
            progress=progress,
            info=info,
            info_file="oracle.json",
        )
        raise_if_stopped(outcome)
        ran += outcome.ran
        already += len(specs) - outcome.ran
        got = load_table(out, "runs", {s.run_id for s in specs})
        bad = got[got["status"] != "ok"]
        if len(bad) or len(got) < len(specs):
            why = bad["error"].iloc[0] if len(bad) else "missing runs"
            raise Stopped(f"{label}: a planning run at week {w} failed: {why}", 1)
        got["cf"] = got["p:counterfactual"].astype(str)
        wide = got.pivot(index="seed", columns="cf", values=objective).astype(float)
        cost = got.pivot(index="seed", columns="cf", values="paid_spend").astype(float)
        returns = {}
        for c in [k for k, s in shares.items() if s > 0]:
            diff = wide["base"] - wide[c]
            removed = float((cost["base"] - cost[c]).mean())
            per = diff / removed if removed > 0 else diff * math.nan
            mean = float(per.mean())
            half = float(t_half_width(np.array([per.std(ddof=1)]), np.array([per.count()]))[0])
            returns[c] = mean
            rows.append(
                {
                    "week": w,
                    "channel": c,
                    "share": shares[c],
                    "true_return": mean,
                    "low": mean - half,
                    "high": mean + half,
                    "lift": float(diff.mean()),
                    "removed_spend": removed,
                    "reps": int(per.count()),
                }
            )
        new = _clean(shift_shares(shares, returns, settings.max_shift, settings.exploration))
        new = {c: new.get(c, 0.0) for c in shares if new.get(c, 0.0) > 0}
        for r in rows[-len(returns) :]:
            r["share_after"] = new.get(r["channel"], 0.0)
        shares = {c: new.get(c, 0.0) for c in shares}
        schedule.append({"week": w, "weekly_budget": budget, "channel_mix": _clean(shares)})
    truth = pd.DataFrame(
        rows,
        columns=[
            "week",
            "channel",
            "share",
            "true_return",
            "low",
            "high",
            "lift",
            "removed_spend",
            "reps",
            "share_after",
        ],
    )
    truth.attrs["objective"] = objective
    return OraclePlan(vendor, settings, schedule, truth, ran, already)


# ----------------------------------------------------------------------------- the study
@dataclass(frozen=True)
class PolicyVariant:
    """One variant of the study: a policy (strategy) at a cadence."""

    label: str
    strategy: str
    policy: str
    cadence: int | None
    fields: dict[str, Any]  # the focal vendor's fields other than policy and data_loop
    loop: dict[str, Any]  # the strategy's data_loop table (with the cadence)


@dataclass(frozen=True)
class Study:
    """A validated study file: the market, the focal vendor and the policy variants."""

    name: str
    source: str
    description: str
    scenario: Scenario  # the base scenario with [sweep.set] applied
    vendor: str
    variants: tuple[PolicyVariant, ...]
    replications: int
    seed: int

    @property
    def reference(self) -> str:
        """The variant the others are compared with: the first static one (else the first)."""
        return next(
            (v.label for v in self.variants if v.policy == "static"), self.variants[0].label
        )

    def settings(self, v: PolicyVariant) -> LoopSettings:
        """A variant's loop settings: the vendor's own [vendors.data_loop] (if any) under
        the strategy's data_loop table and the cadence."""
        data = {
            k: x for k, x in vendor_loop(self.scenario, self.vendor).items() if k in LOOP_DEFAULTS
        }
        data.update(v.loop)
        return LoopSettings.of(self.source, f"strategies.{v.strategy}.data_loop", data)

    def changes(self, v: PolicyVariant, schedule: list[dict[str, Any]] | None = None) -> dict:
        """The scenario changes of a variant (the oracle's with its planned schedule)."""
        pre = f"vendors.{self.vendor}."
        out = {pre + k: x for k, x in v.fields.items()}
        if sim_knows_policies():
            out[pre + "policy"] = v.policy
            if v.loop:
                for k, x in _flat(v.loop).items():
                    out[pre + "data_loop." + k] = x
        if schedule is not None:
            out[pre + "schedule"] = schedule
        return out


def _flat(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in table.items():
        if isinstance(v, dict) and k != "channel_mix":
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def load_study(path: str | Path) -> Study:
    """Read a study file: a sweep file (see scenarios/data_loop.toml) whose strategy axis
    names the focal vendor and the policies, with an optional cadence grid axis.

    Raises:
        ScenarioError: one line naming the file and the key (no focal vendor, an unknown
        policy, a value the scenario refuses, ...).
    """
    from analysis.engine.design import study_scenario
    from sim.scenario import MAX_SEED, ScenarioError, read_toml, shown

    p = Path(path)
    src = str(path)
    data = read_toml(p, "study")
    head = data.get("sweep")
    if not isinstance(head, dict):
        raise ScenarioError(
            src,
            "",
            "not a study file: a study is a sweep file ([sweep] scenario = ..., an axis "
            '{vendor = "Focal", strategies = [...]}, [strategies.NAME] policy = ...); '
            "see scenarios/data_loop.toml",
        )
    name = str(head.get("name", p.stem))
    base = study_scenario(src, "sweep", head, p.parent).scenario
    reps = head.get("replications", DEFAULT_REPS)
    seed = head.get("seed", base.seed)
    for key, val, hi in (("replications", reps, 10_000), ("seed", seed, MAX_SEED)):
        if (
            not isinstance(val, int)
            or isinstance(val, bool)
            or val < (key == "replications")
            or val > hi
        ):
            raise ScenarioError(src, f"sweep.{key}", f"must be a whole number (found {shown(val)})")
    axes = data.get("axes", {})
    strategies = data.get("strategies", {})
    if not isinstance(axes, dict) or not isinstance(strategies, dict):
        raise ScenarioError(src, "axes", "must be tables [axes] and [strategies.NAME]")
    policy_axes = [(k, a) for k, a in axes.items() if isinstance(a, dict) and "vendor" in a]
    if len(policy_axes) != 1:
        raise ScenarioError(
            src,
            "axes",
            "no focal vendor: a study needs exactly one axis "
            '{vendor = "NAME", strategies = [...]} naming the vendor whose policy varies '
            f"(found {len(policy_axes)})",
        )
    axis_name, axis = policy_axes[0]
    vendor = axis.get("vendor")
    if vendor not in base.vendor_names():
        raise ScenarioError(
            src,
            f"axes.{axis_name}.vendor",
            f"no focal vendor: {shown(vendor)} is not a vendor of the scenario "
            f"({', '.join(base.vendor_names())})",
        )
    names = axis.get("strategies")
    if not isinstance(names, list) or not names:
        raise ScenarioError(
            src, f"axes.{axis_name}.strategies", "must list the policies to compare"
        )
    cadences: list[int | None] = [None]
    for k, a in axes.items():
        if k == axis_name:
            continue
        paths = [a] if isinstance(a, str) else []
        if isinstance(a, dict):
            paths = [a.get("path", k)]
            values = a.get("values")
        else:
            values = a
        path = paths[0] if paths else k
        if path != f"vendors.{vendor}.data_loop.cadence_weeks" or not isinstance(values, list):
            raise ScenarioError(
                src,
                f"axes.{k}",
                "a study varies only the policy and the cadence: a grid axis on "
                f'"vendors.{vendor}.data_loop.cadence_weeks" (e.g. [13, 52])',
            )
        if not values or not all(
            isinstance(x, int) and not isinstance(x, bool) and x >= 1 for x in values
        ):
            raise ScenarioError(
                src, f"axes.{k}", f"cadences must be whole weeks >= 1 (found {shown(values)})"
            )
        cadences = list(dict.fromkeys(values))
    variants = []
    for s in names:
        body = strategies.get(s)
        if not isinstance(body, dict):
            raise ScenarioError(
                src,
                f"axes.{axis_name}.strategies",
                f"unknown strategy {shown(s)}; define [strategies.{s}]",
            )
        body = dict(body)
        policy = body.pop("policy", "static")
        if policy not in POLICIES:
            raise ScenarioError(
                src,
                f"strategies.{s}.policy",
                f"unknown policy {shown(policy)}; allowed: {', '.join(POLICIES)}",
            )
        loop = body.pop("data_loop", {})
        if not isinstance(loop, dict):
            raise ScenarioError(src, f"strategies.{s}.data_loop", "must be a table")
        if policy == "data_loop" and not sim_knows_policies():
            raise ScenarioError(
                src,
                f"strategies.{s}.policy",
                "the data_loop policy is not available in this version of the simulator",
            )
        for cad in cadences if policy != "static" else [None]:
            lp = dict(loop) if cad is None else {**loop, "cadence_weeks": cad}
            label = s if cad is None or len(cadences) == 1 else f"{s}@{cad}"
            variants.append(PolicyVariant(label, s, policy, cad, body, lp))
    study = Study(
        name=name,
        source=src,
        description=str(head.get("description", "")),
        scenario=base,
        vendor=vendor,
        variants=tuple(variants),
        replications=reps,
        seed=seed,
    )
    for v in study.variants:  # every variant must make a valid scenario
        if v.policy != "static":
            study.settings(v)
        try:
            base.with_changes(study.changes(v))
        except ScenarioError as exc:
            raise ScenarioError(src, f"strategies.{v.strategy}.{exc.field}", exc.problem) from None
    return study


# ----------------------------------------------------------------------------- study runs
def mix_rows(model: Any, _spec: RunSpec, vendor: str) -> pd.DataFrame:
    """The focal vendor's spend per quarter and line (channel or social selling)."""
    spend = model.tables()["spend"]
    s = spend[spend["vendor"] == vendor]
    out = (
        s.assign(quarter=(s["week"] // QUARTER).astype("int64"))
        .groupby(["quarter", "line"], as_index=False, observed=True)["spend"]
        .sum()
    )
    out["line"] = out["line"].astype("string")
    return out


def belief_rows(model: Any, _spec: RunSpec, vendor: str) -> pd.DataFrame:
    """The focal vendor's `beliefs` rows (what it believed each channel returned at
    each adjustment); none when the run has no such table."""
    import pandas as pd

    t = model.tables().get("beliefs")
    cols = ["week", "channel", "believed_return", "share_before", "share_after"]
    if t is None or not len(t):
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in cols})
    b = t[t["vendor"] == vendor][cols].copy()
    b["channel"] = b["channel"].astype("string")
    return b.reset_index(drop=True)


def vendor_rows(model: Any, _spec: RunSpec) -> pd.DataFrame:
    from sim.tables import vendors_table

    return vendors_table(model)


def study_plan(study: Study) -> Any:
    from analysis.engine.experiment import RunPlan, Table

    index = study.scenario.vendor_names().index(study.vendor)
    loops = frozenset(i for i, v in enumerate(study.variants) if v.policy == "data_loop")
    tables = [
        Table("vendors", vendor_rows),
        Table("mix", partial(mix_rows, vendor=study.vendor)),
        Table("beliefs", partial(belief_rows, vendor=study.vendor), variants=loops),
    ]
    return RunPlan(
        tables=tuple(tables), columns=FOCAL_COLUMNS, summarize=partial(focal_row, index=index)
    )


@dataclass
class StudyResult:
    study: Study
    runs: pd.DataFrame  # ok runs: variant, replication, focal columns
    vendors: pd.DataFrame
    mix: pd.DataFrame
    beliefs: pd.DataFrame
    truth: dict[str, pd.DataFrame]  # oracle variant label -> planner's truth table
    schedules: dict[str, list[dict[str, Any]]]
    ran: int = 0
    already: int = 0
    elapsed_s: float = 0.0
    failed: int = 0
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


def run_study(
    study: Study,
    out: str | Path,
    reps: int | None = None,
    oracle_reps: int | None = None,
    workers: int | None = None,
    dask: str | None = None,
    progress: bool = True,
) -> StudyResult:
    """Plan every oracle variant, then run every variant x replication (paired seeds);
    everything under `out` (resumable). Raises Stopped when the engine stops."""
    from analysis.engine.design import Variant, expand_runs, replication_seeds, scenario_hash
    from analysis.engine.executors import default_workers
    from analysis.engine.experiment import Experiment, run_experiment
    from analysis.engine.folders import check_out_dir, folder_lock
    from analysis.engine.parts import load_table
    from analysis.errors import raise_if_stopped

    started = time.perf_counter()
    reps = reps or study.replications
    oracle_reps = oracle_reps or reps
    workers = workers or default_workers()
    out = check_out_dir(out)
    base = study.scenario
    ran = already = 0
    with folder_lock(out), _fork_friendly(workers, dask):
        schedules: dict[str, list[dict[str, Any]]] = {}
        truth: dict[str, pd.DataFrame] = {}
        for v in study.variants:
            if v.policy != "oracle":
                continue
            settings = study.settings(v)
            sub = out / f"oracle={study.vendor}" / f"cadence={settings.cadence_weeks}"
            scen = base.with_changes(study.changes(v))
            plan = plan_oracle(
                scen, study.vendor, settings, sub, oracle_reps, workers, dask, progress, v.label
            )
            schedules[v.label], truth[v.label] = plan.schedule, plan.truth
            ran, already = ran + plan.ran, already + plan.already
        variants = [
            Variant(
                i,
                v.label,
                {"policy": v.policy, "strategy": v.strategy, "cadence": v.cadence or 0},
                study.changes(v, schedules.get(v.label)),
            )
            for i, v in enumerate(study.variants)
        ]
        seeds = replication_seeds(study.seed, reps)
        exp = Experiment(
            name=f"dataloop {study.name}",
            scenario=base,
            runs=tuple(expand_runs(scenario_hash(base), variants, seeds)),
            plan=study_plan(study),
            params=(("policy", False), ("strategy", False), ("cadence", True)),
        )
        info = {
            "study": study.name,
            "source": study.source,
            "vendor": study.vendor,
            "replications": reps,
            "oracle_replications": oracle_reps,
            "seed": study.seed,
            "seeds": seeds,
            "variants": [v.label for v in study.variants],
            "schedules": schedules,
        }
        outcome = run_experiment(
            exp, out / "study", workers, dask, progress=progress, info=info, info_file="study.json"
        )
        raise_if_stopped(outcome)
        ids = {s.run_id for s in exp.runs}
        runs = load_table(out / "study", "runs", ids)
    failed = int((runs["status"] != "ok").sum())
    ok = runs[runs["status"] == "ok"].reset_index(drop=True)
    okids = set(ok["run_id"])

    def table(name: str) -> pd.DataFrame:
        t = load_table(out / "study", name, okids)
        return t

    res = StudyResult(
        study=study,
        runs=ok,
        vendors=table("vendors"),
        mix=table("mix"),
        beliefs=table("beliefs"),
        truth=truth,
        schedules=schedules,
        ran=ran + outcome.ran,
        already=already + outcome.already,
        elapsed_s=time.perf_counter() - started,
        failed=failed,
    )
    res.tables = summarize_study(res)
    return res


class _fork_friendly:
    """Import the workers' modules once, and keep tqdm's monitor thread off, so each
    adjustment's process pool starts by fork cheaply (as analysis.studies.calibrate.study does)."""

    def __init__(self, workers: int, dask: str | None) -> None:
        self.on = dask is None and workers > 1
        self.before = None

    def __enter__(self) -> None:
        if not self.on:
            return
        import importlib

        from tqdm import tqdm

        for name in (
            "analysis.engine.experiment",
            "analysis.engine.store",
            "sim.model",
            "sim.tables",
        ):
            importlib.import_module(name)
        self.before = tqdm.monitor_interval
        tqdm.monitor_interval = 0

    def __exit__(self, *exc: object) -> None:
        if self.on and self.before is not None:
            from tqdm import tqdm

            tqdm.monitor_interval = self.before


# ----------------------------------------------------------------------------- summaries
def _truth_at(res: StudyResult, cadence: int | None, week: int) -> dict[str, float]:
    """The true return per channel at an adjustment week: from the oracle of the same
    cadence at that week, else the latest earlier week of any oracle."""
    frames = []
    for label, t in res.truth.items():
        v = next(x for x in res.study.variants if x.label == label)
        frames.append((0 if v.cadence == cadence else 1, t))
    for _rank, t in sorted(frames, key=lambda x: x[0]):
        if not len(t):
            continue
        earlier = t[t["week"] <= week]
        if len(earlier):
            w = earlier["week"].max()
            return dict(
                zip(
                    earlier.loc[earlier["week"] == w, "channel"],
                    earlier.loc[earlier["week"] == w, "true_return"],
                    strict=True,
                )
            )
    return {}


def summarize_study(res: StudyResult, level: float = 0.95) -> dict[str, pd.DataFrame]:
    """The study's tables: summary, vs_reference, cost, mix, truth, beliefs, cadence."""
    import numpy as np
    import pandas as pd

    from analysis.stats.compare import paired_differences, summarize

    study = res.study
    order = [v.label for v in study.variants]
    by_label = {v.label: v for v in study.variants}
    runs = res.runs.copy()
    runs["variant"] = runs["variant"].astype(str)
    metrics = list(METRICS)
    for m in metrics:
        runs[m] = runs[m].astype(float)
    out: dict[str, pd.DataFrame] = {}
    if not len(runs):
        return out
    summ = summarize(runs, ["variant"], metrics, level)
    summ["order"] = summ["variant"].map(order.index)
    out["summary"] = summ.sort_values(["order", "metric"], kind="stable").drop(columns="order")

    ref = study.reference
    diffs = []
    for m in metrics:
        d = paired_differences(runs, ref, m, group=(), level=level)
        diffs.append(d)
    vs = pd.concat(diffs, ignore_index=True) if diffs else pd.DataFrame()
    out["vs_reference"] = vs

    cost_rows = []
    oracles = [v for v in study.variants if v.policy == "oracle"]
    for v in study.variants:
        if v.policy == "oracle" or not oracles:
            continue
        o = next((x for x in oracles if x.cadence == v.cadence), oracles[0])
        pair = runs[runs["variant"].isin([v.label, o.label])]
        for m in metrics:
            d = paired_differences(pair, v.label, m, group=(), level=level)
            for r in d.itertuples():
                cost_rows.append(
                    {
                        "variant": v.label,
                        "oracle": o.label,
                        "metric": m,
                        "n_pairs": r.n_pairs,
                        "cost": r.diff,
                        "ci_low": r.ci_low,
                        "ci_high": r.ci_high,
                        "verdict": r.verdict,
                        "unpaired_half_width": r.unpaired_half_width,
                        "half_width": r.half_width,
                    }
                )
    out["cost"] = pd.DataFrame(cost_rows)

    if len(res.mix):
        mix = res.mix.copy()
        mix["variant"] = mix["variant"].astype(str)
        tot = mix.groupby(["variant", "replication", "quarter"])["spend"].transform("sum")
        mix["share"] = np.where(tot > 0, mix["spend"] / tot, 0.0)
        m = mix.groupby(["variant", "quarter", "line"], as_index=False)["share"].mean()
        m["order"] = m["variant"].map(order.index)
        out["mix"] = m.sort_values(["order", "quarter", "line"]).drop(columns="order")

    truth = []
    for label, t in res.truth.items():
        truth.append(t.assign(oracle=label))
    if truth:
        out["truth"] = pd.concat(truth, ignore_index=True)

    b = res.beliefs
    if len(b):
        b = b.copy()
        b["variant"] = b["variant"].astype(str)
        first = b[b["week"] == b.groupby("variant")["week"].transform("min")]
        rows = []
        for (label, ch), g in first.groupby(["variant", "channel"], sort=False):
            v = by_label[label]
            vals = g["believed_return"].astype(float)
            from analysis.stats.compare import t_half_width

            half = float(t_half_width(np.array([vals.std(ddof=1)]), np.array([vals.count()]))[0])
            week = int(g["week"].iloc[0])
            tr = res.truth and _truth_row(res, v.cadence, week, ch)
            rows.append(
                {
                    "variant": label,
                    "week": week,
                    "channel": ch,
                    "believed": float(vals.mean()),
                    "believed_low": float(vals.mean()) - half,
                    "believed_high": float(vals.mean()) + half,
                    "true": tr["true_return"] if tr else math.nan,
                    "true_low": tr["low"] if tr else math.nan,
                    "true_high": tr["high"] if tr else math.nan,
                }
            )
        out["beliefs"] = pd.DataFrame(rows)
        out["cadence"] = cadence_table(res, b)
    return out


def _truth_row(res: StudyResult, cadence: int | None, week: int, channel: str) -> dict | None:
    for _label, t in sorted(
        res.truth.items(),
        key=lambda kv: (
            0 if next(x for x in res.study.variants if x.label == kv[0]).cadence == cadence else 1
        ),
    ):
        rows = t[(t["channel"] == channel) & (t["week"] <= week)]
        if len(rows):
            return rows.iloc[-1].to_dict()
    return None


def cadence_table(res: StudyResult, beliefs: pd.DataFrame) -> pd.DataFrame:
    """Per data-loop variant: adjustments that moved budget, the budget moved per
    adjustment (mean and sd over runs and adjustments), and the share of moves that went
    the wrong way against the truth (the channel that gained has a lower true return than
    the one that lost, truth from the oracle at that week)."""
    import numpy as np
    import pandas as pd

    rows = []
    by_label = {v.label: v for v in res.study.variants}
    for label, g in beliefs.groupby("variant", sort=False):
        v = by_label[label]
        moved, wrong, judged = [], 0, 0
        for (_rep, week), a in g.groupby(["replication", "week"]):
            delta = (a["share_after"] - a["share_before"]).astype(float).to_numpy()
            amount = float(np.abs(delta).sum() / 2)
            moved.append(amount)
            if amount <= 1e-9:
                continue
            gain = str(a["channel"].iloc[int(delta.argmax())])
            loss = str(a["channel"].iloc[int(delta.argmin())])
            truth = _truth_at(res, v.cadence, int(week))
            if gain in truth and loss in truth:
                judged += 1
                wrong += truth[gain] < truth[loss]
        moved_a = np.array(moved)
        rows.append(
            {
                "variant": label,
                "cadence": v.cadence or 0,
                "adjustments": len(moved_a),
                "moves": int((moved_a > 1e-9).sum()),
                "moved_mean": float(moved_a.mean()) if len(moved_a) else math.nan,
                "moved_sd": float(moved_a.std(ddof=1)) if len(moved_a) > 1 else math.nan,
                "wrong_way": wrong / judged if judged else math.nan,
                "judged": judged,
            }
        )
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- output
#: true returns are shown per this much spend
PER = 100_000.0


def _pm(mean: float, half: float, kind: str) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "-"
    h = "" if half is None or math.isnan(half) else half
    if kind == "roi":
        return f"{mean:.2f}" + (f" ± {h:.2f}" if h != "" else "")
    return f"{mean:,.1f}" + (f" ± {h:,.1f}" if h != "" else "")


def _ci(lo: float, hi: float, digits: int = 1) -> str:
    if math.isnan(lo) or math.isnan(hi):
        return "-"
    return f"[{lo:,.{digits}f}, {hi:,.{digits}f}]"


def format_study(res: StudyResult) -> str:
    """The study for the terminal."""
    from analysis.render.terminal import format_table
    from analysis.stats.compare import pairing_summary

    s, t = res.study, res.tables
    reps = int(res.runs.groupby("variant")["replication"].nunique().max()) if len(res.runs) else 0
    lines = [
        f"{s.name}: {s.vendor}'s policy in {s.scenario.name} ({s.scenario.buyers.count:,} "
        f"buyers, {len(s.scenario.vendors)} vendors, {s.scenario.weeks} weeks), {reps} paired "
        f"replications  ({res.elapsed_s:.1f} s; {res.ran} runs ran, {res.already} already done)",
    ]
    if s.description:
        lines.append(s.description)
    if "summary" not in t:
        return "\n".join([*lines, "", "no run finished"])
    summ = t["summary"].set_index(["variant", "metric"])
    rows = []
    for v in s.variants:
        cells = [v.label, v.policy]
        for m in METRICS:
            r = summ.loc[(v.label, m)] if (v.label, m) in summ.index else None
            cells.append("-" if r is None else _pm(r["mean"], r["half_width"], m))
        rows.append(cells)
    lines += ["", f"{s.vendor}, means ± 95% interval:", ""]
    lines.append(format_table(["variant", "policy", *METRICS.values()], rows, right={2, 3, 4}))

    vs = t.get("vs_reference")
    if vs is not None and len(vs):
        lines += ["", f"paired differences vs {s.reference} (variant - {s.reference}, 95% CI):", ""]
        rows = []
        for label in [v.label for v in s.variants if v.label != s.reference]:
            cells = [label]
            for m in METRICS:
                r = vs[(vs["variant"] == label) & (vs["metric"] == m)]
                cells.append(
                    "-"
                    if not len(r)
                    else f"{r['diff'].iloc[0]:+,.2f} {_ci(r['ci_low'].iloc[0], r['ci_high'].iloc[0], 2)}"
                )
            rows.append(cells)
        lines.append(format_table(["variant", *METRICS.values()], rows))
        lines += ["", pairing_summary(vs, "conversions")]
    cost = t.get("cost")
    if cost is not None and len(cost):
        lines += ["", "cost of mis-measurement (oracle - variant, same cadence, 95% CI):", ""]
        rows = []
        for label in dict.fromkeys(cost["variant"]):
            c = cost[cost["variant"] == label]
            cells = [label, c["oracle"].iloc[0]]
            for m in METRICS:
                r = c[c["metric"] == m]
                cells.append(
                    "-"
                    if not len(r)
                    else f"{r['cost'].iloc[0]:+,.2f} {_ci(r['ci_low'].iloc[0], r['ci_high'].iloc[0], 2)}"
                )
            rows.append(cells)
        lines.append(format_table(["variant", "oracle", *METRICS.values()], rows, right={2, 3, 4}))
    truth = t.get("truth")
    if truth is not None and len(truth):
        obj = next(iter(res.truth.values())).attrs.get("objective", "conversions")
        lines += [
            "",
            f"true incremental return per channel ({obj} per {PER:,.0f} spent, 95% CI over the oracle's planning runs):",
            "",
        ]
        rows = []
        for r in truth.itertuples():
            rows.append(
                [
                    r.oracle,
                    str(r.week),
                    r.channel,
                    f"{100 * r.share:.0f}%",
                    f"{PER * r.true_return:,.2f} {_ci(PER * r.low, PER * r.high, 2)}",
                    f"{100 * r.share_after:.0f}%",
                ]
            )
        lines.append(
            format_table(["oracle", "week", "channel", "share", "true return", "share after"], rows)
        )
    b = t.get("beliefs")
    if b is not None and len(b):
        lines += [
            "",
            f"believed vs true return at the first adjustment (per {PER:,.0f} spent):",
            "",
        ]
        rows = [
            [
                r.variant,
                str(r.week),
                r.channel,
                f"{PER * r.believed:,.2f} {_ci(PER * r.believed_low, PER * r.believed_high, 2)}",
                f"{PER * r.true:,.2f} {_ci(PER * r.true_low, PER * r.true_high, 2)}",
            ]
            for r in b.itertuples()
        ]
        lines.append(format_table(["variant", "week", "channel", "believed", "true"], rows))
    cad = t.get("cadence")
    if cad is not None and len(cad):
        lines += [
            "",
            "cadence: budget moved per adjustment and moves the wrong way vs the truth:",
            "",
        ]
        rows = [
            [
                r.variant,
                str(r.cadence),
                str(r.adjustments),
                str(r.moves),
                f"{100 * r.moved_mean:.1f}%",
                "-" if math.isnan(r.moved_sd) else f"{100 * r.moved_sd:.1f}%",
                "-" if math.isnan(r.wrong_way) else f"{100 * r.wrong_way:.0f}% of {r.judged}",
            ]
            for r in cad.itertuples()
        ]
        lines.append(
            format_table(
                ["variant", "cadence", "adjustments", "moves", "moved/adj.", "sd", "wrong way"],
                rows,
            )
        )
    if res.failed:
        lines += [
            "",
            f"note: {res.failed} runs failed (see the study's runs table); the tables use the rest",
        ]
    return "\n".join(lines)


def mix_figure(res: StudyResult):
    """Per variant: the focal vendor's channel mix quarter by quarter (stacked shares)."""
    from analysis.render.html import pyplot

    plt = pyplot()
    mix = res.tables["mix"]
    labels = list(dict.fromkeys(mix["variant"]))
    lines_ = sorted(set(mix["line"]))
    cols = min(3, len(labels))
    rows = math.ceil(len(labels) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3 * rows), dpi=80, squeeze=False)
    colors = {c: plt.cm.tab10(i % 10) for i, c in enumerate(lines_)}
    for ax, label in zip(axes.flat, labels, strict=False):
        m = mix[mix["variant"] == label].pivot(index="quarter", columns="line", values="share")
        m = m.reindex(columns=lines_).fillna(0.0)
        ax.stackplot(m.index + 1, m.T.to_numpy(), labels=lines_, colors=[colors[c] for c in lines_])
        ax.set_title(label, fontsize=9)
        ax.set_ylim(0, 1)
        ax.set_xlabel("quarter")
    for ax in list(axes.flat)[len(labels) :]:
        ax.axis("off")
    axes.flat[0].set_ylabel("share of spend")
    fig.legend(
        *axes.flat[0].get_legend_handles_labels(),
        loc="lower center",
        ncol=min(len(lines_), 5),
        fontsize=7,
    )
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


def returns_figure(res: StudyResult):
    """Believed (each data-loop variant) vs true (the oracle) return per channel at the
    first adjustment, with 95% intervals."""
    import numpy as np

    from analysis.render.html import pyplot

    plt = pyplot()
    truth = res.tables["truth"]
    first = truth[truth["week"] == truth.groupby("oracle")["week"].transform("min")]
    first = first[first["oracle"] == first["oracle"].iloc[0]]
    channels = list(first["channel"])
    b = res.tables.get("beliefs")
    series = [
        (
            "truth (" + first["oracle"].iloc[0] + ")",
            first.set_index("channel"),
            "true_return",
            "low",
            "high",
        )
    ]
    if b is not None and len(b):
        for label, g in b.groupby("variant", sort=False):
            series.append(
                (label, g.set_index("channel"), "believed", "believed_low", "believed_high")
            )
    fig, ax = plt.subplots(figsize=(8, 0.6 * len(channels) * max(1, len(series) / 2) + 1.5), dpi=80)
    y = np.arange(len(channels))
    h = 0.8 / len(series)
    for i, (label, df, mid, lo, hi) in enumerate(series):
        df = df.reindex(channels)
        yy = y - 0.4 + (i + 0.5) * h
        err = np.vstack([df[mid] - df[lo], df[hi] - df[mid]]) * PER
        ax.barh(yy, df[mid] * PER, height=h, label=label, xerr=np.nan_to_num(err), capsize=2)
    ax.set_yticks(y, channels)
    ax.invert_yaxis()
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_xlabel(f"return per {PER:,.0f} spent ({truth.attrs.get('objective', 'objective')})")
    ax.set_title(f"{res.study.vendor}: believed vs true return per channel (first adjustment)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def html_section(res: StudyResult) -> str:
    """The study as an HTML section (tables and figures)."""
    from analysis.render.html import fig_to_img, html_table
    from analysis.stats.compare import pairing_summary

    s, t = res.study, res.tables
    parts = [
        f"<h2>The value of measurement: {s.vendor} in {s.scenario.name}</h2>",
        f"<p>{s.description}</p>" if s.description else "",
        f"<p class='note'>{s.scenario.buyers.count:,} buyers, {s.scenario.weeks} weeks; every "
        "variant runs the same paired seeds (common random numbers). Oracle plans come from "
        "separate planning seeds.</p>",
    ]
    if "summary" in t:
        sm = t["summary"].copy()
        sm = sm[["variant", "metric", "n", "mean", "half_width", "ci_low", "ci_high"]]
        parts += ["<h3>Per variant (means, 95% intervals)</h3>", html_table(sm)]
    vs = t.get("vs_reference")
    if vs is not None and len(vs):
        cols = [
            "variant",
            "reference",
            "metric",
            "n_pairs",
            "diff",
            "ci_low",
            "ci_high",
            "verdict",
            "half_width",
            "unpaired_half_width",
            "pairing_gain",
        ]
        parts += [
            f"<h3>Paired differences vs {s.reference}</h3>",
            html_table(vs[cols], percent=["pairing_gain"]),
            f"<p>{pairing_summary(vs, 'conversions')}</p>",
        ]
    cost = t.get("cost")
    if cost is not None and len(cost):
        c = cost.assign(
            cost_low=cost["ci_low"], cost_high=cost["ci_high"], oracle_minus=cost["cost"]
        )
        parts += [
            "<h3>Cost of mis-measurement (oracle minus each, same cadence)</h3>",
            html_table(
                c[
                    [
                        "variant",
                        "oracle",
                        "metric",
                        "n_pairs",
                        "oracle_minus",
                        "cost_low",
                        "cost_high",
                        "verdict",
                    ]
                ]
            ),
        ]
    if "mix" in t and len(t["mix"]):
        parts += [
            "<h3>Channel mix quarter by quarter</h3>",
            fig_to_img(mix_figure(res), "channel mix by quarter"),
        ]
    if "truth" in t and len(t["truth"]):
        tr = t["truth"].copy()
        for k in ("true_return", "low", "high"):
            tr[k] = tr[k] * PER
        parts += [
            f"<h3>True incremental return per channel (per {PER:,.0f} spent)</h3>",
            "<p>From the oracle's counterfactual runs: the channel's spend set to zero over "
            "the window, paired with the run that kept it.</p>",
            html_table(
                tr[
                    [
                        "oracle",
                        "week",
                        "channel",
                        "share",
                        "true_return",
                        "low",
                        "high",
                        "share_after",
                    ]
                ],
                percent=["share", "share_after"],
            ),
            fig_to_img(returns_figure(res), "believed vs true return"),
        ]
    b = t.get("beliefs")
    if b is not None and len(b):
        bb = b.copy()
        for k in ("believed", "believed_low", "believed_high", "true", "true_low", "true_high"):
            bb[k] = bb[k] * PER
        parts += ["<h3>Believed vs true return at the first adjustment</h3>", html_table(bb)]
    cad = t.get("cadence")
    if cad is not None and len(cad):
        parts += [
            "<h3>Cadence: budget moved and wrong-way moves</h3>",
            html_table(cad, percent=["moved_mean", "moved_sd", "wrong_way"]),
        ]
    return "".join(parts)


def write_study(res: StudyResult, out: Path) -> list[Path]:
    """DIR/dataloop.html plus one CSV per table (DIR/dataloop_<table>.csv)."""
    from analysis.render.html import html_page

    written = []
    for name, df in res.tables.items():
        p = out / f"dataloop_{name}.csv"
        df.to_csv(p, index=False)
        written.append(p)
    page = out / "dataloop.html"
    page.write_text(html_page(f"DATA loop: {res.study.name}", html_section(res)), encoding="utf-8")
    return [page, *written]


# ----------------------------------------------------------------------------- command line
