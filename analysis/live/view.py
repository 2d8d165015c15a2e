"""The live view: watch buyers move through their journeys, change a strategy while it runs.

Built on Mesa's SolaraViz. Serve it with `python run.py viz [SCENARIO]` (or
`solara run sim/viz.py`); the scenario comes from the BJS_SCENARIO environment variable,
default scenarios/baseline.toml, and BJS_BUYERS optionally overrides its buyer count.

What is on the page:
- the sidebar: SolaraViz's play / step / reset and speed (play interval) controls; the run
  set-up (scenario file, number of buyers, graph type, seed), applied on Reset; each
  vendor's weekly budget and channel mix, applied at once to the running model through
  the vendor's own agent (`Vendor.set_plan`: the core books the spend week by week);
- the main area: the referral graph (buyers coloured by stage, purchases marked by
  vendor; with accounts, "Colour by" also shows each buyer's group stage, its furthest
  colleague's, or its account's size class, and the layout keeps an account's members
  together, their links drawn darker); next to it the journey card of the buyer clicked
  on the graph (or typed in as "Buyer #"): seniority, stage, research done, vendors
  considered with preferences, whose customer, the last touches; under it the account
  card: size class, group size, the group's stage, each member's stage and research,
  and how the group's last journey ended, with the reason and the votes when it ended
  in no decision (a scenario without accounts says "one-person buying group"); the
  stage funnel over weeks, conversions and win share per vendor over weeks, the buying
  groups chart (no decisions by reason over weeks, purchase rate by group size), this
  week's source use by stage next to the IDC ranking, and the vendor table.

Votes: the core's Decision hands on its members' picks (`Week.ballots`); a
`VoteRecorder` keeps each account's last vote shares in `GroupVotes` (one row per account).

State: everything a session keeps (its model, strategy overrides, graph layouts, the
picked buyer) is made in `Page` for that session; nothing is cached at module level.

Speed: the graph layout is computed once per graph (a small numpy force layout) and kept
in the session's `LayoutCache`, found by the graph's content, so a Reset with the same
set-up reuses it; its edges are drawn once into a background image, so a frame only
draws the buyers' dots. Every chart is a PNG rendered with the Agg backend and cached by
(model, week), so a redraw costs only what changed. Nothing here writes files; the only
file read is the scenario file the user names (through sim.scenario.load_scenario).
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ipyvuetify as v
import ipywidgets
import numpy as np
import PIL.Image
import solara
import traitlets
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.colors import to_rgba_array
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from mesa.visualization import SolaraViz
from mesa.visualization.utils import update_counter

from analysis.paths import BASELINE as DEFAULT_SCENARIO
from analysis.paths import ROOT  # noqa: F401 - the view's tests and users read viz.ROOT
from sim.channels import CHANNEL_NAMES, CHANNELS, IDC_TOP_THREE, RESEARCH_STAGES, Stage
from sim.model import BuyerJourneyModel
from sim.policies import DataLoopPolicy
from sim.processes.base import ClosedJourneys, Week
from sim.processes.decision import (
    NO_CONSENSUS,
    REASONS,
    STATUS_QUO,
)
from sim.recorders import Recorder
from sim.scenario import SIZE_CLASSES, Scenario, ScenarioError, load_scenario
from sim.tables import vendors_table

SCENARIO_ENV = "BJS_SCENARIO"
BUYERS_ENV = "BJS_BUYERS"

GRAPH_KINDS = ("watts_strogatz", "barabasi_albert", "powerlaw_cluster")
#: Stage colours: greys and blues for the journey, dark grey for no decision.
STAGE_COLOURS = {
    Stage.IDLE: "#d9d9d9",
    Stage.EARLY: "#9ecae1",
    Stage.MIDDLE: "#4292c6",
    Stage.FINAL: "#08306b",
    Stage.BOUGHT: "#a6761d",  # used in the funnel; on the graph a purchase shows its vendor
    Stage.NO_DECISION: "#636363",
}
#: Vendor colours (purchases on the graph, vendor lines): warm, distinct from the stages.
VENDOR_COLOURS = (
    "#ff7f0e",
    "#2ca02c",
    "#9467bd",
    "#e7298a",
    "#bcbd22",
    "#8c564b",
    "#17becf",
    "#d62728",
)
PAID_CHANNELS = tuple(i for i, c in enumerate(CHANNELS) if c.paid)
GRAPH_PX = 480  # the referral graph's plot area is GRAPH_PX x GRAPH_PX pixels
LEGEND_PX = 152  # the graph image's legend, right of the plot area
DPI = 80
#: A click picks the nearest buyer within this distance (layout units: 0.04 = 19 px).
PICK_RADIUS = 0.04
#: Touches shown on a clicked buyer's card (the latest ones).
CARD_TOUCHES = 6
#: Layout: links between colleagues (one account) attract this many times as strongly
#: as other links, so a buying group sits together on the graph.
COLLEAGUE_PULL = 8.0
#: What the graph's dots are coloured by (the group options only with accounts).
COLOUR_BY = ("buyer stage", "group stage", "size class")
#: Account size classes on the graph ("size class" colouring); one-person accounts grey.
SIZE_COLOURS = {
    "small": "#c7e9c0",
    "mid_market": "#41ab5d",
    "enterprise": "#00441b",
}
SINGLE_COLOUR = "#bdbdbd"
#: No-decision reasons in the groups chart: REASONS code, label, colour.
REASON_LINES = (
    (STATUS_QUO, "status quo had most support", "#636363"),
    (NO_CONSENSUS, "no vendor had the consensus", "#d62728"),
)
#: The groups chart draws shares of closed journeys once this many have closed.
MIN_CLOSED = 10


def vendor_colour(i: int) -> str:
    return VENDOR_COLOURS[i % len(VENDOR_COLOURS)]


# ---------------------------------------------------------------- settings and model
@dataclass
class Strategy:
    """A vendor's live strategy: weekly channel budget and channel mix (shares)."""

    weekly_budget: float
    mix: dict[str, float]

    def spend(self) -> np.ndarray:
        """Weekly spend per channel (the mix normalised, times the budget)."""
        shares = np.array([self.mix.get(c, 0.0) for c in CHANNEL_NAMES], dtype=float)
        total = shares.sum()
        return self.weekly_budget * shares / total if total > 0 else np.zeros(len(CHANNEL_NAMES))

    @classmethod
    def of_spend(cls, spend: np.ndarray) -> Strategy:
        """The budget and exact mix (shares summing to 1) that spend `spend` per channel."""
        budget = float(np.sum(spend))
        if budget <= 0:
            return cls(0.0, {})
        return cls(
            budget,
            {c: float(x) / budget for c, x in zip(CHANNEL_NAMES, spend, strict=True) if x > 0},
        )


@dataclass
class Strategies:
    """The strategy overrides of one browser session, by vendor name.

    SolaraViz rebuilds the model on Reset from its parameters; this object is one of them
    (a fixed parameter), so a strategy changed while a run goes on also holds after Reset.
    A change goes to the model through the vendor's own agent (`Vendor.set_plan`), so the
    core books the spend week by week from then on.
    """

    by_vendor: dict[str, Strategy] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def get(self, model: VizModel, index: int) -> Strategy:
        """Vendor `index`'s strategy: the session's override, else the plan in force."""
        s = self.by_vendor.get(model.vendor_names[index])
        return s if s is not None else Strategy.of_spend(model.market.spend[index])

    def set(self, model: VizModel, index: int, strategy: Strategy) -> None:
        """Remember `strategy` for the session and put it in force in `model` now."""
        with self.lock:
            self.by_vendor[model.vendor_names[index]] = strategy
        model.vendors[index].set_plan(strategy.spend())


def parse_seed(value: object, default: int) -> tuple[int, str | None]:
    """A seed from a control: an int, or text (InputText hands over strings)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return default, None
    try:
        seed = int(str(value).strip())
    except ValueError:
        return default, f"seed must be a whole number, found {value!r}; using {default}"
    if seed < 0:
        return default, f"seed must be 0 or more, found {seed}; using {default}"
    return seed, None


def initial_scenario_path() -> str:
    return os.environ.get(SCENARIO_ENV) or str(DEFAULT_SCENARIO)


def initial_buyers(scenario: Scenario) -> int:
    raw = os.environ.get(BUYERS_ENV)
    if raw:
        try:
            return max(1, int(raw))
        except ValueError:
            pass
    return scenario.buyers.count


def run_scenario(
    scenario: Scenario, buyers: int | None, graph: str | None, strategies: Strategies | None
) -> Scenario:
    """The scenario with the view's set-up applied (buyers, graph kind, vendor strategies).

    A strategy goes in as the exact budget and mix it spends (shares summing to 1), so
    the scenario's validation accepts whatever the sliders left."""
    changes: dict[str, object] = {}
    if buyers and buyers != scenario.buyers.count:
        changes["buyers.count"] = int(buyers)
    if graph and graph != scenario.network.kind:
        changes["network.kind"] = graph
    for spec in scenario.vendors:
        s = strategies.by_vendor.get(spec.name) if strategies else None
        if s is not None:
            exact = Strategy.of_spend(s.spend())
            changes[f"vendors.{spec.name}.weekly_budget"] = exact.weekly_budget
            changes[f"vendors.{spec.name}.channel_mix"] = dict(exact.mix)
    return scenario.with_changes(changes) if changes else scenario


