"""BuyerJourneyModel: one Mesa model run, one step = one week.

The model wires four things together and owns none of the rules:

- the state (sim/state.py): `model.buyers` (BuyerState), `model.accounts` (AccountState)
  and `model.market` (VendorState);
- the week's processes (sim/processes/), run in order by `step()`;
- the Mesa agents (sim/agents.py): Vendor agents own their strategy and act first each
  week; Buyer agents are the face of each buyer's row on the referral graph;
- the recorders (sim/recorders.py), which keep what the run produces.

Randomness: the run's Generator (`model.rng`, seeded with the run seed) spawns one stream
per purpose (sim.processes.CORE_STREAMS, then any stream an added process declares).
The paired-draw rule in sim/processes/base.py keeps every stream's draws independent of
the vendors' strategies, so strategy comparisons and counterfactual runs are paired.
Updates within a week are synchronous where it matters: every buyer sees the neighbours'
opinions and the review scores as they stood when the rule began.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import mesa
import numpy as np

from sim.agents import Buyer, Vendor, create_buyers
from sim.channels import REFERENCE_AUDIENCE, channel_arrays
from sim.network import ReferralGraph, build_referral_graph, with_colleagues
from sim.processes import CORE_STREAMS, Process, Week, default_processes
from sim.processes.needs import file_first_needs
from sim.recorders import Recorder, default_recorders
from sim.scenario import Scenario, ScenarioError
from sim.spinup import spin_up
from sim.state import VendorState, draw_population

_MISSING = object()


class BuyerJourneyModel(mesa.Model):
    """B2B buyers researching and choosing vendors on a referral graph.

    Args:
        scenario: a validated Scenario.
        seed: the run seed; defaults to the scenario's seed.
        record_touches: keep every Touch (needed for the touch table and attribution).
        processes: the week's rules in order (default: `default_processes()`).
        recorders: what to record (default: `default_recorders(record_touches)`).

    `model.step()` advances one week; `model.run()` runs the scenario's horizon;
    `model.tables()` returns the tidy result tables.
    """

    def __init__(
        self,
        scenario: Scenario,
        seed: int | None = None,
        record_touches: bool = True,
        processes: Sequence[Process] | None = None,
        recorders: Sequence[Recorder] | None = None,
    ) -> None:
        self.seed = int(scenario.seed if seed is None else seed)
        super().__init__(rng=self.seed)
        self.spec = scenario
        self.streams: dict[str, np.random.Generator] = dict(
            zip(CORE_STREAMS, self.rng.spawn(len(CORE_STREAMS)), strict=True)
        )
        self.week = 0
        self.horizon = scenario.weeks
        self.channels = channel_arrays(scenario.channel_table())
        #: real buyers each simulated buyer stands for (counts and money scale by it)
        self.market_scale = scenario.market_buyers / scenario.buyers.count
        #: the market's size against the channel table's reference audience
        self.audience = scenario.market_buyers / REFERENCE_AUDIENCE
        self.vendor_names = scenario.vendor_names()
        effort = scenario.buyers.stage_effort
        self.stage_effort = np.array([effort.early, effort.middle, effort.final])
        self.market = VendorState.from_scenario(scenario)
        self.vendors = [Vendor(self, i, v) for i, v in enumerate(scenario.vendors)]
        self.buyers, self.accounts = draw_population(
            scenario, len(self.vendors), self.streams["population"]
        )
        self._setup_graph()
        self._track_v3(scenario)
        file_first_needs(self)
        #: the spin-up is playing (sim/spinup.py): nothing is recorded, measured or learnt
        self.spinning = False
        self.spin_up_weeks = 0
        self._enter = np.array([v.enter_week for v in scenario.vendors])
        self._exit = np.array([v.exit_week or np.iinfo(np.int64).max for v in scenario.vendors])
        self.processes: list[Process] = []
        for p in default_processes() if processes is None else processes:
            self.add_process(p)
        spin_up(self, scenario.market.spin_up_weeks)
        self.recorders: list[Recorder] = []
        for r in default_recorders(record_touches) if recorders is None else recorders:
            self.add_recorder(r)

    # ----------------------------------------------------------------- set-up
    def _setup_graph(self) -> None:
        """The referral graph (CSR adjacency) and one Buyer agent per node."""
        sc = self.spec
        graph_seed = int(self.streams["population"].integers(2**31 - 1))
        path = sc.graph_path()
        ref: ReferralGraph = build_referral_graph(
            sc.network, sc.buyers.count, graph_seed, None if path is None else str(path)
        )
        if not self.accounts.singletons:
            ref = with_colleagues(ref, self.accounts.start, sc.accounts.colleague_links, graph_seed)
        n_nodes = ref.n
        if n_nodes != self.buyers.n:
            raise ScenarioError(
                sc.source,
                "buyers.count",
                f"the graph file has {n_nodes} nodes but buyers.count is "
                f"{self.buyers.n}; set buyers.count = {n_nodes}",
            )
        self.referral_graph = ref
        self.adjacency = ref.adjacency
        self._grid = None
        self.buyer_agents = create_buyers(self, self.buyers.n)

    def _track_v3(self, sc: Scenario) -> None:
        """Allocate what market v3's rules keep (only for the rules the scenario uses)."""
        deals = any(v.contract_value is not None for v in sc.vendors)
        if sc.consideration.on or sc.referrals.strict or deals:
            self.accounts.track_consideration(self.market.n)
        if sc.referrals.strict:
            self.buyers.outside_opinion = np.zeros_like(self.buyers.neighbour_opinion)

    @property
    def grid(self):
        """Mesa's Network cell space on the referral graph, built on first use (the live
        view, users poking at cells): at a million buyers it costs more than the run."""
        if self._grid is None:
            from mesa.discrete_space import Network

            self._grid = Network(self.referral_graph.to_networkx(), layout=None, random=self.random)
        return self._grid

    def add_process(self, process: Process, after: str | None = None) -> None:
        """Add a rule to the week (at the end, or right after the process named `after`).

        A stream the process declares that the model does not have yet is spawned from
        the run's Generator (after the core streams, in the order processes join)."""
        for name in process.streams:
            if name not in self.streams:
                self.streams[name] = self.rng.spawn(1)[0]
        process.bind(self)
        if after is None:
            self.processes.append(process)
            return
        names = [p.name for p in self.processes]
        if after not in names:
            raise ValueError(f"no process named {after!r}; processes: {', '.join(names)}")
        self.processes.insert(names.index(after) + 1, process)

    def add_recorder(self, recorder: Recorder) -> None:
        """Register a recorder: it sees every week from now on and adds its table."""
        if any(r.name == recorder.name for r in self.recorders):
            raise ValueError(f"a recorder named {recorder.name!r} is already registered")
        recorder.start(self)
        self.recorders.append(recorder)

    def recorder(self, name: str, default: Any = _MISSING) -> Any:
        """The registered recorder called `name`."""
        for r in self.recorders:
            if r.name == name:
                return r
        if default is not _MISSING:
            return default
        names = ", ".join(r.name for r in self.recorders)
        raise KeyError(f"no recorder named {name!r} is registered (registered: {names})")

    # ------------------------------------------------------------------ step
    def step(self) -> None:
        """One week: vendors put their plans in force and pay for them, then the week's
        processes run in order and the recorders take note."""
        week = self.play_week()
        for recorder in self.recorders:
            recorder.record(self, week)
        self.week += 1
        if self.week >= self.horizon:
            self.running = False
            for recorder in self.recorders:
                recorder.finish(self)

    def play_week(self) -> Week:
        """The week's play without the recorders: who is in the market, the vendors'
        plans and their cost, then the processes in order (the spin-up plays these)."""
        # the spin-up plays weeks before 0: a vendor in the market from week 0 is in it
        calendar_week = self.week - self.spin_up_weeks if self.spinning else self.week
        entered = self._enter <= max(calendar_week, 0)
        self.market.present[:] = entered & (calendar_week < self._exit)
        for vendor in self.vendors:
            vendor.step()
        self.market.pay_week()
        touches = any(r.wants_touches for r in getattr(self, "recorders", ()))
        week = Week(
            self.week,
            self.market.n,
            record_touches=touches,
            name_referrals=touches or any(p.reads_referral_names for p in self.processes),
        )
        for process in self.processes:
            process.run(self, week)
        return week

    def run(self, progress=None) -> BuyerJourneyModel:
        """Step to the scenario's horizon; `progress(week)` is called after each week."""
        while self.running:
            self.step()
            if progress is not None:
                progress(self.week)
        return self

    # ---------------------------------------------------------------- results
    @property
    def n_buyers(self) -> int:
        return self.buyers.n

    @property
    def n_vendors(self) -> int:
        return self.market.n

    @property
    def conversions(self) -> np.ndarray:
        """Purchases won so far, per vendor."""
        return self.market.conversions

    def buyer(self, row: int) -> Buyer:
        """The Buyer agent of graph node / state row `row`."""
        return self.buyer_agents[row]

    def vendor(self, name: str) -> Vendor:
        """The Vendor agent called `name`."""
        for v in self.vendors:
            if v.name == name:
                return v
        raise KeyError(f"no vendor named {name!r}; vendors: {', '.join(self.vendor_names)}")

    def marketing_spend(self) -> np.ndarray:
        """Each vendor's spend so far: channels, social selling, referral rewards."""
        return self.market.marketing_spend()

    def tables(self) -> dict[str, Any]:
        """The run's tidy tables: buyers, journeys, touches, weekly, source_use, spend,
        vendors (the ones whose recorders are registered)."""
        from sim.tables import build_tables

        return build_tables(self)
