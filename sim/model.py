"""BuyerJourneyModel: one Mesa model run, one step = one week.

Buyer state lives in numpy arrays the model owns (one row per buyer, one column per
vendor where needed); Buyer agents are Mesa agents on the referral graph's cells that
read their row. Each rule of the model is a small method over the arrays of the buyers it
concerns, with the sentence of DESIGN.md it implements as its docstring. Updates within a
week are synchronous: every buyer sees the state at the start of the week (neighbours'
opinions, review scores).

Randomness: the run's Generator (`model.rng`, seeded with the run seed) spawns one stream
per purpose (population, need, source, exposure, social selling, decision). Each week
every stream draws arrays whose shape is fixed by the journey timeline alone: need
waiting times for the buyers who just became idle (one geometric draw per idle spell),
source and exposure draws for every consultation of the buyers in market, social-selling
draws for the joiners in market, decision draws for the buyers finishing the final stage.
Vendors' strategies never change that timeline (journey timing depends on need and
research only), so a run that changes one vendor's spend draws the very same numbers for
every decision: counterfactual runs and strategy comparisons are paired.
"""

from __future__ import annotations

from dataclasses import dataclass

import mesa
import numpy as np
import pandas as pd
from mesa.discrete_space import Network
from scipy.special import ndtri

from sim.agents import Buyer, Vendor
from sim.calendar import Calendar
from sim.channels import (
    CHANNELS,
    SALES_REPS,
    TOPIC_COMMUNITIES,
    Stage,
    channel_arrays,
)
from sim.network import ReferralGraph, build_referral_graph
from sim.sampling import DiscreteSampler
from sim.scenario import SENIORITIES, Scenario, ScenarioError

#: How a vendor first entered a buyer's journey (for "marketing originated" customers).
ORIGIN_NONE, ORIGIN_MARKETING, ORIGIN_REFERRAL, ORIGIN_SOCIAL_SELLING, ORIGIN_INCUMBENT = range(5)

#: Weekly social-selling spend at which a vendor reaches 1 - 1/e of its possible contacts.
SOCIAL_SELLING_HALF_SATURATION = 5_000.0
#: Weekly chance that a buyer with a customer of the vendor among their contacts is reached
#: by that vendor's referred salesperson, at saturating social-selling spend.
SOCIAL_SELLING_REACH = 0.15
#: A salesperson met through a shared contact is trusted more than a cold call.
REFERRED_SALES_TRUST = 2.0
#: Spread of a journey's research effort around the stage efforts (log-normal sigma).
COMPLEXITY_SPREAD = 0.3
#: Critic reviews needed before a vendor's review score carries half its weight.
REVIEW_PRIOR = 10.0
STREAMS = ("population", "need", "source", "exposure", "social_selling", "decision")


@dataclass
class TouchBlock:
    """The touches of one week, as parallel arrays (turned into a table once, at the end)."""

    journey: np.ndarray
    buyer: np.ndarray
    stage: np.ndarray
    channel: np.ndarray
    vendor: np.ndarray
    gain: np.ndarray
    week: int
    social_selling: bool = False  # contacts made by a vendor's referred salesperson


