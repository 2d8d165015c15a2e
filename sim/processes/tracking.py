"""Tracking: data-loop vendors record what their tracking method observes of the week's
true touches, and of the journeys that closed (docs/model.md §5a, sim/tracking.py).

One process, `tracking`, last in the week; it does nothing (and declares no stream)
unless some vendor's policy is data_loop. It reads the week's consultations that showed
a tracking vendor (paid or organic), the referral consultations that name one
(`week.referral_named`, set by the referrals process because this process reads them
when a vendor tracks by point of sale or perfect log), the social-selling contacts and
quotes, and the closed journeys, and writes
the observations (forward captures, web analytics counts, the conversions' credits,
point-of-sale answers) into `week.extra["observed"]` (an `Observations`) and
`model.tracking`.

Randomness (stream "tracking", spawned after every other stream of the default week, so
a run's other streams are the same whether or not a vendor tracks): one key drawn when
the process binds, then each week a (deciders, 2) block for point-of-sale answers. The
capture uniforms of touches are counter-based (`sim.arrays.counter_uniforms`): the
uniform of consultation row i of week w (and of the contact or quote of in-market buyer
position p, tracking slot s) is a fixed function of (key, w, i): computed only for the
rows that showed a tracking vendor, and only when a vendor tracks forward (the one
method that captures by chance), the same number whatever the strategies. So the
draws' shapes depend on the journey timeline only, never on a vendor's spend or
tracking method: runs whose vendors differ only in strategy or tracking method are
paired, without drawing a uniform for every consultation (about a tenth of a run's time
at 100,000 buyers).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.arrays import counter_uniforms
from sim.channels import CHANNEL_NAMES, SALES_REPS
from sim.processes.base import Process, Week
from sim.tracking import (
    ANSWER,
    COUNT,
    COUNTED_MASK,
    DONT_KNOW,
    FORWARD,
    PERFECT,
    POINT_OF_SALE,
    RECORD,
    RECORDED_MASK,
    REVERSE,
    TOUCH,
    WEB_ANALYTICS,
    Observations,
    Touches,
    TrackingState,
    credit,
    observed_mask,
    recall_pick,
)

CHANNELS = len(CHANNEL_NAMES)

if TYPE_CHECKING:
    from sim.model import BuyerJourneyModel


class Tracking(Process):
    """The tracking vendors' observations of the week (see the module docstring)."""

    name = "tracking"
    streams: tuple[str, ...] = ()  # ("tracking",) once bound to a model where a vendor tracks

    def bind(self, model: BuyerJourneyModel) -> None:
        if not hasattr(model, "tracking"):
            model.tracking = TrackingState.build(model)
        if model.tracking is None:
            return
        self.streams = ("tracking",)
        # point of sale and perfect remember recommendations (the referrals process
        # then names the recommended vendor of its consultations)
        self.reads_referral_names = model.tracking.sees_recommendations
        if "tracking" not in model.streams:
            model.streams["tracking"] = model.rng.spawn(1)[0]
        self.key = int(self.stream(model, "tracking").integers(2**63))

    def run(self, model: BuyerJourneyModel, week: Week) -> None:
        tr: TrackingState | None = model.tracking
        if tr is None or model.spinning:  # nothing is measured in the spin-up (§1a)
            return
        stream = self.stream(model, "tracking")
        deciders = week.deciders
        # point of sale: whether and what they answer (drawn whatever the methods, so
        # that the stream's shape never depends on a vendor's tracking method)
        u_d = stream.random((deciders.size, 2)) if deciders.size else np.zeros((0, 2))
        ballots = week.ballots
        groups = None if ballots is None else (ballots.group, ballots.lead)

        touches = self.touches(model, week, tr)
        obs = Observations()
        self.observe(model, week, tr, touches, groups, obs)
        self.close(model, week, tr, u_d, groups, obs)
        if week.ballots is not None:
            tr.forget(week.ballots.buyers)
        tr.spend.append(model.market.spend[tr.vendors].copy())
        week.extra["observed"] = obs

    # --------------------------------------------------------------- the touches
    def touches(self, model, week, tr) -> Touches:
        """This week's true touches of the tracking vendors that some vendor's method or
        web analytics can see (`TrackingState.relevant_any`), in the order they happened:
        consultations, then social-selling contacts, then quotes."""
        parts = []  # (buyer, vendor, channel, gain, named, counter index, counter lane)
        c = week.consultations
        if c is not None:
            rows, vendor, gain, named = self.consulted(week, tr, c)
            parts.append((c.buyer[rows], vendor, c.channel[rows], gain, named, rows, 0))
        if tr.relevant_any[SALES_REPS]:
            for s, col in ((week.contacts, 0), (week.quotes, 1)):
                if s is None or not s.buyer.size:
                    continue
                keep = (tr.slot[s.vendor] >= 0).nonzero()[0]
                b, v = s.buyer[keep], s.vendor[keep]
                # counter index: (in-market position, tracking slot, contact or quote)
                idx = (np.searchsorted(week.active, b) * tr.n_slots + tr.slot[v]) * 2 + col
                ch = np.full(b.size, SALES_REPS)
                parts.append((b, v, ch, s.gain[keep], np.zeros(b.size, bool), idx, 1))
        if not parts:
            z = np.zeros(0, dtype=np.int64)
            return Touches(z, z, z, np.zeros(0), np.zeros(0, bool), np.zeros(0))
        buyer, vendor, channel, gain, named, idx = (
            np.concatenate(x) for x in list(zip(*parts, strict=True))[:6]
        )
        u = None
        if tr.captures:  # forward capture: one uniform per touch, a function of its counter
            lane = np.repeat([p[6] for p in parts], [p[0].size for p in parts])
            u = counter_uniforms(self.key, week.number, idx, lane=lane)
        return Touches(
            buyer.astype(np.int64, copy=False),
            tr.slot[vendor],
            channel.astype(np.int64, copy=False),
            gain.astype(float, copy=False),
            named,
            u,
        )

    @staticmethod
    def consulted(week, tr, c):
        """The consultations that touched a tracking vendor in a channel some method or
        web analytics sees, in row order: (rows, vendor, preference gain, named) where
        `named` marks a referral consultation naming it (only when a method remembers
        recommendations: point of sale, perfect)."""
        if tr.n_slots == 1:
            shown = (c.vendor == tr.vendors[0]).nonzero()[0]
        else:
            shown = (tr.slot_or_none[c.vendor] >= 0).nonzero()[0]
        if not tr.sees_every_channel:
            shown = shown[tr.relevant_any[c.channel[shown]]]
        named = week.referral_named
        if week.record_touches and named is not None and named[0].size:
            # the touch log names the recommended vendor in c.vendor: not exposures
            shown = shown[~np.isin(shown, named[0], assume_unique=True)]
        if named is None or not tr.sees_recommendations:
            return shown, c.vendor[shown], c.gain[shown], np.zeros(shown.size, bool)
        rows, best, gain = named
        keep = (tr.slot[best] >= 0).nonzero()[0]
        rows, best, gain = rows[keep], best[keep], gain[keep]
        all_rows = np.concatenate([shown, rows])
        order = np.argsort(all_rows, kind="stable")
        return (
            all_rows[order],
            np.concatenate([c.vendor[shown], best])[order],
            np.concatenate([c.gain[shown], gain])[order],
            (np.arange(all_rows.size) >= shown.size)[order],
        )

    def observe(self, model, week, tr, touches, groups, obs) -> None:
        """Each vendor's method observes its touches; forward and perfect log each touch
        they see; web analytics counts content and search visits without identity."""
        start = model.buyers.journey_start
        for slot in range(tr.n_slots):
            mine = touches if tr.n_slots == 1 else touches.take(touches.slot == slot)
            method = int(tr.method[slot])
            seen = mine
            if method in (FORWARD, REVERSE):  # the others observe every touch
                seen = mine.take(observed_mask(method, mine, tr.taggable[slot], tr.capture[slot]))
            tr.observe(seen, week.number, start)
            if method in (FORWARD, PERFECT):
                journey = self.journeys(model, week, groups, seen.buyer)
                obs.add(slot, week.number, journey, method, seen.channel, TOUCH, 0.0)
            visits = mine.channel[~mine.named & COUNTED_MASK[mine.channel]]
            obs.add(slot, week.number, np.full(visits.size, -1), WEB_ANALYTICS, visits, COUNT, 0.0)

    @staticmethod
    def journeys(model, week, groups, buyers: np.ndarray) -> np.ndarray:
        """The journey ids of `buyers`' touches this week (a journey that closed this
        week: the closed group journey's id)."""
        journey = model.buyers.journey[buyers]
        gone = (journey < 0).nonzero()[0]
        if gone.size and week.closed is not None:
            members = week.ballots.buyers
            group = groups[0][np.searchsorted(members, buyers[gone])]
            journey[gone] = week.closed.journey_id[group]
        return journey.astype(np.int64, copy=False)

    # --------------------------------------------------------------- conversions
    def close(self, model, week, tr, u_d, grouped, obs) -> None:
        """Credit each conversion of a tracking vendor by its method and attribution."""
        attributed = np.zeros((tr.n_slots, CHANNELS))
        tr.attributed.append(attributed)
        closed = week.closed
        if closed is None or week.ballots is None:
            return
        slots = tr.slot_or_none[closed.vendor]  # -1: the status quo, or not tracking
        groups = (slots >= 0).nonzero()[0]
        if not groups.size:
            return
        members = week.ballots.buyers
        group, head = grouped
        m = (slots[group] >= 0).nonzero()[0]  # members of the groups that bought, in order
        slot = slots[groups]
        mb = members[m]
        first, last, counts, weights = tr.pooled(
            mb, slots[group[m]], group[m], week.number, model.buyers.journey_start[mb]
        )
        method = tr.method[slot]
        jid = closed.journey_id[groups]
        # each conversion's value by its vendor's objective (conversions, revenue,
        # marketing-originated customers)
        values = (None, closed.deal_value, closed.originated)
        objective = tr.objective[slot]
        value = np.ones(groups.size)
        for k in (1, 2):
            if (objective == k).any():
                value = np.where(objective == k, values[k][groups], value)
        pos = method == POINT_OF_SALE
        if tr.asks and pos.any():  # the lead's draws: whether and what the customer answers
            u = u_d[head[groups]]
            answer = (pos & (u[:, 0] < tr.response_rate[slot])).nonzero()[0]
            ch = recall_pick(weights[answer], u[answer, 1])
            known = ch != DONT_KNOW
            obs.add(slot[answer], week.number, jid[answer], POINT_OF_SALE, ch, ANSWER, known * 1.0)
            np.add.at(attributed, (slot[answer[known]], ch[known]), value[answer[known]])
        # the others: attribution over what they observed
        rest = (~pos).nonzero()[0]
        if not rest.size:
            return
        share = credit(tr.attribution[slot[rest]], first[rest], last[rest], counts[rest])
        np.add.at(attributed, slot[rest], share * value[rest, None])
        rev = method[rest] == REVERSE
        if rev.any():
            g, c = np.nonzero((counts[rest] > 0) & RECORDED_MASK[None, :] & rev[:, None])
            obs.add(slot[rest[g]], week.number, jid[rest[g]], REVERSE, c, RECORD, share[g, c])
        g, c = np.nonzero((share > 0) & ~rev[:, None])
        r = rest[g]
        obs.add(slot[r], week.number, jid[r], method[r], c, TOUCH, share[g, c])