class VizModel(BuyerJourneyModel):
    """The core model built from the live view's controls, plus its graph layout and
    chart figures. Strategy changes and their spend are the core's business (the Vendor
    agents and `model.market`); this class adds no rule and overrides no step.

    Args:
        scenario_file: the scenario TOML file (the user names it).
        buyers: number of buyers (None: the scenario's).
        graph: referral graph kind (None: the scenario's).
        seed: run seed, int or text (None or empty: the scenario's).
        strategies: the session's vendor strategy overrides.
        layouts: the session's layout cache (None: compute this model's layout afresh).
        loop: the session's DATA-loop set-up (the study variant to run, on Reset).

    The scenario file may be a DATA-loop study file (a sweep-format file such as
    scenarios/data_loop.toml): the view runs its base scenario with its [sweep.set]
    changes and the focal vendor on one policy variant (`loop.variant`, else the first
    data-loop variant; oracle variants need `run.py dataloop`'s planner and are not
    offered).

    Touches are recorded (in memory) so a clicked buyer's journey can show them. A bad
    file, seed or combination does not stop the view: the model falls back to the
    scenario the app was started with and `notice` says what was wrong.
    """

    def __init__(
        self,
        scenario_file: str | None = None,
        buyers: int | None = None,
        graph: str | None = None,
        seed: int | str | None = None,
        strategies: Strategies | None = None,
        layouts: LayoutCache | None = None,
        loop: LoopSetup | None = None,
    ) -> None:
        notices: list[str] = []
        path = str(scenario_file or initial_scenario_path())
        self.loop_setup = loop if loop is not None else LoopSetup()
        try:
            base, study = load_view_scenario(path, self.loop_setup.variant)
        except ScenarioError as exc:
            notices.append(f"{exc} (kept the start-up scenario)")
            path = initial_scenario_path()
            base, study = load_view_scenario(path, self.loop_setup.variant)
        #: a study file's policy variants the view can run, and the one running
        self.study_variants, self.study_variant = study
        try:
            scenario = run_scenario(base, buyers, graph, strategies)
        except ScenarioError as exc:
            notices.append(str(exc))
            scenario = base
        run_seed, problem = parse_seed(seed, scenario.seed)
        if problem:
            notices.append(problem)
        super().__init__(scenario, seed=run_seed, record_touches=True)
        self.scenario_file = path
        self.notice = "; ".join(notices)
        self.strategies = strategies if strategies is not None else Strategies()
        #: the data-loop vendors (by index) and their loops, kept even if a hand-set
        #: strategy replaces one (the panel then shows what it believed until then)
        self.loops: dict[int, DataLoopPolicy] = {
            i: v.policy for i, v in enumerate(self.vendors) if isinstance(v.policy, DataLoopPolicy)
        }
        self.truths: dict[tuple[str, int, int], Truth] = {}  # read truth files, by stat
        # an override is a static plan from week 0 on (a scenario schedule does not
        # take over later), exactly as when it was set while the last run went on
        for i, name in enumerate(self.vendor_names):
            s = self.strategies.by_vendor.get(name)
            if s is not None:
                self.vendors[i].set_plan(s.spend())
        self.votes = use_voting_decision(self)
        ref = self.referral_graph
        account = None if self.accounts.singletons else self.buyers.account
        if layouts is None:
            self.layout = graph_layout(self.n_buyers, ref.edges, account)
        else:
            self.layout = layouts.get(self.n_buyers, ref.edges, account)
        self.charts: dict[str, Chart] = {}


# ------------------------------------------------------ buying groups and their decisions
def group_stage(stage: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Each buyer's group stage: the furthest stage any member of its account has reached
    (members are the rows start[a]:start[a + 1]; stage codes run idle .. no decision,
    and a group buys or ends in no decision together)."""
    if start.size == stage.size + 1:  # one-person accounts: the buyer's own stage
        return stage
    furthest = np.maximum.reduceat(stage, start[:-1])
    return np.repeat(furthest, np.diff(start))


def vote_shares(
    choice: np.ndarray, weight: np.ndarray, group: np.ndarray, n_groups: int, n_vendors: int
) -> np.ndarray:
    """(groups, 1 + vendors): the share of each group's weight behind the status quo
    (column 0) and behind each vendor, from its members' choices (-1: status quo), as
    `sim.processes.decision.consensus` tallies them."""
    options = n_vendors + 1
    votes = np.bincount(
        group * options + choice + 1, weights=weight, minlength=n_groups * options
    ).reshape(n_groups, options)
    total = votes.sum(1, keepdims=True)
    return np.divide(votes, total, out=np.zeros_like(votes), where=total > 0)


class GroupVotes:
    """Viz-side state: the votes of each account's last decision (`vote_shares` rows,
    the week they were cast). Filled by `VoteRecorder`; one row per account, so memory
    stays (accounts x vendors) however long the run."""

    def __init__(self, n_accounts: int, n_vendors: int) -> None:
        self.week = np.full(n_accounts, -1, dtype=np.int64)
        self.shares = np.zeros((n_accounts, n_vendors + 1))

    def put(self, week: int, accounts: np.ndarray, shares: np.ndarray) -> None:
        self.shares[accounts] = shares
        self.week[accounts] = week

    def of(self, account: int, week: int) -> np.ndarray | None:
        """The vote shares of `account`'s decision in `week` (None: not recorded)."""
        if not 0 <= account < self.week.size or self.week[account] != week:
            return None
        return self.shares[account].copy()


class VoteRecorder(Recorder):
    """Keeps each deciding group's vote shares in `votes`, from the ballots the core's
    Decision hands on in the week (`Week.ballots`): no table, no draws."""

    name = "votes"

    def __init__(self, votes: GroupVotes) -> None:
        self.votes = votes

    def record(self, model: BuyerJourneyModel, week: Week) -> None:
        ballots = week.ballots
        if ballots is None or not ballots.buyers.size:
            return
        state, n_vendors = model.buyers, model.market.n
        group, lead_pos = ballots.group, ballots.lead
        shares = vote_shares(ballots.choice, ballots.weight, group, lead_pos.size, n_vendors)
        self.votes.put(week.number, state.account[ballots.buyers[lead_pos]], shares)


def use_voting_decision(model: BuyerJourneyModel) -> GroupVotes:
    """Register a `VoteRecorder` on the model and return the votes it will keep."""
    votes = GroupVotes(model.accounts.n, model.market.n)
    model.add_recorder(VoteRecorder(votes))
    return votes


def _closed_column(closed: Sequence[ClosedJourneys], key: str) -> np.ndarray:
    parts = [getattr(c, key) for c in closed]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def reasons_by_week(closed: Sequence[ClosedJourneys], weeks: int) -> np.ndarray:
    """(weeks, 2): journeys that ended in no decision each week, by reason: the status
    quo had the most support (column 0), no vendor had enough backing (column 1)."""
    week = _closed_column(closed, "end_week").astype(np.int64)
    reason = _closed_column(closed, "reason")
    out = np.zeros((max(weeks, 0), len(REASON_LINES)), dtype=np.int64)
    keep = (week >= 0) & (week < weeks)
    for k, (code, _, _) in enumerate(REASON_LINES):
        out[:, k] = np.bincount(week[keep & (reason == code)], minlength=weeks)[:weeks]
    return out


