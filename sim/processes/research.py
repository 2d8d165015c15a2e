"""Consultation and exposure: each in-market week a buyer consults a few sources, drawn
with the stage's preference weights; a consultation may expose the buyer to one vendor
present there (docs/model.md, research and exposure).

Presence in a channel saturates in all vendors' spend there, reach x (1 - exp(-S / h)),
and vendors split it by share of voice. An exposure raises the buyer's preference for
the vendor by the channel's credibility in that stage and puts it in the consideration
set. Social sources are only for buyers who use social media; sales reps only once the
buyer has done the research share at which it talks to sales (Forrester: 65-90%).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.arrays import add_at
from sim.channels import SALES_REPS, ChannelArrays, source_weights
from sim.processes.base import Consultations, Process, Week
from sim.sampling import DiscreteSampler
from sim.state import ORIGIN_MARKETING

if TYPE_CHECKING:
    from sim.model import BuyerJourneyModel
    from sim.state import BuyerState


def exposure_cdf(spend: np.ndarray, reach: np.ndarray, half_saturation: np.ndarray) -> np.ndarray:
    """Cumulative chance, per channel, that a consultation shows vendor 0..V-1.

    Presence in a channel saturates in total spend S: reach * (1 - exp(-S / h)); vendors
    split it by share of voice (their spend / S). `h` is the half-saturation spend for the
    scenario's market (the table's value x market size / REFERENCE_AUDIENCE: spend buys
    presence per buyer reached). Returns (C, V) cumulative sums.
    """
    total = spend.sum(0)  # (C,)
    presence = reach * (1.0 - np.exp(-total / half_saturation))
    with np.errstate(invalid="ignore", divide="ignore"):
        sov = np.where(total > 0, spend / total, 0.0)  # (V, C)
    return np.cumsum((sov * presence).T, axis=1)


def source_sampler(channels: ChannelArrays) -> DiscreteSampler:
    """Source choice per (stage, uses_social, sales_ready), flattened to 12 distributions,
    from THIS scenario's channel table (its preference overrides included)."""
    pref = channels.preference
    c = pref.shape[1]
    out = np.zeros((3, 2, 2, c))
    for s in range(3):
        for social in (0, 1):
            for ready in (0, 1):
                out[s, social, ready] = np.cumsum(
                    source_weights(pref[s], bool(social), bool(ready), channels)
                )
    out[..., -1] = 1.0
    return DiscreteSampler(out.reshape(12, c))


def pick_exposed_vendor(u: np.ndarray, channel: np.ndarray, sampler: DiscreteSampler) -> np.ndarray:
    """The vendor a consultation of `channel` shows (index), or -1 when it shows none.

    `sampler` draws from the (C, V) cumulative exposure chances of `exposure_cdf`.
    """
    idx = sampler.draw(u, channel)
    return np.where(idx < sampler.k, idx, -1)


class Research(Process):
    """Consultations and paid exposures of the week; research progress; first sales
    contact; source use. Draws one "source" and one "exposure" uniform per consultation
    (consultations_per_week per in-market buyer: a shape no strategy changes)."""

    name = "research"
    streams = ("source", "exposure")

    def bind(self, model: BuyerJourneyModel) -> None:
        self.sources = source_sampler(model.channels)
        self._exposure: DiscreteSampler | None = None
        self._version = -1

    def exposure_sampler(self, model: BuyerJourneyModel) -> DiscreteSampler:
        """The exposure sampler for the vendors' current spend (rebuilt when it changes)."""
        market = model.market
        if self._exposure is None or self._version != market.plan_version:
            ch = model.channels
            self._exposure = DiscreteSampler(
                exposure_cdf(market.spend, ch.reach, ch.half_saturation * model.audience)
            )
            self._version = market.plan_version
        return self._exposure

    def run(self, model: BuyerJourneyModel, week: Week) -> None:
        active = week.active
        if not active.size:
            return
        state = model.buyers
        k = model.spec.buyers.consultations_per_week
        # per buyer first, then repeated per consultation (repeats beat gathers)
        rows = np.repeat(active, k)  # the buyer of each consultation
        slot = np.tile(np.arange(k), active.size)
        stage_a = state.stage[active].astype(np.int64) - 1
        stage_row = np.repeat(stage_a, k)
        total = model.stage_effort.sum() * state.effort_scale[active]
        share = (np.repeat(state.progress[active], k) + slot) / np.repeat(total, k)
        ready = share >= np.repeat(state.sales_readiness[active], k)
        u_src = self.stream(model, "source").random(rows.size)
        u_exp = self.stream(model, "exposure").random(rows.size)
        group = np.repeat(stage_a * 4 + state.uses_social[active] * 2, k) + ready
        channel = np.minimum(self.sources.draw(u_src, group), self.sources.k - 1)
        vendor = pick_exposed_vendor(u_exp, channel, self.exposure_sampler(model))
        gain = np.zeros(rows.size)
        # paid exposure raises preference by the channel's credibility in this stage
        hit = np.flatnonzero(vendor >= 0)
        g = model.channels.credibility[stage_row[hit], channel[hit]]
        add_at(state.preference, rows[hit], vendor[hit], g)
        gain[hit] = g
        # an exposure that carries no credibility leaves no trace in the buyer's mind
        seen = hit[g > 0]
        state.enter(rows[seen], vendor[seen], ORIGIN_MARKETING)
        journey = state.journey[rows] if week.record_touches else rows[:0]  # ids for touches
        week.consultations = Consultations(rows, journey, stage_row, channel, vendor, gain, share)
        # sales contact: the first consultation of a vendor's sales rep
        sales = (channel == SALES_REPS) & (vendor >= 0)
        record_sales_contact(state, rows[sales], share[sales])
        mark_contacted(model, rows[sales], vendor[sales])
        n_channels = model.channels.credibility.shape[1]
        week.source_use = np.bincount(
            stage_row * n_channels + channel, minlength=3 * n_channels
        ).reshape(3, n_channels)
        state.progress[active] += k
        week.research_share = state.progress[active] / total


def record_sales_contact(state: BuyerState, buyers: np.ndarray, share: np.ndarray) -> None:
    """Remember the research share at each buyer's first sales contact of the journey.

    `buyers` come in ascending order (every caller's rows do), so a buyer's contacts of
    the week are adjacent: the first of each run is its first contact."""
    first = ~state.sales_contacted[buyers]
    b, s = buyers[first], share[first]
    # a buyer may meet two reps in one week: keep the first consultation's share
    head = np.flatnonzero(np.r_[True, b[1:] != b[:-1]]) if b.size else b
    state.share_at_contact[b[head]] = np.minimum(s[head], 1.0)
    state.sales_contacted[b[head]] = True


def mark_contacted(model: BuyerJourneyModel, buyers: np.ndarray, vendors: np.ndarray) -> None:
    """The groups of `buyers` have now been in contact with `vendors` (a quote, a rep, a
    referred salesperson): later recommendations of them are not referrals (§10a)."""
    accounts = model.accounts
    if accounts.contacted.size:
        account = model.buyers.account[buyers]
        accounts.sync(account, model.buyers.journey[buyers])
        accounts.contacted[account, vendors] = True
