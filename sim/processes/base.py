"""What every weekly process is: a named rule over the state, with declared random
streams, and the `Week` it reads and writes what the week's later rules need.

THE PAIRED-DRAW RULE (read this before writing a process). A process may draw random
numbers only from the streams it declares in `streams`, and the SHAPE of every draw
(how many numbers, in which order) must depend only on the buyers' journey timeline
(who is in market, who decides this week), never on any vendor's strategy (spend, price,
quality, social selling, referral rewards). Then two runs with the same seed that differ
in one vendor's strategy draw the very same numbers for every decision the change does
not touch: strategy comparisons and counterfactual runs are paired (common random
numbers), and their differences are the effect of the change, not noise. Draw for every
candidate, then decide with the strategy: `u = stream.random(candidates.size)` and
`hit = u < p_from_strategy`, never `stream.random(hit.sum())`.
tests/sim/test_paired_draws.py checks this for every process of the default week.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:
    from sim.model import BuyerJourneyModel


@dataclass
class Consultations:
    """This week's consultations, one entry each (flattened buyer by buyer).

    `vendor` is the vendor the consultation showed (-1: none) and `gain` the preference
    it added; the referral process may name a recommended vendor in place of none."""

    buyer: np.ndarray
    journey: np.ndarray  # the buyer's journey id (empty unless touches are recorded)
    stage_row: np.ndarray  # research stage 0..2 (early, middle, final)
    channel: np.ndarray
    vendor: np.ndarray
    gain: np.ndarray
    share: np.ndarray  # research share done at the consultation


@dataclass
class Contacts:
    """This week's social-selling contacts: a vendor's referred salesperson met a buyer."""

    buyer: np.ndarray
    journey: np.ndarray
    stage_row: np.ndarray
    vendor: np.ndarray
    gain: np.ndarray


@dataclass
class ClosedJourneys:
    """Journeys that ended this week (a purchase or no decision), one entry each."""

    journey_id: np.ndarray
    buyer_id: np.ndarray
    start_week: np.ndarray
    end_week: np.ndarray
    outcome: np.ndarray  # 1 purchase, 0 no decision
    vendor: np.ndarray  # -1 for no decision
    deal_value: np.ndarray
    share_at_contact: np.ndarray
    originated: np.ndarray
    referred: np.ndarray
    account_id: np.ndarray
    group_size: np.ndarray
    size_class: np.ndarray  # index into SIZE_CLASSES, -1 one-person account
    reason: np.ndarray  # why no purchase: sim.processes.decision.REASONS codes
    # market v3 (docs/model.md §10a, §12a): the purchase renews the group's incumbent;
    # the day-one list and the shortlist as vendor bitmasks (bit v: vendor v; 0 when the
    # consideration rules are off); the vendor preferred at first sales contact (-1: none)
    renewal: np.ndarray | None = None
    day_one_mask: np.ndarray | None = None
    shortlist_mask: np.ndarray | None = None
    preferred: np.ndarray | None = None


@dataclass
class Ballots:
    """This week's deciding members' own picks, group by group (lead first): `choice` is
    a vendor index or -1 for the status quo, `weight` the member's vote (span), `group`
    each member's group (0..G-1, the row of `Week.closed`) and `lead` the position of
    each group's lead (sim.processes.decision.group_index)."""

    buyers: np.ndarray
    choice: np.ndarray
    weight: np.ndarray
    group: np.ndarray
    lead: np.ndarray


@dataclass
class Week:
    """What the processes of one week hand on to each other and to the recorders.

    Processes fill the fields they produce; later processes and the recorders read them.
    `record_touches` says whether any recorder wants the touches (work that only names
    vendors for the touch table is skipped otherwise)."""

    number: int
    n_vendors: int
    record_touches: bool = False
    started: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # buyers
    # whose journey started this week (set by the needs process)
    active: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    research_share: np.ndarray | None = None  # of `active`, after this week's research
    sales_ready: np.ndarray | None = None  # of `active`: research share >= sales readiness
    consultations: Consultations | None = None
    # the referral consultations that showed no vendor but name the contacts' most
    # recommended one (rows of `consultations`, that vendor, its preference gain), set by
    # the referrals process when `name_referrals` (touches recorded, or a process reads
    # them: Process.reads_referral_names)
    referral_named: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    name_referrals: bool = False
    contacts: Contacts | None = None  # social selling
    quotes: Contacts | None = None  # the sales pipeline's quotes
    deciders: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    decision_u: np.ndarray | None = None  # (deciders, 2): choice, satisfaction
    ballots: Ballots | None = None  # the deciding members' picks (the consensus's input)
    purchases: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # buyers, vendors, u
    closed: ClosedJourneys | None = None
    conversions: np.ndarray | None = None
    revenue: np.ndarray | None = None
    source_use: np.ndarray | None = None  # (3, C) consultations per stage and channel
    extra: dict[str, Any] = field(default_factory=dict)  # for processes added by users

    def __post_init__(self) -> None:
        if self.conversions is None:
            self.conversions = np.zeros(self.n_vendors, dtype=np.int64)
        if self.revenue is None:
            self.revenue = np.zeros(self.n_vendors)


class Process:
    """One rule of the week. Subclasses set `name` and `streams` and implement `run`.

    `bind(model)` is called once when the process joins a model (build per-model
    lookups there, never module-level caches); `run(model, week)` applies the rule.
    Draw random numbers only through `self.stream(model, name)`, which refuses a stream
    the process did not declare (see the paired-draw rule above)."""

    name: ClassVar[str] = "process"
    streams: ClassVar[tuple[str, ...]] = ()
    #: whether the process reads `Week.referral_named` (the referrals process names
    #: recommended vendors only when touches are recorded or a process reads them)
    reads_referral_names: bool = False

    def bind(self, model: BuyerJourneyModel) -> None:
        """Prepare per-model lookups (default: nothing)."""

    def run(self, model: BuyerJourneyModel, week: Week) -> None:  # pragma: no cover
        raise NotImplementedError

    def stream(self, model: BuyerJourneyModel, name: str) -> np.random.Generator:
        """The model's random stream `name`, if this process declared it."""
        if name not in self.streams:
            raise RuntimeError(
                f"process {self.name!r} draws from stream {name!r} without declaring it "
                f"(declared: {', '.join(self.streams) or 'none'})"
            )
        return model.streams[name]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} streams={self.streams}>"