def purchase_rate_by_size(
    closed: Sequence[ClosedJourneys], max_size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Group journeys closed so far and the share that ended in a purchase, by group
    size 0..max_size (index = size; NaN where none closed)."""
    size = _closed_column(closed, "group_size").astype(np.int64)
    bought = _closed_column(closed, "outcome") == 1
    size = np.minimum(size, max_size)
    n = np.bincount(size, minlength=max_size + 1)
    b = np.bincount(size[bought], minlength=max_size + 1)
    rate = np.divide(b, n, out=np.full(n.size, np.nan), where=n > 0)
    return n, rate


def last_decision(model: VizModel, account: int) -> dict[str, Any] | None:
    """How `account`'s last group journey ended, from the journeys recorder: the week,
    the vendor bought from (None: no decision), the no-decision reason (REASONS), the
    group's size, the votes (option -> weight share; None if not kept) and the consensus
    the scenario asks for. None if none of its journeys has closed yet."""
    log = model.recorder("journeys", default=None)
    if log is None:
        return None
    for c in reversed(list(log.closed)):  # a snapshot: the play loop may append meanwhile
        hit = np.flatnonzero(c.account_id == account)
        if not hit.size:
            continue
        k = int(hit[-1])
        week, vendor = int(c.end_week[k]), int(c.vendor[k])
        votes = getattr(model, "votes", None)
        shares = votes.of(account, week) if votes is not None else None
        options = ("status quo", *model.vendor_names)
        spec = model.spec.accounts
        return {
            "week": week,
            "vendor": None if vendor < 0 else model.vendor_names[vendor],
            "reason": REASONS[int(c.reason[k])],
            "group_size": int(c.group_size[k]),
            "votes": None
            if shares is None
            else {o: float(x) for o, x in zip(options, shares, strict=True) if x > 0},
            "consensus": None if spec is None else float(spec.consensus),
        }
    return None


# ------------------------------------------------------------ the DATA loop (issue 11)
#: The truth file `python run.py dataloop STUDY --out DIR` writes: DIR/dataloop_truth.csv,
#: the oracle's true incremental return per channel at each of its adjustment weeks
#: (counterfactual runs with common random numbers; analysis/dataloop.py `plan_oracle`).
TRUTH_FILE = "dataloop_truth.csv"
TRUTH_COLUMNS = ("week", "channel", "true_return")
NO_TRUTH_NOTE = "true returns: run `run.py dataloop` and load its truth file"
#: Returns are shown per this much spent (as in the study's report).
RETURN_PER = 100_000.0
#: Channel colours in the DATA-loop panel (by channel table order).
CHANNEL_COLOURS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#393b79",
    "#637939",
)
TRUE_COLOUR = "#404040"


def channel_colour(c: int) -> str:
    return CHANNEL_COLOURS[c % len(CHANNEL_COLOURS)]


@dataclass
class LoopSetup:
    """A session's DATA-loop set-up: the study variant to run (a fixed model parameter,
    applied on Reset like the other set-up controls)."""

    variant: str | None = None


#: How the view turns a study file into (scenario, variants): set by analysis/viz_app.py,
#: the page the launcher serves, with analysis.studies.dataloop.study's reader (sim never imports
#: analysis). None: the view runs scenarios only and refuses a study file in one line.
_study_loader: Callable[[str | Path], Any] | None = None


def register_study_loader(loader: Callable[[str | Path], Any] | None) -> None:
    """Let the view open study files with `loader(path) -> study` (analysis/viz_app.py
    passes `analysis.studies.dataloop.study.load_study`)."""
    global _study_loader
    _study_loader = loader


def is_study_file(path: str | Path) -> bool:
    """Whether `path` is a DATA-loop study file (a sweep-format file with [sweep] and a
    policy axis, no vendors of its own) rather than a scenario."""
    import tomllib

    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except (OSError, ValueError):
        return False  # load_scenario says what is wrong
    return isinstance(data.get("sweep"), dict) and "vendors" not in data


def load_view_scenario(
    path: str | Path, variant: str | None = None
) -> tuple[Scenario, tuple[tuple[str, ...], str | None]]:
    """The scenario the view runs from `path`, and (the study's runnable variants, the
    one chosen) when `path` is a study file (else ((), None)).

    A study file (scenarios/data_loop.toml) gives its base scenario with [sweep.set] and
    the focal vendor on `variant` (a static or data-loop variant's label, e.g. "codes@13";
    unknown or None: the first data-loop variant). Oracle variants are left out: their
    plan comes from `run.py dataloop`'s counterfactual runs.

    Raises:
        ScenarioError: a bad scenario or study file, one line.
    """
    if not is_study_file(path):
        return load_scenario(path), ((), None)
    if _study_loader is None:
        raise ScenarioError(
            str(path),
            "sweep",
            "a study file: open it with `python run.py viz FILE` (its page reads studies)",
        )
    study = _study_loader(path)
    runnable = [x for x in study.variants if x.policy != "oracle"]
    if not runnable:
        raise ScenarioError(str(path), "axes", "the study has no static or data_loop variant")
    labels = tuple(x.label for x in runnable)
    chosen = next((x for x in runnable if x.label == variant), None)
    if chosen is None:
        chosen = next((x for x in runnable if x.policy == "data_loop"), runnable[0])
    return study.scenario.with_changes(study.changes(chosen)), (labels, chosen.label)


def mix_over_weeks(channels: Sequence[np.ndarray], vendor: int) -> np.ndarray:
    """(weeks, channels): each week's share of `vendor`'s channel spend per channel (a
    row of zeros for a week it spent nothing), from the spend recorder's weekly
    (vendors, channels) arrays."""
    if not len(channels):
        return np.zeros((0, len(CHANNEL_NAMES)))
    spend = np.asarray([c[vendor] for c in channels], dtype=float)
    total = spend.sum(1, keepdims=True)
    return np.divide(spend, total, out=np.zeros_like(spend), where=total > 0)


def adjustment_weeks(beliefs: Any, vendor: str) -> list[int]:
    """The weeks (0-based, as in the beliefs table) at which `vendor` adjusted its mix."""
    if beliefs is None or not len(beliefs):
        return []
    weeks = beliefs.loc[beliefs["vendor"] == vendor, "week"]
    return sorted(int(w) for w in weeks.unique())


def planned_adjustments(baseline: int, cadence: int, horizon: int) -> list[int]:
    """The weeks a data-loop vendor adjusts at over the horizon: baseline_weeks, then
    every cadence_weeks (`DataLoopPolicy.adjusts_at`)."""
    return list(range(baseline, horizon, max(1, cadence)))


def loop_beliefs(model: VizModel) -> Any:
    """The beliefs table (one row per adjustment and channel), from the beliefs recorder;
    a vendor whose loop a hand-set strategy replaced keeps the rows of its loop until
    then (the recorder reads the vendors' current policies)."""
    import pandas as pd

    rec = model.recorder("beliefs", default=None)
    table = rec.table(model) if rec is not None else None
    cols = ["vendor", "week", "channel", "believed_return", "share_before", "share_after"]
    if table is None:
        table = pd.DataFrame({c: [] for c in cols})
    lost = [
        (model.vendor_names[i], w, CHANNEL_NAMES[c], r, b, a)
        for i, p in model.loops.items()
        if model.vendors[i].policy is not p
        for w, c, r, b, a in p.beliefs
    ]
    if lost:
        table = pd.concat([table, pd.DataFrame(lost, columns=cols)], ignore_index=True)
    return table


@dataclass(frozen=True)
class Truth:
    """A truth file read: its rows (None: unusable) and what was wrong with it."""

    path: str
    table: Any  # DataFrame or None
    problem: str = ""


def read_truth(path: str | Path) -> Truth:
    """Read a truth file (`run.py dataloop`'s DIR/dataloop_truth.csv: week, channel,
    true_return, optional low, high and oracle columns). A missing or malformed file is
    a Truth with no table and a one-line problem; nothing is made up."""
    import pandas as pd

    try:
        t = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        return Truth(str(path), None, f"truth file {str(path)!r} not read: {exc}")
    missing = [c for c in TRUTH_COLUMNS if c not in t.columns]
    if missing:
        return Truth(
            str(path),
            None,
            f"truth file {str(path)!r} lacks column(s) {', '.join(missing)} "
            f"(expected run.py dataloop's {TRUTH_FILE})",
        )
    t = t.copy()
    t["week"] = pd.to_numeric(t["week"], errors="coerce")
    t["true_return"] = pd.to_numeric(t["true_return"], errors="coerce")
    t = t.dropna(subset=["week"])
    t["week"] = t["week"].astype(np.int64)
    t["channel"] = t["channel"].astype(str)
    if "oracle" not in t.columns:
        t["oracle"] = "oracle"
    t["oracle"] = t["oracle"].astype(str)
    for c in ("low", "high"):
        t[c] = pd.to_numeric(t[c], errors="coerce") if c in t.columns else np.nan
    return Truth(str(path), t)


def truth_path(scenario_file: str, typed: str | None) -> str | None:
    """The truth file to use: the one typed in the sidebar, else a `dataloop_truth.csv`
    next to the scenario file (None: neither)."""
    if typed and typed.strip():
        return typed.strip()
    near = Path(scenario_file).parent / TRUTH_FILE
    return str(near) if near.is_file() else None


def model_truth(model: VizModel, typed: str | None) -> Truth | None:
    """The truth file for `model` (`truth_path`), read once per file version."""
    path = truth_path(model.scenario_file, typed)
    if path is None:
        return None
    try:
        st = os.stat(path)
    except OSError as exc:
        return Truth(path, None, f"truth file {path!r} not read: {exc.strerror or exc}")
    key = (path, st.st_mtime_ns, st.st_size)
    got = model.truths.get(key)
    if got is None:
        model.truths.clear()
        got = model.truths[key] = read_truth(path)
    return got


def pick_oracle(truth: Any, cadence: int) -> str | None:
    """The oracle of a truth table to compare with a vendor adjusting every `cadence`
    weeks: the one labelled "...@<cadence>", else the first."""
    labels = list(dict.fromkeys(truth["oracle"]))
    if not labels:
        return None
    return next((x for x in labels if x.endswith(f"@{cadence}")), labels[0])


def returns_table(beliefs: Any, vendor: str, truth: Any = None, cadence: int = 13) -> Any:
    """Believed vs true return per channel at `vendor`'s latest adjustment: channel,
    week, believed_return, share_before, share_after, and (from `truth`, the oracle of
    the same cadence at its latest adjustment week at or before that week) true_return,
    true_low, true_high, truth_week, oracle; NaN (and no truth_week) where the truth has
    no such row. Empty before the first adjustment."""
    import pandas as pd

    cols = [
        "channel",
        "week",
        "believed_return",
        "share_before",
        "share_after",
        "true_return",
        "true_low",
        "true_high",
        "truth_week",
        "oracle",
    ]
    weeks = adjustment_weeks(beliefs, vendor)
    if not weeks:
        return pd.DataFrame({c: [] for c in cols})
    week = weeks[-1]
    b = beliefs[(beliefs["vendor"] == vendor) & (beliefs["week"] == week)]
    out = pd.DataFrame(
        {
            "channel": b["channel"].astype(str).to_numpy(),
            "week": week,
            "believed_return": b["believed_return"].astype(float).to_numpy(),
            "share_before": b["share_before"].astype(float).to_numpy(),
            "share_after": b["share_after"].astype(float).to_numpy(),
        }
    )
    out["true_return"] = out["true_low"] = out["true_high"] = np.nan
    out["truth_week"] = pd.array([pd.NA] * len(out), dtype="Int64")
    out["oracle"] = None
    if truth is not None and len(truth):
        oracle = pick_oracle(truth, cadence)
        t = truth[(truth["oracle"] == oracle) & (truth["week"] <= week)]
        if len(t):
            at = int(t["week"].max())
            t = t[t["week"] == at].drop_duplicates("channel").set_index("channel")
            hit = out["channel"].isin(t.index).to_numpy()
            ch = out.loc[hit, "channel"]
            out.loc[hit, "true_return"] = t.loc[ch, "true_return"].to_numpy(dtype=float)
            out.loc[hit, "true_low"] = t.loc[ch, "low"].to_numpy(dtype=float)
            out.loc[hit, "true_high"] = t.loc[ch, "high"].to_numpy(dtype=float)
            out.loc[hit, "truth_week"] = at
            out.loc[hit, "oracle"] = oracle
    return out[cols]


# ---------------------------------------------------------------------- graph layout
@dataclass(frozen=True)
class GraphLayout:
    """Node positions in [0, 1]^2 and the edges drawn once as a background image."""

    pos: np.ndarray  # (n, 2)
    background: np.ndarray  # (GRAPH_PX, GRAPH_PX, 4) uint8

    def nearest(self, x: float, y: float, radius: float = PICK_RADIUS) -> int | None:
        """The node nearest to (x, y) in layout units, if one lies within `radius`."""
        if not len(self.pos):
            return None
        d2 = ((self.pos - (x, y)) ** 2).sum(1)
        row = int(np.argmin(d2))
        return row if d2[row] <= radius * radius else None


def graph_key(n: int, edges: np.ndarray, account: np.ndarray | None = None) -> tuple[int, int, str]:
    """A content key of a graph: node count, edge count and a hash of the edge array
    (and of each node's account, when accounts shape the layout).

    Two models with the same set-up draw equal graphs (as new objects), so Reset finds
    the layout by what the graph is, not by which object holds it."""
    e = np.ascontiguousarray(edges, dtype=np.int64)
    h = hashlib.blake2b(e.tobytes(), digest_size=16)
    if account is not None:
        h.update(np.ascontiguousarray(account, dtype=np.int64).tobytes())
    return n, len(e), h.hexdigest()


class LayoutCache:
    """The graph layouts of one browser session, by graph content (`graph_key`).

    The page makes one per session and hands it to every model it builds (a fixed model
    parameter, like the strategies), so Reset with the same set-up reuses the layout
    while nothing is shared between sessions or kept at module level. It keeps the
    `size` layouts used last; `computed` counts the layouts it had to compute.
    """

    def __init__(self, size: int = 4) -> None:
        self.size = size
        self.computed = 0
        self._layouts: OrderedDict[tuple[int, int, str], GraphLayout] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._layouts)

    def get(self, n: int, edges: np.ndarray, account: np.ndarray | None = None) -> GraphLayout:
        """The layout of the graph with `n` nodes and `edges` (and each node's
        `account`, None without accounts), computed on first use."""
        key = graph_key(n, edges, account)
        with self._lock:
            layout = self._layouts.get(key)
            if layout is None:
                layout = graph_layout(n, edges, account)
                self.computed += 1
                self._layouts[key] = layout
                while len(self._layouts) > self.size:
                    self._layouts.popitem(last=False)
            self._layouts.move_to_end(key)
            return layout


