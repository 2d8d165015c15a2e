"""Buying groups in the live view: each buyer's group stage, the votes of each account's
last decision (kept by a `VoteRecorder` from the ballots the core's Decision hands on),
and the read-outs of closed group journeys (no decisions by reason, purchase rate by
group size, how an account's last journey ended).

The view adds no rule: the votes are the core's own ballots, tallied as
`sim.processes.decision.consensus` tallies them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from analysis.live.style import REASON_LINES
from sim.model import BuyerJourneyModel
from sim.processes.base import ClosedJourneys, Week
from sim.processes.decision import REASONS
from sim.recorders import Recorder

if TYPE_CHECKING:
    from analysis.live.state import VizModel


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


def closed_column(closed: Sequence[ClosedJourneys], key: str) -> np.ndarray:
    """One column (`key`) of the closed journeys' blocks, end to end."""
    parts = [getattr(c, key) for c in closed]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def reasons_by_week(closed: Sequence[ClosedJourneys], weeks: int) -> np.ndarray:
    """(weeks, 2): journeys that ended in no decision each week, by reason: the status
    quo had the most support (column 0), no vendor had enough backing (column 1)."""
    week = closed_column(closed, "end_week").astype(np.int64)
    reason = closed_column(closed, "reason")
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
    size = closed_column(closed, "group_size").astype(np.int64)
    bought = closed_column(closed, "outcome") == 1
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
