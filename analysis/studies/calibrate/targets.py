"""Calibration targets: the targets file, validated once, and the moments of one run.

A targets file (scenarios/targets.toml) lists published facts the model should reproduce,
one `[[targets]]` table per scalar moment:

    [[targets]]
    name = "no_decision_share"          # letters, digits, '_', '-', '.'; unique
    measure = "no_decision_share"       # what is measured (MEASURES below)
    what = "share of closed journeys that end in no decision"
    band = [0.40, 0.60]                 # or value = 0.75, or at_least = 0.8, or at_most = 0.2
    tolerance = 0.02                    # the scale of a miss (see Target.miss)
    source = "Dixon & McKenna, The JOLT Effect, 2022 (docs/sources.md §10.3)"

plus the measure's own keys (stage, seniority, size_class, group_sizes, quantile).
`load_targets` checks it into frozen `Target`s; every problem is one line naming the file
and the field (a ScenarioError, like scenario and sweep files).

`run_moments(tables, targets)` measures every target on the tables of ONE finished run
(sim.tables: buyers, journeys, touches) and returns long rows (target, stat, value, note):
stat "value" is the moment, "n" the observations behind it, and some measures add
descriptive stats (p10, p90). The functions are pure and cheap, so each worker computes
them inside its run and sends back a few rows instead of the run's tables. A target whose
table column is absent (an older model, a scenario without accounts) or that has no
observations in the run gives value NaN and says why in `note`: "not measurable".

Only the standard library and sim.scenario (pydantic) are imported at module level
(pandas and numpy inside the measuring functions): `run.py --help` imports the calibrate command, which imports this.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.scenario import SENIORITIES, ScenarioError, read_toml
from sim.scenario import SIZE_CLASSES as ACCOUNT_SIZES

if TYPE_CHECKING:
    import pandas as pd

STAGES = ("early", "middle", "final")
#: account size classes in the journeys table ("single": a scenario without [accounts])
SIZE_CLASSES = (*ACCOUNT_SIZES, "single")
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_GOALS = ("value", "band", "at_least", "at_most")
_COMMON = {"name", "measure", "what", "source", "tolerance", *_GOALS}

#: measure -> the extra keys it takes (with their defaults)
MEASURES: dict[str, dict[str, Any]] = {
    "idc_top_three": {"stage": None},
    "social_use": {"seniority": ()},
    "research_before_sales": {"quantile": 0.5},
    "sales_contact_share": {},
    "no_decision_share": {},
    "consensus": {"group_sizes": None},
    "journey_weeks": {"size_class": None, "quantile": 0.5},
}


@dataclass(frozen=True)
class Target:
    """One calibration target: a scalar moment of a run and what it should be.

    The goal is an acceptance interval [low, high] (a point target has low = high =
    value). `miss(mean)`: the distance from the point (signed) or from the band (0 inside)
    in tolerances; the SMM objective adds miss**2 over the targets, and a target passes
    when |miss| <= 1.
    """

    name: str
    measure: str
    what: str
    source: str
    tolerance: float
    low: float = -math.inf
    high: float = math.inf
    stage: str | None = None
    seniority: tuple[str, ...] = ()
    size_class: str | None = None
    group_sizes: tuple[int, ...] = ()
    quantile: float = 0.5

    @property
    def is_point(self) -> bool:
        """Whether the goal is one value (else a band or a one-sided bound)."""
        return self.low == self.high

    def miss(self, mean: float) -> float:
        """How far `mean` is from the goal, in tolerances: (mean - value) / tolerance for a
        point, the distance outside the band / tolerance (0 inside) for a band."""
        if self.is_point:
            return (mean - self.low) / self.tolerance
        if mean < self.low:
            return (mean - self.low) / self.tolerance
        if mean > self.high:
            return (mean - self.high) / self.tolerance
        return 0.0

    def passed(self, mean: float) -> bool:
        """Within one tolerance of the goal."""
        return abs(self.miss(mean)) <= 1.0

    def goal(self) -> str:
        """The goal as text: '0.75', '[0.65, 0.9]', '>= 0.8', '<= 0.2'."""
        if self.is_point:
            return f"{self.low:g}"
        if math.isinf(self.high):
            return f">= {self.low:g}"
        if math.isinf(self.low):
            return f"<= {self.high:g}"
        return f"[{self.low:g}, {self.high:g}]"


@dataclass(frozen=True)
class Targets:
    """A validated targets file."""

    source: str
    targets: tuple[Target, ...]
    description: str = ""

    def names(self) -> tuple[str, ...]:
        """Target names in file order."""
        return tuple(t.name for t in self.targets)


# ------------------------------------------------------------------------ loading
def load_targets(path: str | Path) -> Targets:
    """Read and validate a targets TOML file.

    Raises:
        ScenarioError: one line naming the file, the field and what is allowed.
    """
    src = str(path)
    data = read_toml(path, "targets")
    for key in data:
        if key not in ("targets", "description"):
            raise ScenarioError(
                src, key, "unknown key; a targets file has [[targets]] tables (and description)"
            )
    description = data.get("description", "")
    if not isinstance(description, str):
        raise ScenarioError(src, "description", "must be a string")
    items = data.get("targets")
    if not isinstance(items, list) or not items or not all(isinstance(t, dict) for t in items):
        raise ScenarioError(
            src, "targets", "at least one [[targets]] table is needed (see scenarios/targets.toml)"
        )
    out: list[Target] = []
    for i, item in enumerate(items):
        target = _load_target(src, i, item)
        if target.name in {t.name for t in out}:
            raise ScenarioError(
                src, f"targets[{i}:{target.name}].name", "names must be distinct; rename one"
            )
        out.append(target)
    return Targets(src, tuple(out), description)


def _load_target(src: str, i: int, item: dict[str, Any]) -> Target:
    name = item.get("name")
    where = f"targets[{i}:{name}]" if isinstance(name, str) else f"targets[{i}]"

    def fail(key: str, problem: str) -> ScenarioError:
        return ScenarioError(src, f"{where}.{key}" if key else where, problem)

    if not isinstance(name, str) or not _NAME.match(name):
        raise fail("name", f"a name of letters, digits, '_', '-', '.' is needed (found {name!r})")
    measure = item.get("measure")
    if measure not in MEASURES:
        raise fail("measure", f"must be one of {', '.join(MEASURES)} (found {measure!r})")
    extra = MEASURES[measure]
    for key in item:
        if key not in _COMMON and key not in extra:
            allowed = ", ".join(sorted(_COMMON | set(extra)))
            raise fail(key, f"unknown key for measure {measure!r}; allowed: {allowed}")
    for key in ("what", "source"):
        if not isinstance(item.get(key), str) or not item[key].strip():
            raise fail(
                key, "a non-empty string is needed (what is measured / where it is published)"
            )
    tolerance = item.get("tolerance")
    if not _is_number(tolerance) or tolerance <= 0:
        raise fail("tolerance", f"must be a number > 0 (found {tolerance!r})")

    goals = [g for g in _GOALS if g in item]
    if len(goals) != 1:
        raise fail(
            "",
            "give exactly one of value = x, band = [low, high], at_least = x, at_most = x"
            f" (found {', '.join(goals) or 'none'})",
        )
    goal, v = goals[0], item[goals[0]]
    if goal == "band":
        if not (isinstance(v, list) and len(v) == 2 and all(_is_number(x) for x in v)):
            raise fail("band", f"must be [low, high], two numbers (found {v!r})")
        low, high = float(v[0]), float(v[1])
        if not low < high:
            raise fail("band", f"needs low < high (found [{low:g}, {high:g}])")
    else:
        if not _is_number(v):
            raise fail(goal, f"must be a number (found {v!r})")
        low = float(v) if goal in ("value", "at_least") else -math.inf
        high = float(v) if goal in ("value", "at_most") else math.inf

    params: dict[str, Any] = {}
    if measure == "idc_top_three":
        stage = item.get("stage")
        if stage not in STAGES:
            raise fail("stage", f"must be one of {', '.join(STAGES)} (found {stage!r})")
        params["stage"] = stage
    if "seniority" in extra:
        sen = item.get("seniority", [])
        if not isinstance(sen, list) or not all(s in SENIORITIES for s in sen):
            raise fail(
                "seniority",
                f"must be a list of {', '.join(SENIORITIES)} (empty: all buyers; found {sen!r})",
            )
        params["seniority"] = tuple(sen)
    if "quantile" in extra:
        q = item.get("quantile", 0.5)
        if not _is_number(q) or not 0 <= q <= 1:
            raise fail("quantile", f"must be a number in [0, 1] (found {q!r})")
        params["quantile"] = float(q)
    if measure == "consensus":
        sizes = item.get("group_sizes")
        ok = isinstance(sizes, list) and sizes and all(_is_whole(s) and s >= 1 for s in sizes)
        if not ok:
            raise fail(
                "group_sizes",
                f"must be a list of buying-group sizes >= 1, e.g. [1] (found {sizes!r})",
            )
        params["group_sizes"] = tuple(int(s) for s in sizes)
    if measure == "journey_weeks":
        size = item.get("size_class")
        if size not in SIZE_CLASSES:
            raise fail("size_class", f"must be one of {', '.join(SIZE_CLASSES)} (found {size!r})")
        params["size_class"] = size
    return Target(
        name=name,
        measure=measure,
        what=item["what"].strip(),
        source=item["source"].strip(),
        tolerance=float(tolerance),
        low=low,
        high=high,
        **params,
    )


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _is_whole(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


# ------------------------------------------------------------------------ measuring
@dataclass(frozen=True)
class Moment:
    """One target measured on one run: the value (NaN: not measurable, `note` says why),
    the number of observations behind it, and descriptive extras (e.g. p10, p90)."""

    value: float
    n: int = 0
    note: str = ""
    extra: tuple[tuple[str, float], ...] = ()


class NotMeasurable(Exception):
    """The run's tables cannot give this target (a missing column, no observations)."""


