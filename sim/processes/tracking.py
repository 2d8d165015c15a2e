"""Tracking: data-loop vendors record what their tracking method observes of the week's
true touches, and of the journeys that closed (docs/model.md §5a, sim/tracking.py).

Two processes, both doing nothing (and declaring no stream) unless some vendor's policy
is data_loop:

    tracking_referrals  right before `referrals`: notes the consultations that showed a
                        tracking vendor (paid or organic) and the referral consultations
                        that will name one (the vendor the touch log names: the contact
                        opinion the referrals process reads), whether or not touches are
                        recorded. No draws.
    tracking            last in the week: the observations (forward captures, web
                        analytics counts, the conversions' credits, point-of-sale
                        answers) into `week.extra["observed"]` and `model.tracking`.

Randomness (stream "tracking", spawned after every other stream of the default week, so
a run's other streams are the same whether or not a vendor tracks): one key drawn when
the process binds, then each week a (deciders, 2) block for point-of-sale answers. The
capture uniforms of touches are counter-based (`sim.arrays.counter_uniforms`): the
uniform of consultation row i of week w (and of the contact or quote of in-market buyer
position p, tracking slot s) is a fixed function of (key, w, i): computed only for the
rows that showed a tracking vendor, the same number whatever the strategies. So the
draws' shapes depend on the journey timeline only, never on a vendor's spend or
tracking method: runs whose vendors differ only in strategy or tracking method are
paired, without drawing a uniform for every consultation (about a tenth of a run's time
at 100,000 buyers).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.arrays import counter_uniforms, rows_of
from sim.channels import CHANNEL_NAMES, SALES_REPS
from sim.processes.base import Process, Week
from sim.processes.decision import group_index
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


class TrackingReferrals(Process):
    """Notes this week's consultations of tracking vendors before the referrals process
    names recommended vendors in the touch log (only when touches are recorded)."""

    name = "tracking_referrals"

    def bind(self, model: BuyerJourneyModel) -> None:
        if not hasattr(model, "tracking"):
            model.tracking = TrackingState.build(model)
        self.referral = model.channels.referral

    def run(self, model: BuyerJourneyModel, week: Week) -> None:
        tr: TrackingState | None = model.tracking
        c = week.consultations
        if tr is None or c is None:
            return
        slot = tr.slot_or_none[c.vendor]  # -1: no vendor, or one that does not track
        shown = np.flatnonzero(slot >= 0)
        # a referral consultation that showed no vendor names the most recommended one
        ref = np.flatnonzero(self.referral[c.channel] & (c.vendor < 0))
        named = ref[:0]
        gain = np.zeros(0)
        best = np.zeros(0, dtype=np.int64)
        if ref.size:
            # only a buyer whose contacts speak well of a tracking vendor may name one
            opinion = model.buyers.neighbour_opinion
            flat, cells = opinion.reshape(-1), c.buyer[ref] * opinion.shape[1]
            speaks = np.zeros(ref.size, dtype=bool)
            for v in tr.vendors:
                speaks |= flat[cells + v] > 0
            ref = ref[speaks]
        if ref.size:
            sig = rows_of(opinion, c.buyer[ref])
            best = np.argmax(sig, axis=1)
            top = sig[np.arange(ref.size), best]
            keep = (top > 0) & (tr.slot[best] >= 0)
            named, best, top = ref[keep], best[keep], top[keep]
            w = model.channels.credibility[c.stage_row[named], c.channel[named]]
            gain = w * model.spec.choice.referral_weight * np.tanh(top / 2.0)
        rows = np.concatenate([shown, named])
        order = np.argsort(rows, kind="stable")  # in the order of the consultations
        week.extra["tracking_consultations"] = (
            rows[order],
            np.concatenate([c.vendor[shown], best])[order],
            np.concatenate([c.gain[shown], gain])[order],
            np.concatenate([np.zeros(shown.size, bool), np.ones(named.size, bool)])[order],
        )


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
        if "tracking" not in model.streams:
            model.streams["tracking"] = model.rng.spawn(1)[0]
        self.key = int(self.stream(model, "tracking").integers(2**63))

    def run(self, model: BuyerJourneyModel, week: Week) -> None:
        tr: TrackingState | None = model.tracking
        if tr is None:
            return
        L = tr.n_slots
        stream = self.stream(model, "tracking")
        deciders = week.deciders
        u_d = stream.random((deciders.size, 2)) if deciders.size else np.zeros((0, 2))

        state = model.buyers
        touches = self.touches(model, week, tr, L)
        obs = Observations()
        self.observe(tr, touches, week.number, state.journey_start, obs)
        self.close(model, week, tr, u_d, obs)
        if week.ballots is not None:
            tr.forget(week.ballots.buyers)
        tr.spend.append(model.market.spend[tr.vendors].copy())
        week.extra["observed"] = obs.block()

    # --------------------------------------------------------------- the touches
    def touches(self, model, week, tr, L: int) -> Touches:
        """This week's true touches of the tracking vendors, in the order they happened,
        with their journey ids (a journey that closed this week: its closed id)."""
        parts = []
        info = week.extra.get("tracking_consultations")
        c = week.consultations
        if info is not None and c is not None:
            rows, vendor, gain, named = info
            u = counter_uniforms(self.key, week.number, rows, lane=0)
            parts.append((c.buyer[rows], vendor, c.channel[rows], gain, named, u))
        active = week.active
        for s, col in ((week.contacts, 0), (week.quotes, 1)):
            if s is None or not s.buyer.size:
                continue
            keep = tr.slot[s.vendor] >= 0
            b, v = s.buyer[keep], s.vendor[keep]
            pos = np.searchsorted(active, b)
            u = counter_uniforms(self.key, week.number, (pos * L + tr.slot[v]) * 2 + col, lane=1)
            ch = np.full(b.size, SALES_REPS)
            parts.append((b, v, ch, s.gain[keep], np.zeros(b.size, bool), u))
        if not parts:
            z = np.zeros(0, dtype=np.int64)
            return Touches(z, z, z, np.zeros(0), np.zeros(0, bool), np.zeros(0), z)
        buyer, vendor, channel, gain, named, u = (
            np.concatenate(x) for x in zip(*parts, strict=True)
        )
        journey = model.buyers.journey[buyer]
        gone = np.flatnonzero(journey < 0)
        if gone.size and week.closed is not None:  # closed this week: the group's journey id
            members = week.ballots.buyers
            group, _ = group_index(model.buyers.account[members])
            journey[gone] = week.closed.journey_id[group[np.searchsorted(members, buyer[gone])]]
        return Touches(
            buyer.astype(np.int64),
            tr.slot[vendor],
            channel.astype(np.int64),
            gain.astype(float),
            named,
            u,
            journey.astype(np.int64),
        )

    def observe(self, tr, touches, week, journey_start, obs) -> None:
        """Each vendor's method observes its touches; forward and perfect log each touch
        they see; web analytics counts content and search visits without identity."""
        for slot in range(tr.n_slots):
            mine = touches if tr.n_slots == 1 else touches.take(touches.slot == slot)
            method = int(tr.method[slot])
            seen = mine.take(observed_mask(method, mine, tr.taggable[slot], tr.capture[slot]))
            tr.observe(seen, week, journey_start[seen.buyer])
            if method in (FORWARD, PERFECT):
                obs.add(slot, week, seen.journey, method, seen.channel, TOUCH, 0.0)
            visits = mine.channel[~mine.named & COUNTED_MASK[mine.channel]]
            obs.add(slot, week, np.full(visits.size, -1), WEB_ANALYTICS, visits, COUNT, 0.0)

    # --------------------------------------------------------------- conversions
    def close(self, model, week, tr, u_d, obs) -> None:
        """Credit each conversion of a tracking vendor by its method and attribution."""
        attributed = np.zeros((tr.n_slots, CHANNELS))
        tr.attributed.append(attributed)
        closed = week.closed
        if closed is None or week.ballots is None:
            return
        slots = np.where(closed.vendor >= 0, tr.slot[np.maximum(closed.vendor, 0)], -1)
        groups = np.flatnonzero(slots >= 0)
        if not groups.size:
            return
        members = week.ballots.buyers
        group, head = group_index(model.buyers.account[members])
        m = np.flatnonzero(slots[group] >= 0)  # members of the groups that bought, in order
        slot = slots[groups]
        mb = members[m]
        first, last, counts, weights = tr.pooled(
            mb, slots[group[m]], group[m], week.number, model.buyers.journey_start[mb]
        )
        method = tr.method[slot]
        jid = closed.journey_id[groups]
        value = np.stack(
            [np.ones(groups.size), closed.deal_value[groups], closed.originated[groups]]
        )[tr.objective[slot], np.arange(groups.size)]
        # point of sale: the lead's draws say whether and what the customer answers
        pos = method == POINT_OF_SALE
        u = u_d[head[groups]]
        answer = np.flatnonzero(pos & (u[:, 0] < tr.response_rate[slot]))
        ch = recall_pick(weights[answer], u[answer, 1])
        known = ch != DONT_KNOW
        obs.add(slot[answer], week.number, jid[answer], POINT_OF_SALE, ch, ANSWER, known * 1.0)
        np.add.at(attributed, (slot[answer[known]], ch[known]), value[answer[known]])
        # the others: attribution over what they observed
        rest = np.flatnonzero(~pos)
        share = credit(tr.attribution[slot[rest]], first[rest], last[rest], counts[rest])
        np.add.at(attributed, slot[rest], share * value[rest, None])
        rev = method[rest] == REVERSE
        g, c = np.nonzero((counts[rest] > 0) & RECORDED_MASK[None, :] & rev[:, None])
        obs.add(slot[rest[g]], week.number, jid[rest[g]], REVERSE, c, RECORD, share[g, c])
        g, c = np.nonzero((share > 0) & ~rev[:, None])
        r = rest[g]
        obs.add(slot[r], week.number, jid[r], method[r], c, TOUCH, share[g, c])