def force_layout(
    n: int,
    edges: np.ndarray,
    iterations: int = 60,
    seed: int = 0,
    account: np.ndarray | None = None,
) -> np.ndarray:
    """A fast Fruchterman-Reingold layout of `n` nodes and (E, 2) `edges`: exact attraction
    along edges, repulsion from a random sample of nodes each iteration (O(n) per
    iteration instead of O(n^2)).

    `account` (each node's account; None: no accounts) pulls a buying group together:
    links between colleagues attract COLLEAGUE_PULL times as strongly, and colleagues
    also repel each other exactly (so a group is a tight cluster, not one dot)."""
    rng = np.random.default_rng(seed)
    pos = (rng.random((n, 2)) - 0.5).astype(np.float32)  # float32: half the memory traffic
    if n < 2:
        return (pos + 0.5).astype(float)
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    i, j = edges[:, 0], edges[:, 1]
    k = 1.0 / np.sqrt(n)
    if account is not None:
        same = account[i] == account[j]
        pull = np.where(same, COLLEAGUE_PULL, 1.0).astype(np.float32)
        push = np.where(same, k * k, 0.0).astype(np.float32)
    # repulsion from a sample: 40 others up to 2,000 buyers, fewer (down to 15) beyond,
    # which keeps a 10,000-buyer layout near 0.7 s with the same look
    sample = min(n - 1, max(15, min(40, 80_000 // n)))
    temperature = 0.1
    for _ in range(iterations):
        disp = np.zeros_like(pos)
        if edges.size:
            d = pos[i] - pos[j]
            if account is None:
                dist = np.sqrt((d**2).sum(1)) + 1e-9
                f = (dist / k)[:, None] * d
            else:
                d2 = (d**2).sum(1) + 1e-9
                f = (pull * np.sqrt(d2) / k - push / d2)[:, None] * d
            for axis in (0, 1):  # bincount: a scatter-add far faster than np.add.at
                disp[:, axis] += np.bincount(j, f[:, axis], n) - np.bincount(i, f[:, axis], n)
        others = rng.integers(0, n, (n, sample))
        dr = pos[:, None, :] - pos[others]
        rep = (k * k / ((dr**2).sum(2) + 1e-9))[:, :, None] * dr
        disp += rep.sum(1) * (n / sample)
        length = np.sqrt((disp**2).sum(1)) + 1e-9
        pos += disp / length[:, None] * np.minimum(length, temperature)[:, None]
        temperature *= 0.95
    lo, hi = pos.min(0), pos.max(0)
    return (0.03 + 0.94 * (pos - lo) / np.where(hi > lo, hi - lo, 1.0)).astype(float)


def _edge_background(
    n: int, edges: np.ndarray, pos: np.ndarray, account: np.ndarray | None = None
) -> np.ndarray:
    fig = Figure(figsize=(GRAPH_PX / DPI, GRAPH_PX / DPI), dpi=DPI)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    width = 0.4 if n <= 3000 else 0.2
    alpha = 0.35 if n <= 3000 else 0.15
    if edges.size:
        inside = (
            account[edges[:, 0]] == account[edges[:, 1]]
            if account is not None
            else np.zeros(len(edges), dtype=bool)
        )
        segs = np.stack([pos[edges[:, 0]], pos[edges[:, 1]]], axis=1)
        ax.add_collection(
            LineCollection(segs[~inside], colors="#9a9a9a", linewidths=width, alpha=alpha)
        )
        if inside.any():  # colleagues: darker, so an account reads as one group
            ax.add_collection(
                LineCollection(segs[inside], colors="#525252", linewidths=0.6, alpha=0.6)
            )
    canvas.draw()
    return np.asarray(canvas.buffer_rgba()).copy()


def graph_layout(n: int, edges: np.ndarray, account: np.ndarray | None = None) -> GraphLayout:
    """The layout of a graph of `n` nodes and (E, 2) `edges`, each node's `account`
    pulling buying groups together (None: no accounts); always computed: a session's
    `LayoutCache` keeps layouts for Reset."""
    pos = force_layout(n, edges, iterations=60 if n <= 5000 else 40, account=account)
    return GraphLayout(pos=pos, background=_edge_background(n, edges, pos, account))


# --------------------------------------------------------------------------- figures
# Each chart is one Figure per model, built on first use; a frame updates its artists'
# data and re-renders it (building axes, ticks and legends each frame costs 5-10x more).


def _stage_label(s: Stage) -> str:
    return s.label.replace("_", " ")


def _nice_max(x: float) -> float:
    """An axis top at or above x that changes in steps, not every week."""
    if x <= 0:
        return 1.0
    mag = 10 ** np.floor(np.log10(x))
    for f in (1, 1.5, 2, 3, 4, 5, 6, 8, 10):
        if f * mag >= x:
            return float(f * mag)
    return float(10 * mag)


class Chart:
    """A figure kept for the life of one model, updated in place each frame.

    Blitting: the static parts (axes, ticks, labels, legend, the graph's edges) are drawn
    once and kept as a pixel buffer; a frame restores it and draws only the artists that
    change (`self.animated`). `update` returns True when the static part changed too
    (an axis limit moved), which costs one full draw.
    """

    def __init__(self, model: VizModel) -> None:
        self.lock = threading.Lock()
        self.animated: list = []
        self.highlight: int | None = None  # a buyer to mark (the graph uses it)
        self.colour_by = COLOUR_BY[0]  # what the graph's dots show
        self.fig = self.build(model)
        for artist in self.animated:
            artist.set_animated(True)
        self.background = None

    def build(self, model: VizModel) -> Figure:  # pragma: no cover - abstract
        raise NotImplementedError

    def update(self, model: VizModel) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def png(
        self, model: VizModel, highlight: int | None = None, colour_by: str = COLOUR_BY[0]
    ) -> bytes:
        """The chart for the model's current state as PNG bytes; `highlight` marks a
        buyer and its buying group, `colour_by` (one of COLOUR_BY) colours the dots (on
        the graph)."""
        with self.lock:
            self.highlight = highlight
            self.colour_by = colour_by
            canvas = self.fig.canvas
            if self.update(model) or self.background is None:
                canvas.draw()
                self.background = canvas.copy_from_bbox(self.fig.bbox)
            else:
                canvas.restore_region(self.background)
            for artist in self.animated:
                self.fig.draw_artist(artist)
            rgba = np.asarray(canvas.buffer_rgba())
            buf = io.BytesIO()
            PIL.Image.fromarray(rgba[..., :3]).save(buf, format="png", compress_level=1)
            return buf.getvalue()


class GraphChart(Chart):
    """The referral graph: buyers coloured by stage (or by their group's stage, or their
    account's size class: `colour_by`); a buyer in the post-purchase stage is a larger
    diamond in the colour of the vendor bought from, and any earlier customer keeps a
    ring in its vendor's colour (it recommends or warns against that vendor). The
    picked buyer has a black ring, the other members of its buying group a thin one."""

    def build(self, model: VizModel) -> Figure:
        lay = model.layout
        side = GRAPH_PX / DPI
        legend_w = LEGEND_PX / DPI
        fig = Figure(figsize=(side + legend_w, side), dpi=DPI)
        FigureCanvasAgg(fig)
        ax = fig.add_axes((0, 0, side / (side + legend_w), 1))
        ax.set_axis_off()
        ax.imshow(lay.background, extent=(0, 1, 0, 1), interpolation="nearest", aspect="auto")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        n = model.n_buyers
        self.size = float(np.clip(9000.0 / n, 1.0, 16.0))
        self.stage_lut = np.array([STAGE_COLOURS[s] for s in Stage])
        self.vendor_lut = np.array([vendor_colour(i) for i in range(model.n_vendors)])
        # ring colours: index -1 (never bought) is transparent
        self.ring_lut = to_rgba_array([*self.vendor_lut, "none"])
        empty = np.zeros((0, 2))
        self.ring_width = min(1.0, self.size / 8)
        self.plain = ax.scatter(empty[:, 0], empty[:, 1], s=self.size, linewidths=0)
        self.bought = ax.scatter(
            empty[:, 0],
            empty[:, 1],
            s=self.size * 2.5,
            marker="D",
            linewidths=0.3,
            edgecolors="black",
        )
        accounts = model.accounts
        self.singletons = accounts.singletons
        self.start = accounts.start
        self.account = model.buyers.account
        size_lut = to_rgba_array([SIZE_COLOURS[c] for c in SIZE_CLASSES] + [SINGLE_COLOUR])
        self.size_rgba = size_lut[accounts.size_class[self.account]]  # -1: one-person
        stages = [
            Line2D([], [], ls="", marker="o", color=STAGE_COLOURS[s], label=_stage_label(s))
            for s in Stage
            if s != Stage.BOUGHT
        ]
        sizes = [
            Line2D([], [], ls="", marker="o", color=SIZE_COLOURS[c], label=_label(c))
            for c in SIZE_CLASSES
        ]
        vendors = [
            Line2D(
                [], [], ls="", marker="D", color=vendor_colour(i), mec="black", mew=0.3, label=name
            )
            for i, name in enumerate(model.vendor_names)
        ]
        note = "(diamond: just bought\nfrom vendor; ring:\nits customer)"
        titles = {
            COLOUR_BY[0]: ("stage\n" + note, stages),
            COLOUR_BY[1]: ("group stage (its\nfurthest member)\n" + note, stages),
            COLOUR_BY[2]: ("account size\n" + note, sizes),
        }
        self.legends = {
            mode: fig.legend(
                handles=handles + vendors,
                loc="center right",
                fontsize=8,
                frameon=False,
                handletextpad=0.2,
                title=title,
                title_fontsize=8,
                alignment="left",
            )
            for mode, (title, handles) in titles.items()
        }
        self.mode = COLOUR_BY[0]
        for mode, legend in self.legends.items():
            legend.set_visible(mode == self.mode)
        # the other members of the picked buyer's buying group: a thin black ring
        self.group = ax.scatter(
            empty[:, 0],
            empty[:, 1],
            s=max(30.0, 3 * self.size),
            facecolors="none",
            edgecolors="black",
            linewidths=0.8,
        )
        # the buyer whose journey card is open: a black ring (set by `highlight`)
        self.picked = ax.scatter(
            empty[:, 0],
            empty[:, 1],
            s=max(60.0, 6 * self.size),
            facecolors="none",
            edgecolors="black",
            linewidths=1.5,
        )
        self.animated = [self.plain, self.bought, self.group, self.picked]
        return fig

    def update(self, model: VizModel) -> bool:
        pos = model.layout.pos
        stage = model.buyers.stage
        incumbent = model.buyers.incumbent
        mode = (
            COLOUR_BY[0] if self.singletons or self.colour_by not in COLOUR_BY else self.colour_by
        )
        changed = mode != self.mode
        if changed:  # another legend: the static part is drawn again
            self.mode = mode
            for m, legend in self.legends.items():
                legend.set_visible(m == mode)
        bought = stage == Stage.BOUGHT
        plain = np.flatnonzero(~bought)
        self.plain.set_offsets(pos[plain])
        if mode == COLOUR_BY[1]:
            self.plain.set_facecolor(self.stage_lut[group_stage(stage, self.start)[plain]])
        elif mode == COLOUR_BY[2]:
            self.plain.set_facecolor(self.size_rgba[plain])
        else:
            self.plain.set_facecolor(self.stage_lut[stage[plain]])
        customer = incumbent[plain]
        self.plain.set_edgecolor(self.ring_lut[customer])
        self.plain.set_linewidth(np.where(customer >= 0, self.ring_width, 0.0))
        rows = np.flatnonzero(bought)
        self.bought.set_offsets(pos[rows] if rows.size else np.zeros((0, 2)))
        self.bought.set_facecolor(self.vendor_lut[incumbent[rows]] if rows.size else [])
        picked = self.highlight
        if picked is not None and picked < len(pos):
            self.picked.set_offsets(pos[[picked]])
            a = int(self.account[picked])
            members = np.arange(self.start[a], self.start[a + 1])
            self.group.set_offsets(pos[members[members != picked]])
        else:
            self.picked.set_offsets(np.zeros((0, 2)))
            self.group.set_offsets(np.zeros((0, 2)))
        return changed


class FunnelChart(Chart):
    """Buyers in each stage at the end of each week (idle buyers in the title)."""

    STAGES = tuple(s for s in Stage if s != Stage.IDLE)

    def build(self, model: VizModel) -> Figure:
        fig = Figure(figsize=(6, 3.3), dpi=DPI)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        fig.subplots_adjust(left=0.1, right=0.98, top=0.9, bottom=0.14)
        self.lines = {
            s: ax.plot([], [], color=STAGE_COLOURS[s], label=_stage_label(s))[0]
            for s in self.STAGES
        }
        ax.set_title("Stage funnel: buyers per stage (idle not shown)", fontsize=10)
        ax.set_xlabel("week", fontsize=8)
        ax.set_xlim(0, max(model.horizon, 1))
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7, loc="upper left", frameon=False, ncol=3)
        self.ax = ax
        self.top = 0.0
        self.animated = list(self.lines.values())
        return fig

    def update(self, model: VizModel) -> bool:
        # one read of the series: the play loop may finish a week meanwhile
        counts = np.array(model.recorder("weekly").stages, dtype=np.int64).reshape(-1, len(Stage))
        weeks = np.arange(1, len(counts) + 1)
        for s, line in self.lines.items():
            line.set_data(weeks, counts[:, s])
        top = _nice_max(1.25 * float(counts[:, 1:].max()) if len(weeks) else 1.0)
        if top == self.top:
            return False
        self.top = top
        self.ax.set_ylim(0, top)
        return True


class VendorsChart(Chart):
    """Conversions (cumulative) and win share per vendor over weeks."""

    def build(self, model: VizModel) -> Figure:
        fig = Figure(figsize=(6, 3.3), dpi=DPI)
        FigureCanvasAgg(fig)
        ax1, ax2 = fig.subplots(1, 2)
        fig.subplots_adjust(left=0.1, right=0.98, top=0.9, bottom=0.14, wspace=0.25)
        self.conv = [
            ax1.plot([], [], color=vendor_colour(i), label=name)[0]
            for i, name in enumerate(model.vendor_names)
        ]
        self.share = [ax2.plot([], [], color=vendor_colour(i))[0] for i in range(model.n_vendors)]
        ax1.set_title("Conversions (cumulative)", fontsize=10)
        ax2.set_title("Win share", fontsize=10)
        ax2.set_ylim(0, 1)
        for ax in (ax1, ax2):
            ax.set_xlim(0, max(model.horizon, 1))
            ax.set_xlabel("week", fontsize=8)
            ax.tick_params(labelsize=7)
        ax1.legend(fontsize=7, loc="upper left", frameon=False)
        self.ax1 = ax1
        self.top = 0.0
        self.animated = self.conv + self.share
        return fig

    def update(self, model: VizModel) -> bool:
        conv = np.array(model.recorder("weekly").conversions, dtype=float)
        conv = conv.reshape(-1, model.n_vendors)  # one read: see FunnelChart.update
        weeks = np.arange(1, len(conv) + 1)
        cum = np.cumsum(conv, axis=0)
        total = cum.sum(1, keepdims=True)
        share = np.divide(cum, total, out=np.full_like(cum, np.nan), where=total > 0)
        for i in range(model.n_vendors):
            self.conv[i].set_data(weeks, cum[:, i])
            self.share[i].set_data(weeks, share[:, i])
        top = _nice_max(1.4 * float(cum.max()) if cum.size else 1.0)
        if top == self.top:
            return False
        self.top = top
        self.ax1.set_ylim(0, top)
        return True


class SourceUseChart(Chart):
    """This week's consultations per research stage and source, as shares of the stage."""

    def build(self, model: VizModel) -> Figure:
        fig = Figure(figsize=(6, 3.0), dpi=DPI)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        fig.subplots_adjust(left=0.12, right=0.99, top=0.9, bottom=0.3)
        self.image = ax.imshow(
            np.zeros((3, len(CHANNELS))), cmap="Blues", vmin=0, vmax=0.45, aspect="auto"
        )
        ax.set_yticks(range(3), [s.label for s in RESEARCH_STAGES], fontsize=8)
        ax.set_xticks(range(len(CHANNELS)), [_short(c.label) for c in CHANNELS], rotation=35)
        for t in ax.get_xticklabels():
            t.set_horizontalalignment("right")
        ax.tick_params(axis="x", labelsize=7)
        self.cells = [
            [ax.text(c, r, "", ha="center", va="center", fontsize=7) for c in range(len(CHANNELS))]
            for r in range(3)
        ]
        marks = []  # IDC's top three, drawn over the (animated) heat map every frame
        for r, stage in enumerate(RESEARCH_STAGES):
            for rank, name in enumerate(IDC_TOP_THREE[stage]):
                c = CHANNEL_NAMES.index(name)
                marks.append(
                    ax.add_patch(
                        Rectangle(
                            (c - 0.46, r - 0.46), 0.92, 0.92, fill=False, ec="#d62728", lw=1.5
                        )
                    )
                )
                marks.append(
                    ax.text(
                        c + 0.42,
                        r - 0.42,
                        str(rank + 1),
                        color="#d62728",
                        fontsize=6,
                        ha="right",
                        va="top",
                    )
                )
        ax.set_title("Share of each stage's consultations this week (red: IDC top 3)", fontsize=10)
        self.animated = [self.image, *marks, *(t for row in self.cells for t in row)]
        return fig

    def update(self, model: VizModel) -> bool:
        use = np.asarray(model.recorder("source_use").week, dtype=float)
        rows = use.sum(1, keepdims=True)
        share = np.divide(use, rows, out=np.zeros_like(use), where=rows > 0)
        self.image.set_data(share)
        for r in range(3):
            for c in range(len(CHANNELS)):
                cell = self.cells[r][c]
                cell.set_text(f"{share[r, c]:.0%}" if use[r, c] else "")
                cell.set_color("white" if share[r, c] > 0.25 else "black")
        return False


class GroupsChart(Chart):
    """Buying groups, from the journeys recorder: the share of group journeys closed so
    far that ended in no decision, by reason, week by week (and the counts), and the
    share that ended in a purchase, by group size. Both axes are fixed (shares), so a
    frame only redraws the lines, bars and counts."""

    def build(self, model: VizModel) -> Figure:
        fig = Figure(figsize=(6, 3.0), dpi=DPI)
        FigureCanvasAgg(fig)
        ax1, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": (1.25, 1)})
        fig.subplots_adjust(left=0.09, right=0.98, top=0.8, bottom=0.16, wspace=0.28)
        self.lines = [
            ax1.plot([], [], color=colour, label=label)[0] for _, label, colour in REASON_LINES
        ]
        ax1.set_title(
            "No decision, by reason: share of group\njourneys closed (at line ends: how many)",
            fontsize=9,
        )
        ax1.set_xlim(0, max(model.horizon, 1))
        ax1.set_xlabel("week", fontsize=8)
        ax1.legend(fontsize=7, loc="upper right", frameon=False)
        self.ends = [  # each reason's count so far, at its line's end
            ax1.text(0, 0, "", color=colour, fontsize=7, va="center", clip_on=False)
            for _, _, colour in REASON_LINES
        ]
        self.max_size = int(model.accounts.size.max()) if model.accounts.n else 1
        sizes = np.arange(1, self.max_size + 1)
        self.bars = list(ax2.bar(sizes, np.zeros(sizes.size), color=STAGE_COLOURS[Stage.BOUGHT]))
        self.counts = (
            [ax2.text(x, 0.0, "", ha="center", va="bottom", fontsize=6) for x in sizes]
            if sizes.size <= 16
            else []
        )
        percent = ([0, 0.25, 0.5, 0.75, 1.0], ["0", "25%", "50%", "75%", "100%"])
        ax1.set_ylim(0, 1.0)
        ax2.set_ylim(0, 1.1)
        ax2.set_xlim(0.4, self.max_size + 0.6)
        ax2.set_xticks(sizes if sizes.size <= 16 else sizes[::2])
        ax2.set_xlabel("group size (above a bar: journeys)", fontsize=8)
        ax2.set_title("Purchase rate\nby group size", fontsize=9)
        for ax in (ax1, ax2):
            ax.set_yticks(*percent)
            ax.tick_params(labelsize=7)
        if model.accounts.singletons:
            fig.suptitle("One-person buying groups (no accounts in this scenario)", fontsize=9)
        else:
            fig.suptitle(
                f"Buying groups: {model.accounts.n:,} accounts; a vendor needs "
                f"{model.spec.accounts.consensus:.0%} of a group's weight",
                fontsize=9,
            )
        self.animated = [*self.lines, *self.ends, *self.bars, *self.counts]
        return fig

    def update(self, model: VizModel) -> bool:
        weeks = model.week  # first: a week the play loop adds meanwhile is left out
        closed = list(model.recorder("journeys").closed)  # one snapshot: see FunnelChart
        reasons = np.cumsum(reasons_by_week(closed, weeks), axis=0)
        end = _closed_column(closed, "end_week").astype(np.int64)
        total = np.cumsum(np.bincount(end[end < weeks], minlength=weeks)[:weeks])
        # shares from the MIN_CLOSED-th closed journey on (the first few say little)
        share = np.divide(
            reasons,
            total[:, None],
            out=np.full(reasons.shape, np.nan),
            where=total[:, None] >= MIN_CLOSED,
        )
        x = np.arange(1, weeks + 1)
        so_far = reasons[-1] if weeks else np.zeros(len(REASON_LINES), dtype=np.int64)
        for k, line in enumerate(self.lines):
            line.set_data(x, share[:, k])
            end = self.ends[k]
            if weeks and np.isfinite(share[-1, k]):
                end.set_position((weeks + 1.5, share[-1, k]))
                end.set_text(f"{so_far[k]:,}")
            else:
                end.set_text("")
        n, rate = purchase_rate_by_size(closed, self.max_size)
        for size, bar in enumerate(self.bars, start=1):
            bar.set_height(0.0 if np.isnan(rate[size]) else rate[size])
        for size, text in enumerate(self.counts, start=1):
            text.set_text(f"{n[size]:,}" if n[size] else "")
            text.set_y(0.0 if np.isnan(rate[size]) else rate[size])
        return False


class LoopChart(Chart):
    """One data-loop vendor: its channel mix (share of its channel budget) week by week,
    its adjustment weeks marked (solid: done; dotted: to come), and, per channel of its
    mix, the return it believed at its latest adjustment next to the true return from a
    truth file (`truth`, a `returns_table`'s input; none: believed only)."""

    def __init__(self, model: VizModel, vendor: int) -> None:
        self.vendor = vendor
        self.truth: Any = None  # the truth table to show (set before each frame)
        super().__init__(model)

    def build(self, model: VizModel) -> Figure:
        policy = model.loops[self.vendor]
        loop = policy.loop
        self.mix = [int(c) for c in policy.mix]
        self.name = model.vendor_names[self.vendor]
        self.cadence = int(loop.cadence_weeks)
        fig = Figure(figsize=(6, 3.3), dpi=DPI)
        FigureCanvasAgg(fig)
        ax1, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": (1.3, 1)})
        fig.subplots_adjust(left=0.08, right=0.98, top=0.84, bottom=0.27, wspace=0.3)
        horizon = max(model.horizon, 1)
        planned = planned_adjustments(loop.baseline_weeks, loop.cadence_weeks, model.horizon)
        if planned:  # to come: dotted (drawn once); done: solid, drawn over them
            ax1.vlines(np.array(planned) + 1, 0, 1, colors="#bdbdbd", linestyles=":", lw=0.8)
        self.marks = ax1.add_collection(LineCollection([], colors="black", linewidths=1.0))
        self.lines = [
            ax1.plot([], [], color=channel_colour(c), lw=1.4, label=_short_name(CHANNEL_NAMES[c]))[
                0
            ]
            for c in self.mix
        ]
        ax1.set_xlim(0, horizon)
        ax1.set_ylim(0, 1.32)  # the legend sits above the 100% line
        ax1.set_yticks([0, 0.25, 0.5, 0.75, 1.0], ["0", "25%", "50%", "75%", "100%"])
        ax1.set_xlabel("week (lines: adjustments)", fontsize=8)
        ax1.set_title("Channel mix (share of budget)", fontsize=9)
        ax1.legend(fontsize=6, loc="upper left", frameon=False, ncol=2, borderaxespad=0.2)
        x = np.arange(len(self.mix))
        self.believed = list(
            ax2.bar(x - 0.2, np.zeros(x.size), 0.4, color=vendor_colour(self.vendor))
        )
        self.true = list(ax2.bar(x + 0.2, np.zeros(x.size), 0.4, color=TRUE_COLOUR))
        self.ci = ax2.add_collection(LineCollection([], colors="black", linewidths=0.8))
        ax2.axhline(0, color="black", lw=0.5)
        ax2.set_xticks(x, [_short_name(CHANNEL_NAMES[c]) for c in self.mix], rotation=30)
        for t in ax2.get_xticklabels():
            t.set_horizontalalignment("right")
            t.set_fontsize(6)
        ax2.set_xlim(-0.6, max(len(self.mix), 1) - 0.4)
        ax2.legend(
            handles=[
                Rectangle((0, 0), 1, 1, color=vendor_colour(self.vendor), label="believed"),
                Rectangle((0, 0), 1, 1, color=TRUE_COLOUR, label="true"),
            ],
            fontsize=6,
            loc="upper right",
            frameon=False,
        )
        for ax in (ax1, ax2):
            ax.tick_params(labelsize=7)
        self.ax2 = ax2
        self.first = (loop.baseline_weeks + 1) if planned else None
        self.shown: tuple | None = None  # what the bars show (redrawn when it changes)
        fig.suptitle(f"DATA loop: {self.name}", fontsize=10)
        self.animated = [*self.lines, self.marks]
        return fig

    def update(self, model: VizModel) -> bool:
        weeks = model.week  # first: a week the play loop adds meanwhile is left out
        log = model.recorder("spend")
        mix = mix_over_weeks(log.channels[:weeks], self.vendor)
        x = np.arange(1, len(mix) + 1)
        for c, line in zip(self.mix, self.lines, strict=True):
            line.set_data(x, mix[:, c])
        beliefs = loop_beliefs(model)
        done = [w for w in adjustment_weeks(beliefs, self.name) if w < weeks]
        self.marks.set_segments([[(w + 1, 0.0), (w + 1, 1.0)] for w in done])
        key = (tuple(done), id(self.truth))
        if key == self.shown:
            return False
        self.shown = key
        table = returns_table(beliefs, self.name, self.truth, self.cadence)
        by = {r.channel: r for r in table.itertuples()}
        values, segs = [0.0], []
        for k, c in enumerate(self.mix):
            r = by.get(CHANNEL_NAMES[c])
            b = RETURN_PER * r.believed_return if r is not None else np.nan
            t = RETURN_PER * r.true_return if r is not None else np.nan
            self.believed[k].set_height(0.0 if np.isnan(b) else b)
            self.true[k].set_height(0.0 if np.isnan(t) else t)
            values += [v for v in (b, t) if np.isfinite(v)]
            if r is not None and np.isfinite(r.true_low) and np.isfinite(r.true_high):
                lo, hi = RETURN_PER * r.true_low, RETURN_PER * r.true_high
                segs.append([(k + 0.2, lo), (k + 0.2, hi)])
                values += [lo, hi]
        self.ci.set_segments(segs)
        top = _nice_max(1.15 * max(values))
        low = min(values)
        self.ax2.set_ylim(-_nice_max(-1.15 * low) if low < 0 else 0.0, top)
        if done:
            title = f"Return per {RETURN_PER:,.0f} spent,\nbelieved at week {done[-1] + 1}"
            if not table["true_return"].notna().any():
                title += " (no truth)"
        elif self.first is not None:
            title = f"Return per {RETURN_PER:,.0f} spent:\nfirst adjustment at week {self.first}"
        else:
            title = "No adjustment within the horizon"
        self.ax2.set_title(title, fontsize=9)
        return True


def _short(label: str) -> str:
    return label.split(" (")[0]


CHARTS: dict[str, type[Chart]] = {
    "graph": GraphChart,
    "funnel": FunnelChart,
    "vendors": VendorsChart,
    "sources": SourceUseChart,
    "groups": GroupsChart,
}


def chart_png(
    model: VizModel, name: str, highlight: int | None = None, colour_by: str = COLOUR_BY[0]
) -> bytes:
    """The PNG of chart `name` for the model's current week (`highlight`: a buyer to
    mark on the graph, with its buying group; `colour_by`: what the graph's dots show)."""
    chart = model.charts.get(name)
    if chart is None:
        chart = model.charts.setdefault(name, CHARTS[name](model))
    return chart.png(model, highlight, colour_by)


def loop_png(model: VizModel, vendor: int, truth: Any = None) -> bytes:
    """The PNG of data-loop vendor `vendor`'s chart (`LoopChart`) for the model's
    current week, with `truth` (a truth table; None: believed returns only)."""
    name = f"loop:{vendor}"
    chart = model.charts.get(name)
    if chart is None:
        chart = model.charts.setdefault(name, LoopChart(model, vendor))
    chart.truth = truth
    return chart.png(model)


def idc_ranking_markdown(model: BuyerJourneyModel) -> str:
    """IDC's top three sources per stage next to this week's simulated top three."""
    use = np.asarray(model.recorder("source_use").week)
    lines = []
    for r, stage in enumerate(RESEARCH_STAGES):
        idc = IDC_TOP_THREE[stage]
        if use[r].sum() == 0:
            now = "–"
        else:
            top = np.argsort(-use[r], kind="stable")[:3]
            names = [CHANNEL_NAMES[t] for t in top if use[r, t] > 0]
            now = ", ".join(f"**{_short_name(x)}**" if x in idc else _short_name(x) for x in names)
        lines.append(f"- *{stage.label}*: IDC {', '.join(_short_name(x) for x in idc)}; now {now}")
    lines.append("")
    lines.append("Bold: also in IDC's top three.")
    return "\n".join(lines)


def _short_name(channel: str) -> str:
    return _short(CHANNELS[CHANNEL_NAMES.index(channel)].label)


def vendor_table_markdown(model: VizModel) -> str:
    """Conversions, win share, revenue, spend and ROI per vendor, so far."""
    t = vendors_table(model)
    weekly = model.market.spend.sum(1)
    lines = [
        "| vendor | budget / wk | conversions | win share | revenue | spend | ROI |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for i, row in t.iterrows():
        roi = row["roi"]
        share = row["win_share"]
        lines.append(
            f"| {row['vendor']} | {weekly[i]:,.0f} | {int(row['conversions']):,} | "
            f"{'–' if np.isnan(share) else f'{share:.0%}'} | {row['revenue']:,.0f} | "
            f"{row['marketing_spend']:,.0f} | {'–' if not np.isfinite(roi) else f'{roi:.2f}'} |"
        )
    return "\n".join(lines)


# ------------------------------------------------------------------ clicks and buyers
def buyer_at(layout: GraphLayout, fx: float, fy: float) -> int | None:
    """The buyer under a click on the graph image.

    (fx, fy) is the click as fractions of the image's width and height from its top-left
    corner, whatever size the browser shows it at. The plot area is the image's left
    GRAPH_PX pixels (layout x 0..1 left to right, y 1..0 top to bottom); a click on the
    legend or far from every buyer picks nobody."""
    x = fx * (GRAPH_PX + LEGEND_PX) / GRAPH_PX
    y = 1.0 - fy
    if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
        return None
    return layout.nearest(x, y)


def _label(name: str) -> str:
    return name.replace("_", " ")


def journey_markdown(journey: dict[str, Any], last: int = CARD_TOUCHES) -> str:
    """A buyer's journey (`Buyer.journey()`) as the card's Markdown: who, where, which
    vendors with what preference, whose customer, and the `last` touches (one line each,
    so the card fits next to the graph)."""
    br = "  \n"  # a Markdown line break: compact lines, not paragraphs
    head = [
        f"**Buyer #{journey['buyer']}**: {_label(journey['seniority'])}, "
        f"stage **{_label(journey['stage'])}**"
    ]
    if journey["journey_id"] is None:
        head.append("No open journey.")
    else:
        head.append(
            f"Journey #{journey['journey_id']}: "
            f"{journey['research_share']:.0%} of its research done"
        )
    prefs = journey["preference"]
    considered = journey["considered"]
    if considered:
        said = ", ".join(f"{v} ({prefs.get(v, 0.0):+.2f})" for v in considered)
        head.append(f"Considering (preference): {said}")
    else:
        head.append("Considering: no vendor yet")
    head.append(f"Customer of: {journey['customer_of'] or 'no vendor yet'}")
    parts = [br.join(head)]
    touches = journey["touches"]
    if touches is None:
        if journey["journey_id"] is not None:
            parts.append("Touches are not recorded in this run.")
    elif not touches:
        parts.append("No touches yet in this journey.")
    else:
        lines = [f"Last touches ({min(last, len(touches))} of {len(touches)}):"]
        for week, channel, vendor in touches[-last:]:
            shown = f": {vendor}" if vendor else ""
            lines.append(f"week {int(week) + 1}, {_short_name(channel)}{shown}")
        parts.append(br.join(lines))
    return "\n\n".join(parts)


def _ret(x: float) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{RETURN_PER * x:,.1f}"


def loop_markdown(model: VizModel, vendor: int, table: Any, truth: Truth | None) -> str:
    """The DATA-loop panel's text for data-loop vendor `vendor`: its loop, its
    adjustments so far, believed vs true return per channel at its latest adjustment
    (`returns_table`) and where the truth comes from (or the note that there is none)."""
    br = "  \n"
    policy = model.loops[vendor]
    loop, name = policy.loop, model.vendor_names[vendor]
    tr = loop.tracking
    how = tr.method.replace("_", " ")
    if tr.method != "point_of_sale":
        how += f", {tr.attribution.replace('_', ' ')}"
    head = [
        f"**{name}** measures with {how} tracking (objective: {loop.objective}); adjusts "
        f"at week {loop.baseline_weeks + 1} and every {loop.cadence_weeks} weeks after, "
        f"on the last {loop.window_weeks} weeks, moving at most {loop.max_shift:.0%} of "
        f"the budget (each channel keeps {loop.exploration:.0%})."
    ]
    if model.vendors[vendor].policy is not policy:
        head.append("Its mix was set by hand in this session: the loop is off.")
    done = sorted({int(w) for w in table["week"]}) if len(table) else []
    weeks = adjustment_weeks(loop_beliefs(model), name)
    if weeks:
        head.append(f"Adjusted at week {', '.join(str(w + 1) for w in weeks)}.")
    else:
        head.append("No adjustment yet.")
    parts = [br.join(head)]
    if done:
        has_truth = bool(table["true_return"].notna().any())
        lines = [
            f"Return per {RETURN_PER:,.0f} spent at week {done[-1] + 1} "
            f"({loop.objective}), believed{' vs true' if has_truth else ''}:",
            "",
            "| channel | share before | after | believed | true (95% CI) |",
            "|---|---:|---:|---:|---:|",
        ]
        for r in table.itertuples():
            true = _ret(r.true_return)
            if true != "n/a" and np.isfinite(r.true_low) and np.isfinite(r.true_high):
                true += f" ({_ret(r.true_low)} to {_ret(r.true_high)})"
            lines.append(
                f"| {_short_name(r.channel)} | {r.share_before:.0%} | {r.share_after:.0%} "
                f"| {_ret(r.believed_return)} | {true} |"
            )
        parts.append("\n".join(lines))
    if truth is None:
        parts.append(f"*{NO_TRUTH_NOTE}.*")
    elif truth.table is None:
        parts.append(f"*{truth.problem}; {NO_TRUTH_NOTE}.*")
    else:
        src = table.dropna(subset=["oracle"]) if len(table) else table
        if len(src):
            r = src.iloc[0]
            parts.append(
                f"*True returns: {truth.path}, oracle {r['oracle']} at week "
                f"{int(r['truth_week']) + 1} (counterfactual runs of the study's market, "
                "at the oracle's own mix).*"
            )
        else:
            parts.append(f"*Truth file {truth.path}: no row for these channels and weeks yet.*")
    return "\n\n".join(parts)


def _votes_text(votes: dict[str, float] | None, digits: int = 0) -> str:
    if not votes:
        return "the votes were not kept"
    ranked = sorted(votes.items(), key=lambda kv: -kv[1])
    return "votes were " + ", ".join(f"{option} {share:.{digits}%}" for option, share in ranked)


def decision_text(decision: dict[str, Any] | None) -> str:
    """One line on how a group's last journey ended (`last_decision`), and why when it
    ended in no decision."""
    if decision is None:
        return "No group decision yet."
    head = f"Last decision (week {decision['week'] + 1}): "
    votes = _votes_text(decision["votes"])
    if decision["vendor"] is not None:
        return head + f"bought from **{decision['vendor']}** ({votes})."
    if decision["reason"] == "no_consensus":
        share = decision["consensus"] or 0.0
        lead = max(
            (x for o, x in (decision["votes"] or {}).items() if o != "status quo"), default=0
        )
        if round(100 * lead) >= round(100 * share):  # 66.7% of 67%: show it as short
            votes = _votes_text(decision["votes"], digits=1)
        why = f"no vendor had the backing of {share:.0%} of the group's weight: {votes}"
    else:
        why = f"the status quo had the most support ({votes})"
    return head + f"**no decision**: {why}."


def account_markdown(account: dict[str, Any], decision: dict[str, Any] | None) -> str:
    """The account card: a buyer's account (`Buyer.account_summary()`: size class, group
    size, the group's stage, each member's stage and research done) and how its last
    group journey ended (`last_decision`), with the reason for a no decision."""
    br = "  \n"
    if account["size_class"] is None and account["group_size"] == 1:
        head = [
            "**One-person buying group**: this buyer decides alone (the scenario has no accounts)"
        ]
    else:
        size = _label(account["size_class"] or "one-person")
        head = [
            f"**Account #{account['account']}**: {size}, buying group of "
            f"{account['group_size']}, group stage **{_label(account['group_stage'])}**"
        ]
        for m in account["members"]:
            share = m["research_share"]
            done = "" if share is None else f", {share:.0%} researched"
            lead = " (lead)" if m["lead"] else ""
            head.append(
                f"buyer #{m['buyer']}{lead}, {_label(m['seniority'])}: {_label(m['stage'])}{done}"
            )
    return br.join(head) + "\n\n" + decision_text(decision)


#: The graph image in a Vue template that reports where it was clicked, as fractions of
#: the image's box (the browser may show it scaled); `clicked` calls `vue_clicked`.
CLICK_TEMPLATE = """
<template>
  <div class="bjs-graph" style="line-height: 0; cursor: pointer" @click="on_click">
    <jupyter-widget :widget="image" />
  </div>
</template>
<script>
module.exports = {
  methods: {
    on_click(event) {
      const img = event.target && event.target.closest ? event.target.closest("img") : null;
      if (!img) { return; }
      const box = img.getBoundingClientRect();
      if (!box.width || !box.height) { return; }
      this.clicked({
        x: (event.clientX - box.left) / box.width,
        y: (event.clientY - box.top) / box.height,
      });
    },
  },
};
</script>
"""


class ClickableImage(v.VuetifyTemplate):
    """An image widget that reports clicks: `callback(fx, fy)` with the click's position
    as fractions of the image's width and height (ipywidgets.Image has no click event;
    this template reads the click's offset in the browser)."""

    template = traitlets.Unicode(CLICK_TEMPLATE).tag(sync=True)
    image = traitlets.Instance(ipywidgets.Widget, allow_none=True).tag(
        sync=True, **ipywidgets.widget_serialization
    )
    callback = traitlets.Any(None, allow_none=True)

    def vue_clicked(self, data: dict[str, Any]) -> None:
        """Called from the browser with {x, y} fractions of the image's box."""
        if self.callback is None:
            return
        try:
            fx, fy = float(data["x"]), float(data["y"])
        except (KeyError, TypeError, ValueError):
            return
        self.callback(fx, fy)


# ------------------------------------------------------------------------ components
def _png_widget(png: bytes) -> Any:
    # the layout as an element: reacton keeps one Layout widget per image across frames
    # (a Layout object made here would be a new widget, and a new comm, every frame)
    return ipywidgets.Image.element(
        value=png,
        format="png",
        layout=ipywidgets.Layout.element(max_width="100%", height="auto", object_fit="contain"),
    )


@solara.component
def PngImage(model: VizModel, name: str):
    """A chart image, re-rendered only when the model or its week changed."""
    update_counter.get()  # SolaraViz bumps it after each step: redraw then
    png = solara.use_memo(lambda: chart_png(model, name), dependencies=[model, model.week])
    return _png_widget(png)


@solara.component
def GraphView(
    model: VizModel, picked: solara.Reactive[int | None], colour_by: solara.Reactive[str]
):
    """The referral graph; a click on a buyer opens its journey card (`BuyerView`). With
    accounts, the dots can show the buyer's stage, its group's or its account's size."""
    update_counter.get()
    row = picked.value if picked.value is not None and picked.value < model.n_buyers else None
    groups = not model.accounts.singletons
    mode = colour_by.value if groups and colour_by.value in COLOUR_BY else COLOUR_BY[0]
    png = solara.use_memo(
        lambda: chart_png(model, "graph", row, mode),
        dependencies=[model, model.week, row, mode],
    )

    def on_click(fx: float, fy: float) -> None:
        hit = buyer_at(model.layout, fx, fy)
        if hit is not None:
            picked.set(hit)

    who = (
        f"{model.n_buyers:,} buyers in {model.accounts.n:,} accounts"
        if groups
        else f"{model.n_buyers:,} buyers, one-person buying groups"
    )
    with solara.Column(gap="0px") as main:
        solara.Markdown(
            f"**Referral graph** – week {model.week}, {who} "
            "(click a buyer to follow its journey and its group)"
        )
        if groups:  # account-only control
            with solara.Row(gap="8px", style={"align-items": "center", "font-size": "12px"}):
                solara.Text("Colour by:")
                solara.ToggleButtonsSingle(
                    value=mode, values=list(COLOUR_BY), on_value=colour_by.set, dense=True
                )
        ClickableImage.element(image=_png_widget(png), callback=on_click)
    return main


@solara.component
def BuyerView(model: VizModel, picked: solara.Reactive[int | None]):
    """The journey card of the buyer clicked on the graph (or typed in: "Buyer #")."""
    update_counter.get()
    row = picked.value if picked.value is not None and picked.value < model.n_buyers else None

    def on_number(value: int | None) -> None:
        if value is None or 0 <= value < model.n_buyers:
            picked.set(value)

    # the grid cell has a fixed height: a long card scrolls inside it
    style = {"font-size": "12px", "height": "100%", "overflow-y": "auto"}
    with solara.Column(gap="4px", style=style) as main:
        solara.Markdown("**Buyer journey**")
        solara.InputInt(
            label=f"Buyer # (0-{model.n_buyers - 1}; or click the graph)",
            value=row,
            on_value=on_number,
            optional=True,
            clearable=True,
            dense=True,
        )
        if row is None:
            solara.Markdown("Click a buyer on the referral graph to see its journey here.")
        else:
            journey = model.buyer(row).journey()
            with solara.Card(margin=0, elevation=1, classes=["bjs-buyer-card", "pa-2"]):
                solara.Markdown(journey_markdown(journey))
            account = journey["account"]
            with solara.Card(margin=0, elevation=1, classes=["bjs-account-card", "pa-2"]):
                solara.Markdown(account_markdown(account, last_decision(model, account["account"])))
    return main


@solara.component
def FunnelView(model: VizModel):
    return PngImage(model, "funnel")


@solara.component
def VendorsView(model: VizModel):
    return PngImage(model, "vendors")


@solara.component
def GroupsView(model: VizModel):
    return PngImage(model, "groups")


@solara.component
def SourceUseView(model: VizModel):
    update_counter.get()
    with solara.Column(gap="0px", style={"font-size": "12px"}) as main:
        PngImage(model, "sources")
        solara.Markdown(
            "**IDC ranking** (Social Buying Study 2014) vs this week's top three\n\n"
            + idc_ranking_markdown(model)
        )
    return main


@solara.component
def VendorTableView(model: VizModel):
    update_counter.get()
    with solara.Column(gap="4px", style={"font-size": "12px"}) as main:
        solara.Markdown(f"**Vendors after week {model.week} of {model.horizon}**")
        solara.Markdown(vendor_table_markdown(model))
        if model.notice:
            solara.Warning(model.notice)
    return main


@solara.component
def LoopPanel(
    model: VizModel, vendor: solara.Reactive[str | None], truth_file: solara.Reactive[str]
):
    """The DATA-loop panel: a data-loop vendor (a select if several) with its mix over the
    weeks, its adjustments, and believed vs true returns (`LoopChart`, `loop_markdown`)."""
    update_counter.get()
    adaptive = list(model.loops)
    names = [model.vendor_names[i] for i in adaptive]
    name = vendor.value if vendor.value in names else names[0]
    index = adaptive[names.index(name)]
    truth = model_truth(model, truth_file.value)
    table = truth.table if truth is not None else None
    png = solara.use_memo(
        lambda: loop_png(model, index, table),
        dependencies=[model, model.week, index, id(table)],
    )
    returns = returns_table(loop_beliefs(model), name, table, model.loops[index].loop.cadence_weeks)
    style = {"font-size": "12px", "height": "100%", "overflow-y": "auto"}
    with solara.Column(gap="4px", style=style, classes=["bjs-loop-panel"]) as main:
        solara.Markdown(f"**DATA loop** – week {model.week}: the adaptive vendor's mix and beliefs")
        if len(names) > 1:
            solara.Select(
                label="Adaptive vendor", value=name, values=names, on_value=vendor.set, dense=True
            )
        _png_widget(png)
        solara.Markdown(loop_markdown(model, index, returns, truth))
    return main


@solara.component
def LoopView(
    model: VizModel, vendor: solara.Reactive[str | None], truth_file: solara.Reactive[str]
):
    """The DATA-loop panel when the scenario has data-loop vendors; nothing otherwise
    (not redrawn after each step: only the panel follows SolaraViz's step counter)."""
    if model.loops:
        return LoopPanel(model, vendor, truth_file)
    return solara.Column(gap="0px")


@solara.component
def LoopControls(
    model: solara.Reactive[VizModel], setup: LoopSetup, truth_file: solara.Reactive[str]
):
    """The DATA-loop set-up: a study file's policy variant (on Reset) and the truth
    file (at once). Shown only for a study file or a scenario with data-loop vendors."""
    m = model.value
    variant, set_variant = solara.use_state(setup.variant)

    def choose(value: str) -> None:
        setup.variant = value
        set_variant(value)

    with solara.Column(gap="0px") as main:
        if m.study_variants or m.loops:
            with solara.Card("DATA loop"):
                if m.study_variants:
                    solara.Select(
                        label="Policy variant (on Reset)",
                        value=variant if variant in m.study_variants else m.study_variant,
                        values=list(m.study_variants),
                        on_value=choose,
                    )
                    solara.Text(f"running: {m.study_variant}", style={"font-size": "12px"})
                solara.InputText(
                    label="Truth file (run.py dataloop's dataloop_truth.csv)",
                    value=truth_file.value,
                    on_value=truth_file.set,
                )
                solara.Text(
                    f"empty: {TRUTH_FILE} next to the scenario file, if there is one",
                    style={"font-size": "12px"},
                )
    return main


def _budget_max(budget: float) -> float:
    return float(max(50_000.0, 2.0 * budget))


@solara.component
def StrategyControls(model: solara.Reactive[VizModel], strategies: Strategies):
    """Each vendor's weekly budget and channel mix; changes apply from the next week on."""
    m = model.value
    selected, set_selected = solara.use_state(m.vendor_names[0])
    if selected not in m.vendor_names:
        selected = m.vendor_names[0]
    index = m.vendor_names.index(selected)
    current = strategies.get(m, index)

    def set_budget(value: float) -> None:
        s = strategies.get(model.value, index)
        strategies.set(model.value, index, Strategy(float(value), dict(s.mix)))

    def setter(channel: str):
        def set_share(value: float) -> None:
            s = strategies.get(model.value, index)
            mix = dict(s.mix)
            mix[channel] = float(value)
            strategies.set(model.value, index, Strategy(s.weekly_budget, mix))

        return set_share

    with solara.Card("Vendor strategy (applies now)"):
        solara.Select(
            label="Vendor", value=selected, values=list(m.vendor_names), on_value=set_selected
        )
        if index in m.loops and m.vendors[index].policy is m.loops[index]:
            solara.Text(
                "Its DATA loop sets its mix; a change here replaces the loop with a fixed plan.",
                style={"font-size": "12px"},
            )
        # keyed by scenario and vendor so that switching vendor shows its own values
        tag = f"{m.scenario_file}:{selected}"
        solara.SliderFloat(
            label="Weekly budget",
            value=current.weekly_budget,
            on_value=set_budget,
            min=0.0,
            max=_budget_max(current.weekly_budget),
            step=500.0,
        ).key(f"budget:{tag}")
        total = sum(current.mix.values()) or 1.0
        for c in PAID_CHANNELS:
            name = CHANNEL_NAMES[c]
            solara.SliderFloat(
                label=f"Mix: {CHANNELS[c].label.split(' (')[0]}",
                value=round(current.mix.get(name, 0.0) / total, 2),
                on_value=setter(name),
                min=0.0,
                max=1.0,
                step=0.05,
            ).key(f"mix:{name}:{tag}")


def model_params(
    scenario: Scenario,
    scenario_path: str,
    buyers: int,
    strategies: Strategies,
    layouts: LayoutCache,
    loop: LoopSetup | None = None,
) -> dict[str, Any]:
    """SolaraViz's set-up controls (applied on Reset) and the session's fixed parameters
    (strategy overrides, layout cache), which SolaraViz hands to every model it builds."""
    kinds = list(GRAPH_KINDS) + (["file"] if scenario.network.kind == "file" else [])
    return {
        "scenario_file": {"type": "InputText", "value": scenario_path, "label": "Scenario file"},
        "buyers": {
            "type": "SliderInt",
            "value": buyers,
            "min": 100,
            "max": max(20_000, buyers),
            "step": 100,
            "label": "Buyers (on Reset)",
        },
        "graph": {
            "type": "Select",
            "value": scenario.network.kind,
            "values": kinds,
            "label": "Graph type (on Reset)",
        },
        "seed": {"type": "InputText", "value": str(scenario.seed), "label": "Seed (on Reset)"},
        "strategies": strategies,
        "layouts": layouts,
        "loop": loop if loop is not None else LoopSetup(),
    }


def session_views(
    picked: solara.Reactive[int | None],
    colour_by: solara.Reactive[str],
    loop_vendor: solara.Reactive[str | None] | None = None,
    truth_file: solara.Reactive[str] | None = None,
) -> list[Callable]:
    """The main area's views of one session; the graph and the journey card share the
    session's picked buyer (and the graph its colouring), the DATA-loop panel (empty
    without data-loop vendors, last so it sits beside the vendor table) the chosen
    adaptive vendor and the sidebar's truth file. (SolaraViz calls each view with
    the model only, and wraps a plain function in a new component class on every render,
    so these are components.)"""

    @solara.component
    def ReferralGraphView(model: VizModel):
        return GraphView(model, picked, colour_by)

    @solara.component
    def BuyerJourneyView(model: VizModel):
        return BuyerView(model, picked)

    vendor = loop_vendor if loop_vendor is not None else solara.reactive(None)
    truth = truth_file if truth_file is not None else solara.reactive("")

    @solara.component
    def DataLoopView(model: VizModel):
        return LoopView(model, vendor, truth)

    return [
        ReferralGraphView,
        BuyerJourneyView,
        FunnelView,
        VendorsView,
        GroupsView,
        SourceUseView,
        VendorTableView,
        DataLoopView,
    ]


@solara.component
def Page():
    """One model per browser session, built when the page opens; the session's state
    (strategy overrides, layout cache, picked buyer) lives here, not at module level."""

    def first_model():
        path = initial_scenario_path()
        scenario, _ = load_view_scenario(path)
        strategies = Strategies()
        layouts = LayoutCache()
        loop = LoopSetup()
        buyers = initial_buyers(scenario)
        model = VizModel(
            path, buyers, scenario.network.kind, scenario.seed, strategies, layouts, loop
        )
        params = model_params(scenario, path, buyers, strategies, layouts, loop)
        return model, params, strategies, loop

    initial, params, strategies, loop = solara.use_memo(first_model, [])
    model = solara.use_reactive(initial)
    picked = solara.use_reactive(None)
    colour_by = solara.use_reactive(COLOUR_BY[0])
    loop_vendor = solara.use_reactive(None)
    truth_file = solara.use_reactive("")
    views = solara.use_memo(lambda: session_views(picked, colour_by, loop_vendor, truth_file), [])
    SolaraViz(
        model,
        components=list(views),
        model_params=params,
        name="B2B buyer journeys",
        play_interval=150,
    )
    with solara.Sidebar():
        StrategyControls(model, strategies)
        LoopControls(model, loop, truth_file)


page = Page