def _need(df: pd.DataFrame | None, table: str, *columns: str) -> pd.DataFrame:
    if df is None:
        raise NotMeasurable(f"no {table} table")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise NotMeasurable(f"the {table} table has no {', '.join(missing)} column")
    return df


def _closed(journeys: pd.DataFrame) -> pd.DataFrame:
    return journeys[journeys["outcome"].isin(["purchase", "no_decision"])]


def _rate(hits: int, n: int, what: str) -> Moment:
    if n == 0:
        raise NotMeasurable(f"no {what}")
    return Moment(hits / n, n)


def idc_top_three(tables: dict[str, pd.DataFrame], target: Target) -> Moment:
    """The margin by which the stage's consultations rank the IDC top three first, in
    order: min(s1 - s2, s2 - s3, s3 - s4) over consultation shares, where s1..s3 are the
    IDC sources in IDC order and s4 the most consulted other source (social-selling
    contacts and quotes are the sales team's, not sources; as in
    tests/sim/test_calibration.py). Positive: the ranking holds."""
    from sim.channels import IDC_TOP_THREE, Stage

    t = _need(tables.get("touches"), "touches", "stage", "channel", "social_selling", "quote")
    t = t[~t["social_selling"].astype(bool) & ~t["quote"].astype(bool)]
    t = t[t["stage"] == target.stage]
    if t.empty:
        raise NotMeasurable(f"no consultations in the {target.stage} stage")
    shares = t["channel"].astype(str).value_counts(normalize=True)
    top = IDC_TOP_THREE[Stage[target.stage.upper()]]
    s = [float(shares.get(c, 0.0)) for c in top]
    others = shares.drop([c for c in top if c in shares.index])
    s4 = float(others.max()) if len(others) else 0.0
    margin = min(s[0] - s[1], s[1] - s[2], s[2] - s4)
    return Moment(margin, len(t), extra=tuple(zip(top, s, strict=True)) + (("best_other", s4),))


