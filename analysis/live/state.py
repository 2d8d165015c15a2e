"""A live view session's model and settings: the vendors' live strategies, the scenario
with the view's set-up applied, and `VizModel`, the core model the page runs.

A strategy changed in the sidebar goes to the model through the vendor's own agent
(`Vendor.set_plan`), so the core books the spend week by week; the session keeps it
(`Strategies`) so it also holds after Reset.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from analysis.live.groups import use_voting_decision
from analysis.live.inputs import initial_scenario_path, parse_seed
from analysis.live.layout import LayoutCache, graph_layout
from analysis.live.loop import LoopSetup, Truth, load_view_scenario
from sim.channels import CHANNEL_NAMES
from sim.model import BuyerJourneyModel
from sim.policies import DataLoopPolicy
from sim.scenario import Scenario, ScenarioError

if TYPE_CHECKING:
    from analysis.live.charts import Chart


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