class BuyerJourneyModel(mesa.Model):
    """B2B buyers researching and choosing vendors on a referral graph.

    Args:
        scenario: a validated Scenario.
        seed: the run seed; defaults to the scenario's seed.
        record_touches: keep every Touch (needed for tables and attribution).

    `model.step()` advances one week; `model.run()` runs the scenario's horizon;
    `model.tables()` returns the tidy result tables.
    """

    def __init__(self, scenario: Scenario, seed: int | None = None, record_touches: bool = True):
        self.seed = int(scenario.seed if seed is None else seed)
        super().__init__(rng=self.seed)
        self.spec = scenario
        self.record_touches = record_touches
        self.streams = dict(zip(STREAMS, self.rng.spawn(len(STREAMS)), strict=True))
        self.week = 0
        self.horizon = scenario.weeks
        self.channels = channel_arrays(scenario.channel_table())
        self.vendor_names = scenario.vendor_names()
        self.n_vendors = len(scenario.vendors)
        self._setup_vendors()
        self._setup_buyers()
        self._setup_graph()
        self._setup_calendar()
        self._setup_records()

    # ----------------------------------------------------------------- set-up
    def _setup_vendors(self) -> None:
        """Vendor strategies as arrays: spend per channel, exposure chance per channel."""
        sc = self.spec
        self.spend = np.array([v.spend_by_channel() for v in sc.vendors], dtype=float)  # (V, C)
        self.social_selling_spend = np.array([v.social_selling for v in sc.vendors], dtype=float)
        self.price = np.array([v.price for v in sc.vendors], dtype=float)
        self.quality = np.array([v.quality for v in sc.vendors], dtype=float)
        self.referral_reward = np.array([v.referral_reward for v in sc.vendors], dtype=float)
        # A referral reward makes satisfied customers recommend harder, with diminishing
        # returns: weight 1 (no programme) up to 2 (rewards far above 5% of price).
        typical_deal = float(
            np.dot(sc.buyers.seniority_shares.as_tuple(), sc.buyers.budget.as_tuple())
        )
        scale = 0.05 * typical_deal * self.price
        self.advocacy = 1.0 + self.referral_reward / (self.referral_reward + scale)
        self.exposure_cdf = exposure_cdf(
            self.spend, self.channels.reach, self.channels.half_saturation
        )
        self.social_selling_reach = SOCIAL_SELLING_REACH * (
            1.0 - np.exp(-self.social_selling_spend / SOCIAL_SELLING_HALF_SATURATION)
        )
        Vendor.create_agents(self, self.n_vendors, list(range(self.n_vendors)))
        self.vendors = sorted(self.agents_by_type[Vendor], key=lambda v: v.index)

    def _setup_buyers(self) -> None:
        """Draw the population: seniority and what follows from it, social roles, fit."""
        b = self.spec.buyers
        rng = self.streams["population"]
        n, v = b.count, self.n_vendors
        self.n_buyers = n
        shares = np.array(b.seniority_shares.as_tuple())
        self.seniority = rng.choice(len(SENIORITIES), size=n, p=shares / shares.sum()).astype(
            np.int8
        )
        self.uses_social = rng.random(n) < np.array(b.social_use.as_tuple())[self.seniority]
        self.spectator = rng.random(n) < b.spectator
        self.joiner = rng.random(n) < b.joiner
        self.critic = rng.random(n) < b.critic
        median_budget = np.array(b.budget.as_tuple())[self.seniority]
        self.budget = median_budget * np.exp(b.budget_spread * rng.standard_normal(n))
        self.need_rate = np.array(b.need_rate.as_tuple())[self.seniority]
        self.span = np.array(b.span.as_tuple())[self.seniority]
        mean, conc = b.sales_readiness_mean, b.sales_readiness_concentration
        self.sales_readiness = rng.beta(mean * conc, (1 - mean) * conc, size=n)
        self.fit = (self.spec.choice.fit_spread * rng.standard_normal((n, v))).astype(float)
        effort = b.stage_effort
        self.stage_effort = np.array([effort.early, effort.middle, effort.final])
        # journey state
        self.stage = np.zeros(n, dtype=np.int8)
        self.progress = np.zeros(n)
        self.effort_scale = np.ones(n)
        self.rest_until = np.zeros(n, dtype=np.int64)
        self.next_need = np.zeros(n, dtype=np.int64)  # week an idle buyer's next need arrives
        self.journey = np.full(n, -1, dtype=np.int64)
        self.preference = np.zeros((n, v))
        self.considered = np.zeros((n, v), dtype=bool)
        self.origin = np.zeros((n, v), dtype=np.int8)
        self.referred = np.zeros((n, v), dtype=bool)
        self.sales_contacted = np.zeros(n, dtype=bool)
        self.share_at_contact = np.full(n, np.nan)
        self.social_sold = np.zeros((n, v), dtype=bool)
        # post-purchase state that outlives a journey
        self.incumbent = np.full(n, -1, dtype=np.int64)
        self.opinion = np.zeros((n, v))  # what a buyer tells neighbours
        # weekly sums over each buyer's contacts, kept current as opinions change
        self.neighbour_opinion = np.zeros((n, v))
        self.neighbour_customers = np.zeros((n, v))
        self.reviews = np.zeros((2, v))  # critics' positive / negative reviews per vendor

    def _setup_graph(self) -> None:
        """Place one Buyer agent on each node of the referral graph."""
        sc = self.spec
        graph_seed = int(self.streams["population"].integers(2**31 - 1))
        path = sc.graph_path()
        ref: ReferralGraph = build_referral_graph(
            sc.network, sc.buyers.count, graph_seed, None if path is None else str(path)
        )
        if ref.graph.number_of_nodes() != self.n_buyers:
            raise ScenarioError(
                sc.source,
                "buyers.count",
                f"the graph file has {ref.graph.number_of_nodes()} nodes but buyers.count is "
                f"{self.n_buyers}; set buyers.count = {ref.graph.number_of_nodes()}",
            )
        self.referral_graph = ref
        self.adjacency = ref.adjacency
        self.grid = Network(ref.graph, layout=None, random=self.random)
        Buyer.create_agents(self, self.n_buyers, list(range(self.n_buyers)))
        for agent in self.agents_by_type[Buyer]:
            agent.cell = self.grid[agent.row]

    def _setup_calendar(self) -> None:
        """Every buyer starts idle; file each under the week its first need arrives."""
        self.rest_ends = Calendar()  # buyers whose rest after a decision ends that week
        self.needs = Calendar()  # idle buyers whose next need arrives that week
        everyone = np.arange(self.n_buyers)
        self.next_need[:] = self._draw_need_weeks(everyone, 0)
        self.needs.add(self.next_need, everyone)

    def _setup_records(self) -> None:
        """Counters for the weekly table, journeys and touches."""
        self.next_journey = 0
        self.journey_rows: dict[str, list[np.ndarray]] = {
            k: []
            for k in (
                "journey_id",
                "buyer_id",
                "start_week",
                "end_week",
                "outcome",
                "vendor",
                "deal_value",
                "share_at_contact",
                "originated",
                "referred",
            )
        }
        self.journey_start = np.zeros(self.n_buyers, dtype=np.int64)
        self.touch_blocks: list[TouchBlock] = []
        self.weekly_stages: list[np.ndarray] = []
        self.weekly_conversions: list[np.ndarray] = []
        self.source_use = np.zeros((3, len(CHANNELS)), dtype=np.int64)
        self.source_use_week = np.zeros((3, len(CHANNELS)), dtype=np.int64)
        self.conversions = np.zeros(self.n_vendors, dtype=np.int64)
        self.revenue = np.zeros(self.n_vendors)
        self.originated = np.zeros(self.n_vendors, dtype=np.int64)
        self.referral_payouts = np.zeros(self.n_vendors)

    # ------------------------------------------------------------------ step
    def step(self) -> None:
        """One week: needs arrive, in-market buyers research, some decide, some rest."""
        w = self.week
        self.end_rest()
        self.arrive_needs()
        active = np.flatnonzero((self.stage >= Stage.EARLY) & (self.stage <= Stage.FINAL))
        self.source_use_week[:] = 0
        conv_week = np.zeros(self.n_vendors, dtype=np.int64)
        if active.size:
            self.consult_sources(active)
            self.social_selling(active)
            deciders = self.advance_stages(active)
            conv_week, _revenue = self.decide(active, deciders)
        # six counting passes over int8 beat one bincount (which widens to intp first)
        self.weekly_stages.append(np.array([np.count_nonzero(self.stage == s) for s in Stage]))
        self.weekly_conversions.append(conv_week)
        self.week = w + 1
        if self.week >= self.horizon:
            self.running = False

    def run(self, progress=None) -> BuyerJourneyModel:
        """Step to the scenario's horizon; `progress(week)` is called after each week."""
        while self.running:
            self.step()
            if progress is not None:
                progress(self.week)
        return self

    # ----------------------------------------------------------------- rules
    def end_rest(self) -> None:
        """After a purchase (engage: rate, review, recommend) or a no-decision, a buyer
        rests a while and then is idle again, open to a new need (repeat purchases)."""
        done = self.rest_ends.due(self.week)
        self.stage[done] = Stage.IDLE
        self.next_need[done] = self._draw_need_weeks(done, self.week)
        self.needs.add(self.next_need[done], done)

    def _draw_need_weeks(self, buyers: np.ndarray, week: int) -> np.ndarray:
        """The week an idle buyer's next need arrives. A constant weekly hazard p gives a
        geometric waiting time, so one draw per idle spell replaces one draw per week."""
        rate = self.need_rate[buyers]
        wait = np.full(buyers.size, np.iinfo(np.int64).max // 4, dtype=np.int64)
        u = self.streams["need"].random(buyers.size)
        has = rate > 0
        # inverse CDF of the geometric distribution (trials until the first success)
        wait[has] = np.ceil(np.log1p(-u[has]) / np.log1p(-rate[has])).astype(np.int64)
        return week + np.maximum(wait, 1) - 1

    def arrive_needs(self) -> None:
        """A buying need arrives at random, with a weekly hazard that rises with seniority;
        the new journey starts in the early stage with the incumbent vendor in mind."""
        new = self.needs.due(self.week)
        if not new.size:
            return
        u = self.streams["need"].random(new.size)
        self.stage[new] = Stage.EARLY
        self.progress[new] = 0.0
        self.effort_scale[new] = np.exp(COMPLEXITY_SPREAD * ndtri(np.clip(u, 1e-12, 1 - 1e-12)))
        self.journey[new] = self.next_journey + np.arange(new.size)
        self.next_journey += new.size
        self.journey_start[new] = self.week
        self.preference[new] = 0.0
        self.considered[new] = False
        self.origin[new] = ORIGIN_NONE
        self.referred[new] = False
        self.social_sold[new] = False
        self.sales_contacted[new] = False
        self.share_at_contact[new] = np.nan
        inc = self.incumbent[new]
        has = inc >= 0
        rows, cols = new[has], inc[has]
        self.considered[rows, cols] = True
        self.origin[rows, cols] = ORIGIN_INCUMBENT
        sign = np.sign(self.opinion[rows, cols])
        self.preference[rows, cols] = self.spec.choice.incumbent_bonus * sign

    def consult_sources(self, active: np.ndarray) -> None:
        """Each in-market week the buyer consults a few sources drawn with the stage's
        preference weights (social sources only for social buyers; sales reps only after
        most research is done). A consultation may expose the buyer to one vendor present
        there (share of voice, saturating in spend); referral sources also pass on what
        the buyer's contacts say; topic communities also show critics' reviews.

        All consultations of the week are handled at once, flattened buyer by buyer;
        within a week, paid exposures are applied before referrals."""
        k = self.spec.buyers.consultations_per_week
        cred = self.channels.credibility
        rows = np.repeat(active, k)  # the buyer of each consultation
        slot = np.tile(np.arange(k), active.size)
        stage_row = np.repeat(self.stage[active].astype(np.int64) - 1, k)
        total = np.repeat(self.stage_effort.sum() * self.effort_scale[active], k)
        share = (self.progress[rows] + slot) / total
        ready = share >= self.sales_readiness[rows]
        u_src = self.streams["source"].random(rows.size)
        u_exp = self.streams["exposure"].random(rows.size)
        channel = choose_sources(u_src, stage_row, self.uses_social[rows], ready)
        vendor = pick_exposed_vendor(u_exp, channel, self.exposure_sampler())
        gain = np.zeros(rows.size)
        # paid exposure raises preference by the channel's credibility in this stage
        hit = np.flatnonzero(vendor >= 0)
        g = cred[stage_row[hit], channel[hit]]
        add_at(self.preference, rows[hit], vendor[hit], g)
        gain[hit] = g
        # an exposure that carries no credibility leaves no trace in the buyer's mind
        seen = hit[g > 0]
        self._enter(rows[seen], vendor[seen], ORIGIN_MARKETING)
        self._consult_referrals(rows, stage_row, channel, vendor, gain)
        self._read_reviews(rows, stage_row, channel)
        # sales contact: the first consultation of a vendor's sales rep
        sales = (channel == SALES_REPS) & (vendor >= 0)
        self._record_sales_contact(rows[sales], share[sales])
        self.source_use_week[:] = np.bincount(
            stage_row * len(CHANNELS) + channel, minlength=3 * len(CHANNELS)
        ).reshape(3, len(CHANNELS))
        self.source_use += self.source_use_week
        self.progress[active] += k
        if self.record_touches:
            self.touch_blocks.append(
                TouchBlock(
                    journey=self.journey[rows],
                    buyer=rows,
                    stage=stage_row.astype(np.int8),
                    channel=channel.astype(np.int8),
                    vendor=vendor.astype(np.int16),
                    gain=gain,
                    week=self.week,
                )
            )

    def _consult_referrals(self, rows, stage_row, channel, vendor, gain) -> None:
        """Referral sources ask the buyer's graph neighbours: satisfied customers
        recommend their vendor, dissatisfied ones warn against it. A referral consultation
        that showed no paid vendor names the most recommended one."""
        r_idx = np.flatnonzero(self.channels.referral[channel])
        if not r_idx.size:
            return
        buyers = rows[r_idx]
        sig = self.neighbour_opinion[buyers]
        weight = self.channels.credibility[stage_row[r_idx], channel[r_idx]]
        delta = (weight * self.spec.choice.referral_weight)[:, None] * np.tanh(sig / 2.0)
        add_rows(self.preference, buyers, delta)
        pr, pv = np.nonzero(sig > 0)
        self._enter(buyers[pr], pv, ORIGIN_REFERRAL)
        self.referred[buyers[pr], pv] = True
        if not self.record_touches:
            return  # what follows only names the vendor in the touch table
        best = np.argmax(sig, axis=1)
        named = (vendor[r_idx] < 0) & (sig[np.arange(r_idx.size), best] > 0)
        vendor[r_idx[named]] = best[named]
        gain[r_idx[named]] = delta[named, best[named]]

    def _read_reviews(self, rows, stage_row, channel) -> None:
        """Topic communities show critics' public reviews of the vendors a buyer considers;
        spectators (Forrester: 98% of decision makers read what others post) take them in."""
        tc = np.flatnonzero((channel == TOPIC_COMMUNITIES) & self.spectator[rows])
        if not tc.size:
            return
        review = (self.reviews[0] - self.reviews[1]) / (self.reviews.sum(0) + REVIEW_PRIOR)
        w = (
            self.channels.credibility[stage_row[tc], TOPIC_COMMUNITIES]
            * self.spec.choice.review_weight
        )
        buyers = rows[tc]
        add_rows(self.preference, buyers, w[:, None] * review[None, :] * self.considered[buyers])

    def social_selling(self, active: np.ndarray) -> None:
        """Vendor social selling: its salespeople reach in-market joiners through their
        networks (a referred salesperson), more likely the more of the buyer's contacts are
        the vendor's customers; at most once per vendor and journey."""
        active = active[self.joiner[active]]
        u = self.streams["social_selling"].random((active.size, self.n_vendors))
        if not self.social_selling_reach.any():
            return
        # p <= reach: test that first, the exact chance only for the few candidates
        rows, vs = np.nonzero(u < self.social_selling_reach[None, :])
        buyers = active[rows]
        customers = self.neighbour_customers[buyers, vs]
        p = self.social_selling_reach[vs] * (1.0 - np.exp(-customers))
        keep = (u[rows, vs] < p) & ~self.social_sold[buyers, vs]
        buyers, vs = buyers[keep], vs[keep]
        if not buyers.size:
            return
        stage_row = self.stage[buyers].astype(np.int64) - 1
        g = self.channels.credibility[stage_row, SALES_REPS] * REFERRED_SALES_TRUST
        add_at(self.preference, buyers, vs, g)
        self.social_sold[buyers, vs] = True
        self._enter(buyers, vs, ORIGIN_SOCIAL_SELLING)
        total = self.stage_effort.sum() * self.effort_scale[buyers]
        self._record_sales_contact(buyers, self.progress[buyers] / total)
        if self.record_touches:
            self.touch_blocks.append(
                TouchBlock(
                    journey=self.journey[buyers],
                    buyer=buyers,
                    stage=stage_row.astype(np.int8),
                    channel=np.full(buyers.size, SALES_REPS, dtype=np.int8),
                    vendor=vs.astype(np.int16),
                    gain=g,
                    week=self.week,
                    social_selling=True,
                )
            )

    def advance_stages(self, active: np.ndarray) -> np.ndarray:
        """Enough research progress moves the buyer to the next stage; those who finish
        the final stage decide this week. Returns the rows (into `active`) that decide."""
        # stages finished: how many cumulative stage efforts the (scaled) progress covers
        done = self.progress[active] / self.effort_scale[active]
        reached = np.searchsorted(np.cumsum(self.stage_effort), done, side="right")
        self.stage[active] = np.minimum(reached + 1, Stage.FINAL).astype(np.int8)
        return np.flatnonzero(reached >= 3)

    def decide(self, active: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """At the end of the final stage the buyer chooses among the vendors it considers
        (multinomial logit on preference, fit and price) or makes no decision (status quo).
        A purchase is a Conversion worth the buyer's budget times the vendor's price."""
        conv = np.zeros(self.n_vendors, dtype=np.int64)
        rev = np.zeros(self.n_vendors)
        if not rows.size:
            return conv, rev
        # who decides this week does not depend on any vendor: a fixed shape for the draws
        u = self.streams["decision"].random((rows.size, 2))
        buyers = active[rows]
        c = self.spec.choice
        utility = (
            c.preference_weight * self.preference[buyers]
            + self.fit[buyers]
            - c.price_weight * (self.price[None, :] - 1.0)
        )
        utility = np.where(self.considered[buyers], utility, -np.inf)
        choice = logit_choice(utility, c.status_quo, u[:, 0])
        bought = choice >= 0
        b_rows, vs = buyers[bought], choice[bought]
        deal = np.zeros(buyers.size)
        deal[bought] = self.budget[b_rows] * self.price[vs]
        satisfied = u[bought, 1] < self.quality[vs]
        self.satisfy(b_rows, vs, satisfied)
        np.add.at(conv, vs, 1)
        np.add.at(rev, vs, deal[bought])
        originated = self.origin[b_rows, vs] == ORIGIN_MARKETING
        referred = self.referred[b_rows, vs]
        np.add.at(self.originated, vs[originated], 1)
        np.add.at(self.referral_payouts, vs[referred], self.referral_reward[vs[referred]])
        self.conversions += conv
        self.revenue += rev
        self.stage[buyers] = np.where(bought, Stage.BOUGHT, Stage.NO_DECISION).astype(np.int8)
        self.rest_until[buyers] = self.week + self.spec.buyers.engage_weeks
        self.rest_ends.add(self.rest_until[buyers], buyers)
        vendor_col = np.full(buyers.size, -1, dtype=np.int64)
        vendor_col[bought] = vs
        orig_col = np.zeros(buyers.size, dtype=bool)
        orig_col[bought] = originated
        ref_col = np.zeros(buyers.size, dtype=bool)
        ref_col[bought] = referred
        self._close_journeys(buyers, np.where(bought, 1, 0), vendor_col, deal, orig_col, ref_col)
        return conv, rev

    def satisfy(self, buyers: np.ndarray, vendors: np.ndarray, satisfied: np.ndarray) -> None:
        """Satisfaction after a purchase depends on the vendor's product quality; the
        buyer's opinion (weighted by span of control) is what they tell their contacts,
        and critics also post a public review."""
        old_opinion = self.opinion[buyers].copy()
        old_customer = self.incumbent[buyers].copy()
        self.incumbent[buyers] = vendors
        self.opinion[buyers] = 0.0
        strength = np.where(
            satisfied, self.span[buyers] * self.advocacy[vendors], -self.span[buyers]
        )
        self.opinion[buyers, vendors] = strength
        self._update_neighbour_sums(buyers, old_opinion, old_customer)
        crit = self.critic[buyers]
        np.add.at(self.reviews, (np.where(satisfied[crit], 0, 1), vendors[crit]), 1)

    def _update_neighbour_sums(self, buyers, old_opinion, old_customer) -> None:
        """Keep each buyer's sums over contacts current: only the changed buyers' rows of
        the (symmetric) adjacency are touched, and only the vendor columns that changed
        (the old and the new vendor): a sparse scatter."""
        had = np.flatnonzero(old_customer >= 0)
        pos = np.concatenate([had, np.arange(buyers.size)])
        col = np.concatenate([old_customer[had], self.incumbent[buyers]])
        d_opinion = np.concatenate(
            [-old_opinion[had, old_customer[had]], self.opinion[buyers, self.incumbent[buyers]]]
        )
        d_customer = np.concatenate([np.full(had.size, -1.0), np.ones(buyers.size)])
        contacts, entry = csr_rows(self.adjacency, buyers[pos])  # symmetric: their contacts
        cells = contacts * self.n_vendors + col[entry]
        np.add.at(self.neighbour_opinion.reshape(-1), cells, d_opinion[entry])
        np.add.at(self.neighbour_customers.reshape(-1), cells, d_customer[entry])

    def exposure_sampler(self) -> DiscreteSampler:
        """The sampler for `exposure_cdf`, rebuilt whenever a strategy change replaces it."""
        if getattr(self, "_sampler_for", None) is not self.exposure_cdf:
            self._exposure_sampler = DiscreteSampler(self.exposure_cdf)
            self._sampler_for = self.exposure_cdf
        return self._exposure_sampler

    # --------------------------------------------------------------- helpers
    def _enter(self, buyers: np.ndarray, vendors: np.ndarray, origin: int) -> None:
        """A vendor enters the consideration set; remember how it first got there."""
        first = self.origin[buyers, vendors] == ORIGIN_NONE
        self.origin[buyers[first], vendors[first]] = origin
        self.considered[buyers, vendors] = True

    def _record_sales_contact(self, buyers: np.ndarray, share: np.ndarray) -> None:
        first = ~self.sales_contacted[buyers]
        b = buyers[first]
        # a buyer may meet two reps in one week: keep the first consultation's share
        b, idx = np.unique(b, return_index=True)
        self.share_at_contact[b] = np.minimum(share[first][idx], 1.0)
        self.sales_contacted[b] = True

    def _close_journeys(self, buyers, outcome, vendor, deal, originated, referred) -> None:
        rows = self.journey_rows
        rows["journey_id"].append(self.journey[buyers].copy())
        rows["buyer_id"].append(buyers.copy())
        rows["start_week"].append(self.journey_start[buyers].copy())
        rows["end_week"].append(np.full(buyers.size, self.week))
        rows["outcome"].append(outcome.astype(np.int8))
        rows["vendor"].append(vendor)
        rows["deal_value"].append(deal)
        rows["share_at_contact"].append(self.share_at_contact[buyers].copy())
        rows["originated"].append(originated)
        rows["referred"].append(referred)
        self.journey[buyers] = -1

    # ---------------------------------------------------------------- results
    def marketing_spend(self) -> np.ndarray:
        """Each vendor's spend so far: channel budget, social selling, referral rewards."""
        weekly = self.spend.sum(1) + self.social_selling_spend
        return weekly * self.week + self.referral_payouts

    def tables(self) -> dict[str, pd.DataFrame]:
        """The run's tidy tables: buyers, journeys, touches, weekly, vendors."""
        from sim.tables import build_tables

        return build_tables(self)


def exposure_cdf(spend: np.ndarray, reach: np.ndarray, half_saturation: np.ndarray) -> np.ndarray:
    """Cumulative chance, per channel, that a consultation shows vendor 0..V-1.

    Presence in a channel saturates in total spend S: reach * (1 - exp(-S / h)); vendors
    split it by share of voice (their spend / S). Returns (C, V) cumulative sums.
    """
    total = spend.sum(0)  # (C,)
    presence = reach * (1.0 - np.exp(-total / half_saturation))
    with np.errstate(invalid="ignore", divide="ignore"):
        sov = np.where(total > 0, spend / total, 0.0)  # (V, C)
    return np.cumsum((sov * presence).T, axis=1)


def csr_rows(matrix, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column indices of the non-zeros in `rows` of a CSR matrix, and which row (position
    in `rows`) each belongs to; cheaper than slicing a new sparse matrix."""
    indptr = matrix.indptr
    start = indptr[rows]
    length = indptr[rows + 1] - start
    owner = np.repeat(np.arange(rows.size), length)
    offset = np.arange(owner.size) - np.repeat(np.cumsum(length) - length, length)
    return matrix.indices[np.repeat(start, length) + offset], owner


def add_at(target: np.ndarray, rows: np.ndarray, cols: np.ndarray, values: np.ndarray) -> None:
    """target[rows, cols] += values, accumulating repeated cells (a 2-D C-ordered array).

    Same result as `np.add.at(target, (rows, cols), values)`, on the flat view where
    numpy's fast 1-D path applies."""
    np.add.at(target.reshape(-1), rows * target.shape[1] + cols, values)


def add_rows(target: np.ndarray, rows: np.ndarray, values: np.ndarray) -> None:
    """target[rows] += values (one row of values per index), accumulating repeated rows,
    on the flat view where numpy's fast 1-D `add.at` path applies."""
    width = target.shape[1]
    flat = (rows[:, None] * width + np.arange(width)).reshape(-1)
    np.add.at(target.reshape(-1), flat, values.reshape(-1))


def pick_exposed_vendor(u: np.ndarray, channel: np.ndarray, sampler: DiscreteSampler) -> np.ndarray:
    """The vendor a consultation of `channel` shows (index), or -1 when it shows none.

    `sampler` draws from the (C, V) cumulative exposure chances of `exposure_cdf`.
    """
    idx = sampler.draw(u, channel)
    return np.where(idx < sampler.k, idx, -1)


_SOURCE_SAMPLER: DiscreteSampler | None = None


def source_sampler() -> DiscreteSampler:
    """Source choice per (stage, uses_social, sales_ready), flattened to 12 distributions."""
    global _SOURCE_SAMPLER
    if _SOURCE_SAMPLER is None:
        from sim.channels import source_weights

        pref = channel_arrays().preference
        out = np.zeros((3, 2, 2, len(CHANNELS)))
        for s in range(3):
            for social in (0, 1):
                for ready in (0, 1):
                    out[s, social, ready] = np.cumsum(
                        source_weights(pref[s], bool(social), bool(ready))
                    )
        out[..., -1] = 1.0
        _SOURCE_SAMPLER = DiscreteSampler(out.reshape(12, len(CHANNELS)))
    return _SOURCE_SAMPLER


def choose_sources(
    u: np.ndarray, stage_row: np.ndarray, social: np.ndarray, ready: np.ndarray
) -> np.ndarray:
    """Draw one source per buyer by inverse CDF of its stage's preference weights."""
    group = stage_row * 4 + social * 2 + ready
    return np.minimum(source_sampler().draw(u, group), len(CHANNELS) - 1)


def logit_choice(utility: np.ndarray, status_quo: float, u: np.ndarray) -> np.ndarray:
    """Multinomial logit over vendors plus the outside option; -1 means no decision."""
    full = np.concatenate([np.full((utility.shape[0], 1), status_quo), utility], axis=1)
    full -= full.max(1, keepdims=True)
    p = np.exp(full)
    cdf = np.cumsum(p, 1) / p.sum(1, keepdims=True)
    pick = np.minimum((u[:, None] >= cdf).sum(1), utility.shape[1])
    return pick - 1