def social_use(tables: dict[str, pd.DataFrame], target: Target) -> Moment:
    """Among buyers who took part in a closed journey (the journey's buyer, or a member
    with a touch in it), the share who consulted at least one social source (a channel
    with the social flag in sim.channels) in a closed journey: an outcome, not the input
    flag `uses_social`. `seniority` restricts the buyers (empty: all)."""
    from sim.channels import CHANNELS

    j = _need(tables.get("journeys"), "journeys", "journey_id", "buyer_id", "outcome")
    t = _need(tables.get("touches"), "touches", "journey_id", "buyer_id", "channel")
    closed = _closed(j)
    t = t[t["journey_id"].isin(closed["journey_id"])]
    people = set(closed["buyer_id"].tolist()) | set(t["buyer_id"].tolist())
    if target.seniority:
        b = _need(tables.get("buyers"), "buyers", "buyer_id", "seniority")
        keep = set(b.loc[b["seniority"].isin(target.seniority), "buyer_id"].tolist())
        people &= keep
    social_channels = [c.name for c in CHANNELS if c.social]
    consult = t
    if "social_selling" in t.columns and "quote" in t.columns:
        consult = t[~t["social_selling"].astype(bool) & ~t["quote"].astype(bool)]
    users = set(consult.loc[consult["channel"].isin(social_channels), "buyer_id"].tolist())
    return _rate(len(users & people), len(people), "buyers in closed journeys")


def research_before_sales(tables: dict[str, pd.DataFrame], target: Target) -> Moment:
    """The `quantile` (median) of research_share_at_first_sales_contact over all
    purchases that had a sales contact (the share of purchases with one is
    sales_contact_share); p10 and p90 as extras."""
    j = _need(
        tables.get("journeys"), "journeys", "outcome", "research_share_at_first_sales_contact"
    )
    share = j.loc[j["outcome"] == "purchase", "research_share_at_first_sales_contact"]
    share = share.dropna().astype(float)
    if share.empty:
        raise NotMeasurable("no purchase with a sales contact")
    q = share.quantile([target.quantile, 0.1, 0.9]).tolist()
    return Moment(float(q[0]), len(share), extra=(("p10", float(q[1])), ("p90", float(q[2]))))


def sales_contact_share(tables: dict[str, pd.DataFrame], target: Target) -> Moment:
    """The share of purchases with a sales contact (a research share at the first contact)."""
    j = _need(
        tables.get("journeys"), "journeys", "outcome", "research_share_at_first_sales_contact"
    )
    share = j.loc[j["outcome"] == "purchase", "research_share_at_first_sales_contact"]
    return _rate(int(share.notna().sum()), len(share), "purchases")


def no_decision_share(tables: dict[str, pd.DataFrame], target: Target) -> Moment:
    """The share of closed journeys (purchase or no decision) that end in no decision."""
    j = _need(tables.get("journeys"), "journeys", "outcome")
    closed = _closed(j)
    return _rate(int((closed["outcome"] == "no_decision").sum()), len(closed), "closed journeys")


def consensus(tables: dict[str, pd.DataFrame], target: Target) -> Moment:
    """The purchase rate of closed journeys whose buying group's size is in
    `group_sizes` (one journeys row per group journey)."""
    j = _need(tables.get("journeys"), "journeys", "outcome", "group_size")
    closed = _closed(j)
    closed = closed[closed["group_size"].isin(target.group_sizes)]
    sizes = ", ".join(str(s) for s in target.group_sizes)
    hits = int((closed["outcome"] == "purchase").sum())
    return _rate(hits, len(closed), f"closed journeys of buying groups of size {sizes}")


def journey_weeks(tables: dict[str, pd.DataFrame], target: Target) -> Moment:
    """The `quantile` (median) of end_week - start_week over closed journeys of accounts
    of `size_class` (journeys still open at the horizon are not counted)."""
    j = _need(tables.get("journeys"), "journeys", "outcome", "start_week", "end_week", "size_class")
    closed = _closed(j)
    closed = closed[closed["size_class"] == target.size_class]
    if closed.empty:
        raise NotMeasurable(f"no closed journeys of {target.size_class} accounts")
    weeks = (closed["end_week"].astype(float) - closed["start_week"].astype(float)).dropna()
    return Moment(float(weeks.quantile(target.quantile)), len(weeks))


MEASURE_FUNCTIONS = {
    "idc_top_three": idc_top_three,
    "social_use": social_use,
    "research_before_sales": research_before_sales,
    "sales_contact_share": sales_contact_share,
    "no_decision_share": no_decision_share,
    "consensus": consensus,
    "journey_weeks": journey_weeks,
}


def measure(tables: dict[str, pd.DataFrame], target: Target) -> Moment:
    """One target on one run's tables; NaN with a note when it cannot be measured."""
    try:
        return MEASURE_FUNCTIONS[target.measure](tables, target)
    except NotMeasurable as exc:
        return Moment(math.nan, 0, note=f"not measurable: {exc}")


def run_moments(tables: dict[str, pd.DataFrame], targets: Targets) -> pd.DataFrame:
    """Every target on one run's tables, as long rows: target, stat ("value", "n" and
    extras), value, note (on the "value" row)."""
    import pandas as pd

    rows: list[tuple[str, str, float, str]] = []
    for t in targets.targets:
        m = measure(tables, t)
        rows.append((t.name, "value", m.value, m.note))
        rows.append((t.name, "n", float(m.n), ""))
        rows += [(t.name, k, float(v), "") for k, v in m.extra]
    df = pd.DataFrame(rows, columns=["target", "stat", "value", "note"])
    for c in ("target", "stat", "note"):
        df[c] = df[c].astype("string")
    df["value"] = df["value"].astype(float)
    return df
