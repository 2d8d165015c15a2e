"""The model's state as explicit data: one documented place for every per-buyer and
per-account and per-vendor array.

`BuyerState` holds one row per buyer (and one column per vendor where a buyer holds
something about each vendor); `AccountState` one entry per account (a company whose
buying group researches and decides together); `VendorState` one entry per vendor (and
one column per channel for spend). The weekly processes (sim/processes/) read and write
these arrays; nothing else creates per-buyer arrays.

Index conventions: buyer b is row b and node b of the referral graph; the members of
account a are the contiguous rows `start[a]:start[a + 1]`, most senior first (the
group's lead); vendor v is the v-th vendor of the scenario; channel c is the c-th
channel of `sim.channels.CHANNELS`; stages are `sim.channels.Stage` codes (int8).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from scipy.special import ndtri

from sim.calendar import Calendar
from sim.channels import Stage
from sim.scenario import SENIORITIES, SIZE_CLASSES, Accounts, Buyers, Scenario

#: How a vendor first entered a buyer's journey (for "marketing originated" customers).
ORIGIN_NONE, ORIGIN_MARKETING, ORIGIN_REFERRAL, ORIGIN_SOCIAL_SELLING, ORIGIN_INCUMBENT = range(5)
#: ... or found without paid media (organic search, earned media, review sites).
ORIGIN_ORGANIC = 5

#: Spread of a journey's research effort around the stage efforts (log-normal sigma).
#: Illustrative (docs/model.md, constants).
COMPLEXITY_SPREAD = 0.3
#: Spread of each group member's research effort around the group's (log-normal sigma):
#: members who need more research hold the group back. Illustrative (docs/model.md).
MEMBER_SPREAD = 0.3
#: Size-class code of the one-person accounts of a scenario without [accounts].
SINGLE = -1


@dataclass
class BuyerState:
    """Every buyer's attributes and journey, as arrays (n buyers, V vendors).

    Who the buyer is (drawn once per run from the "population" stream):

    | field | dtype, shape | meaning |
    |---|---|---|
    | seniority | int8 (n,) | index into SENIORITIES (individual .. c_level) |
    | account | int64 (n,) | the buyer's account (its buying group) |
    | uses_social | bool (n,) | uses social media to make purchase decisions (IDC) |
    | spectator, joiner, critic | bool (n,) | Forrester social roles (overlapping) |
    | budget | float (n,) | deal budget; a purchase is worth budget x vendor price |
    | span | float (n,) | span of control: weight of the buyer's word |
    | sales_readiness | float (n,) | research share after which sales reps are consulted |
    | fit | float (n, V) | idiosyncratic fit of each vendor (logit utility term) |

    The current journey (reset by `start_journey`):

    | field | dtype, shape | meaning |
    |---|---|---|
    | stage | int8 (n,) | Stage code: idle, early, middle, final, bought, no decision |
    | progress | float (n,) | consultations done in this journey |
    | effort_scale | float (n,) | research this journey needs from the buyer (x stage efforts) |
    | journey | int64 (n,) | id of the open journey (the group's), -1 if none |
    | journey_start | int64 (n,) | week the open journey started |
    | preference | float (n, V) | preference built up for each vendor |
    | considered | bool (n, V) | vendor is in the consideration set |
    | origin | int8 (n, V) | how the vendor first entered (ORIGIN_* codes) |
    | referred | bool (n, V) | a contact recommended the vendor |
    | social_sold | bool (n, V) | the vendor's referred salesperson reached the buyer |
    | quoted | bool (n, V) | the vendor's sales team has quoted the buyer |
    | sales_contacted | bool (n,) | the buyer has met a sales rep in this journey |
    | share_at_contact | float (n,) | research share at the first sales contact (NaN: none) |

    Between journeys and after them:

    | field | dtype, shape | meaning |
    |---|---|---|
    | incumbent | int64 (n,) | vendor last bought from, -1 if none |
    | opinion | float (n, V) | what the buyer tells contacts (+ recommends, - warns) |
    | neighbour_opinion | float (n, V) | sum of the buyer's contacts' opinions |
    | neighbour_customers | float (n, V) | how many contacts are the vendor's customers |
    | outside_opinion | float (n, V) | sum of the opinions of contacts in OTHER accounts (only
    with the v3 referral credit, §10a; else (0, V)) |
    """

    seniority: np.ndarray
    account: np.ndarray
    uses_social: np.ndarray
    spectator: np.ndarray
    joiner: np.ndarray
    critic: np.ndarray
    budget: np.ndarray
    span: np.ndarray
    sales_readiness: np.ndarray
    fit: np.ndarray
    stage: np.ndarray
    progress: np.ndarray
    effort_scale: np.ndarray
    journey: np.ndarray
    journey_start: np.ndarray
    preference: np.ndarray
    considered: np.ndarray
    origin: np.ndarray
    referred: np.ndarray
    social_sold: np.ndarray
    quoted: np.ndarray
    sales_contacted: np.ndarray
    share_at_contact: np.ndarray
    incumbent: np.ndarray
    opinion: np.ndarray
    neighbour_opinion: np.ndarray
    neighbour_customers: np.ndarray
    next_journey: int = 0  # id the next journey gets
    outside_opinion: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))

    @property
    def n(self) -> int:
        """Number of buyers."""
        return int(self.stage.size)

    @classmethod
    def draw(
        cls, spec: Buyers, n_vendors: int, fit_spread: float, rng: np.random.Generator
    ) -> BuyerState:
        """Draw a population: seniority and what follows from it, social roles, fit.

        The draws come from `rng` (the "population" stream) in a fixed order and shape
        that depend on the buyers only, never on the vendors' strategies."""
        n, v = spec.count, n_vendors
        shares = np.array(spec.seniority_shares.as_tuple())
        seniority = rng.choice(len(SENIORITIES), size=n, p=shares / shares.sum()).astype(np.int8)
        uses_social = rng.random(n) < np.array(spec.social_use.as_tuple())[seniority]
        spectator = rng.random(n) < spec.spectator
        joiner = rng.random(n) < spec.joiner
        critic = rng.random(n) < spec.critic
        median_budget = np.array(spec.budget.as_tuple())[seniority]
        budget = median_budget * np.exp(spec.budget_spread * rng.standard_normal(n))
        mean, conc = spec.sales_readiness_mean, spec.sales_readiness_concentration
        sales_readiness = rng.beta(mean * conc, (1 - mean) * conc, size=n)
        fit = (fit_spread * rng.standard_normal((n, v))).astype(float)
        return cls(
            seniority=seniority,
            account=np.arange(n, dtype=np.int64),
            uses_social=uses_social,
            spectator=spectator,
            joiner=joiner,
            critic=critic,
            budget=budget,
            span=np.array(spec.span.as_tuple())[seniority],
            sales_readiness=sales_readiness,
            fit=fit,
            stage=np.zeros(n, dtype=np.int8),
            progress=np.zeros(n),
            effort_scale=np.ones(n),
            journey=np.full(n, -1, dtype=np.int64),
            journey_start=np.zeros(n, dtype=np.int64),
            preference=np.zeros((n, v)),
            considered=np.zeros((n, v), dtype=bool),
            origin=np.zeros((n, v), dtype=np.int8),
            referred=np.zeros((n, v), dtype=bool),
            social_sold=np.zeros((n, v), dtype=bool),
            quoted=np.zeros((n, v), dtype=bool),
            sales_contacted=np.zeros(n, dtype=bool),
            share_at_contact=np.full(n, np.nan),
            incumbent=np.full(n, -1, dtype=np.int64),
            opinion=np.zeros((n, v)),
            neighbour_opinion=np.zeros((n, v)),
            neighbour_customers=np.zeros((n, v)),
        )

    def start_journey(
        self,
        buyers: np.ndarray,
        week: int,
        u: np.ndarray,
        incumbent_bonus: float,
        group: np.ndarray | None = None,
        effort: np.ndarray | float = 1.0,
    ) -> None:
        """A new journey for `buyers`: early stage, nothing researched or considered yet,
        except the incumbent vendor (if any), who starts with the buyer's opinion of it.

        `group` numbers the new journeys 0..G-1 for each buyer (members of one buying
        group share a journey; default: one journey per buyer). `u` (one uniform per
        buyer) sets the research each buyer needs: a log-normal scale with sigma
        COMPLEXITY_SPREAD (times `effort`, per buyer) on the stage efforts."""
        if group is None:
            group = np.arange(buyers.size)
        self.stage[buyers] = Stage.EARLY
        self.progress[buyers] = 0.0
        z = ndtri(np.clip(u, 1e-12, 1 - 1e-12))
        self.effort_scale[buyers] = effort * np.exp(COMPLEXITY_SPREAD * z)
        self.journey[buyers] = self.next_journey + group
        self.next_journey += int(group[-1]) + 1 if group.size else 0
        self.journey_start[buyers] = week
        self.preference[buyers] = 0.0
        self.considered[buyers] = False
        self.origin[buyers] = ORIGIN_NONE
        self.referred[buyers] = False
        self.social_sold[buyers] = False
        self.quoted[buyers] = False
        self.sales_contacted[buyers] = False
        self.share_at_contact[buyers] = np.nan
        inc = self.incumbent[buyers]
        has = inc >= 0
        rows, cols = buyers[has], inc[has]
        self.considered[rows, cols] = True
        self.origin[rows, cols] = ORIGIN_INCUMBENT
        self.preference[rows, cols] = incumbent_bonus * np.sign(self.opinion[rows, cols])

    def enter(self, buyers: np.ndarray, vendors: np.ndarray, origin: int) -> None:
        """A vendor enters the consideration set; remember how it first got there.

        (Works on the flat cells of the (n, V) arrays: faster than pair indexing.)"""
        cell = buyers * self.origin.shape[1] + vendors
        flat_origin = self.origin.reshape(-1)
        first = flat_origin.take(cell) == ORIGIN_NONE
        flat_origin[cell[first]] = origin
        self.considered.reshape(-1)[cell] = True

    def research_share(self, buyers: np.ndarray, stage_effort: np.ndarray) -> np.ndarray:
        """Share of its journey's research each buyer has done (progress over the total
        effort of its journey)."""
        return self.progress[buyers] / (stage_effort.sum() * self.effort_scale[buyers])

    def in_market(self) -> np.ndarray:
        """Buyers in a research stage (early, middle or final), ascending."""
        return np.flatnonzero((self.stage >= Stage.EARLY) & (self.stage <= Stage.FINAL))

    def stage_counts(self) -> np.ndarray:
        """How many buyers are in each Stage now (int64, one entry per Stage code)."""
        # six counting passes over int8 beat one bincount (which widens to intp first)
        return np.array([np.count_nonzero(self.stage == s) for s in Stage])


@dataclass
class AccountState:
    """Every account (company) and its buying group's timeline (A accounts).

    | field | dtype, shape | meaning |
    |---|---|---|
    | start | int64 (A + 1,) | members of account a are buyer rows start[a]:start[a + 1] |
    | size_class | int8 (A,) | index into SIZE_CLASSES; SINGLE (-1) for one-person accounts |
    | need_rate | float (A,) | weekly chance of a new buying need at the account |
    | effort | float (A,) | research a journey needs, relative to the stage efforts |
    | rest_until | int64 (A,) | week the rest after the group's last decision ends |
    | next_need | int64 (A,) | week an idle account's next need arrives |
    | rest_ends, needs | Calendar | accounts filed by the week their rest ends / need arrives |

    The open journey's consideration (market v3, docs/model.md §12a). Each row belongs
    to the journey `journey_of` names; a rule that reads or writes a row for another
    journey first starts it afresh (`sync`), so a journey started by any rule (a user's
    process too) never sees the last journey's lists:

    | field | dtype, shape | meaning |
    |---|---|---|
    | journey_of | int64 (A,) | the journey the rows below belong to (-1: none yet) |
    | day_one | bool (A, V) | the group's day-one list (vendors remembered when the need arose) |
    | shortlist | bool (A, V) | the vendors the group asks for quotes (set once, at sales readiness) |
    | shortlisted | bool (A,) | the group has made its shortlist |
    | preferred | int64 (A,) | the vendor the group liked best when it shortlisted (-1: none) |
    | contacted | bool (A, V) | a member has had a quote from or met a rep of the vendor |
    | scope | float (A,) | the open journey's deal scope (x the vendor's contract value, §16a) |

    `singletons`: every account is one buyer (a scenario without [accounts]); account a
    is buyer a and the model is the one-buyer-decides market of v1.
    """

    start: np.ndarray
    size_class: np.ndarray
    need_rate: np.ndarray
    effort: np.ndarray
    rest_until: np.ndarray
    next_need: np.ndarray
    singletons: bool
    rest_ends: Calendar = field(default_factory=Calendar)
    needs: Calendar = field(default_factory=Calendar)
    day_one: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=bool))
    shortlist: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=bool))
    journey_of: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    shortlisted: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    preferred: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    contacted: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=bool))
    scope: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def n(self) -> int:
        """Number of accounts."""
        return int(self.size_class.size)

    @cached_property
    def size(self) -> np.ndarray:
        """Buying-group size of each account (its members)."""
        return np.diff(self.start)

    def track_consideration(self, n_vendors: int) -> None:
        """Allocate the open journeys' consideration arrays (market v3, §12a)."""
        a, v = self.n, n_vendors
        self.day_one = np.zeros((a, v), dtype=bool)
        self.shortlist = np.zeros((a, v), dtype=bool)
        self.journey_of = np.full(a, -1, dtype=np.int64)
        self.shortlisted = np.zeros(a, dtype=bool)
        self.preferred = np.full(a, -1, dtype=np.int64)
        self.contacted = np.zeros((a, v), dtype=bool)
        self.scope = np.ones(a)

    def sync(self, accounts: np.ndarray, journeys: np.ndarray) -> None:
        """Make the consideration rows of `accounts` those of `journeys` (their open
        journeys' ids): a row still holding an earlier journey starts afresh."""
        if not self.journey_of.size:
            return
        stale = self.journey_of[accounts] != journeys
        if not stale.any():
            return
        a = accounts[stale]
        self.day_one[a] = False
        self.shortlist[a] = False
        self.shortlisted[a] = False
        self.preferred[a] = -1
        self.contacted[a] = False
        self.scope[a] = 1.0
        self.journey_of[a] = journeys[stale]

    def shift_weeks(self, by: int) -> None:
        """Count weeks `by` earlier (the spin-up's end becomes week 0, §1a)."""
        self.rest_until -= by
        self.next_need -= by
        self.rest_ends.shift(by)
        self.needs.shift(by)

    def members(self, accounts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The buyer rows of `accounts` (account by account, lead first) and, for each,
        the position of its account in `accounts`."""
        sizes = self.start[accounts + 1] - self.start[accounts]
        group = np.repeat(np.arange(accounts.size), sizes)
        offset = np.arange(group.size) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        return self.start[accounts][group] + offset, group

    @classmethod
    def one_per_buyer(cls, buyers: Buyers, seniority: np.ndarray) -> AccountState:
        """One-person accounts (no [accounts] section): each buyer's need rate follows its
        seniority, as in v1."""
        n = seniority.size
        return cls(
            start=np.arange(n + 1, dtype=np.int64),
            size_class=np.full(n, SINGLE, dtype=np.int8),
            need_rate=np.array(buyers.need_rate.as_tuple())[seniority],
            effort=np.ones(n),
            rest_until=np.zeros(n, dtype=np.int64),
            next_need=np.zeros(n, dtype=np.int64),
            singletons=True,
        )

    @classmethod
    def draw(cls, spec: Accounts, n: int, rng: np.random.Generator) -> AccountState:
        """Cut n buyers into accounts: each account's size class (by `size_shares`) and
        group size (1 + Poisson(group_size - 1), at most max_group; the last account
        takes what is left). Draws n size classes and n sizes (a fixed shape)."""
        shares = np.array(spec.size_shares.as_tuple())
        size_class = rng.choice(len(SIZE_CLASSES), size=n, p=shares / shares.sum())
        mean = np.array(spec.group_size.as_tuple())[size_class]
        size = np.minimum(1 + rng.poisson(mean - 1.0), spec.max_group)
        ends = np.cumsum(size)
        a = int(np.searchsorted(ends, n)) + 1  # accounts needed to hold n buyers
        start = np.concatenate([[0], np.minimum(ends[:a], n)]).astype(np.int64)
        size_class = size_class[:a].astype(np.int8)
        return cls(
            start=start,
            size_class=size_class,
            need_rate=np.array(spec.need_rate.as_tuple())[size_class],
            effort=np.array(spec.effort.as_tuple())[size_class],
            rest_until=np.zeros(a, dtype=np.int64),
            next_need=np.zeros(a, dtype=np.int64),
            singletons=False,
        )


def draw_population(
    scenario: Scenario, n_vendors: int, rng: np.random.Generator
) -> tuple[BuyerState, AccountState]:
    """The buyers and their accounts, from the "population" stream.

    Without [accounts] every buyer is a one-person account and the draws are those of
    v1. With accounts, the buyers are cut into accounts, ordered most senior first
    within each account (the lead), and part `shared_fit` of the fit variance is common
    to an account (colleagues judge a vendor's fit alike)."""
    buyers = BuyerState.draw(scenario.buyers, n_vendors, scenario.choice.fit_spread, rng)
    spec = scenario.accounts
    if spec is None:
        return buyers, AccountState.one_per_buyer(scenario.buyers, buyers.seniority)
    accounts = AccountState.draw(spec, buyers.n, rng)
    account = np.repeat(np.arange(accounts.n), accounts.size)
    common = rng.standard_normal((accounts.n, n_vendors))
    order = np.lexsort((-buyers.seniority, account))  # within an account, most senior first
    for name, value in vars(buyers).items():
        if isinstance(value, np.ndarray) and value.shape[:1] == (buyers.n,):
            setattr(buyers, name, value[order])
    buyers.account = account
    w = spec.shared_fit
    buyers.fit = (
        np.sqrt(1 - w) * buyers.fit + np.sqrt(w) * scenario.choice.fit_spread * common[account]
    )
    return buyers, accounts


@dataclass
class VendorState:
    """Every vendor's current strategy and running totals (V vendors, C channels).

    | field | dtype, shape | meaning |
    |---|---|---|
    | spend | float (V, C) | this week's spend per channel (set by the vendor's policy) |
    | social_selling | float (V,) | this week's social-selling spend |
    | price, quality | float (V,) | price index (1 = market), chance a customer is satisfied |
    | referral_reward | float (V,) | paid per conversion a satisfied customer referred |
    | fixed_costs, variable_cost | float (V,) | weekly fixed costs; variable cost share of a deal |
    | self_serve | bool (V,) | sells without a quote from its sales team |
    | contract_value | float (V,) | average contract value (NaN: deal = lead's budget x price) |
    | present | bool (V,) | the vendor is in the market this week (enter_week, exit_week) |
    | plan_version | int | bumped whenever spend changes (processes rebuild caches) |
    | spent | float (V, C) | channel spend so far, week by week |
    | social_selling_spent | float (V,) | social-selling spend so far |
    | referral_payouts | float (V,) | referral rewards paid so far |
    | conversions, originated | int64 (V,) | purchases won; of them marketing-originated |
    | revenue | float (V,) | deal value won |
    | originated_revenue | float (V,) | deal value won from marketing-originated customers |
    | reviews | float (2, V) | critics' positive / negative public reviews |
    """

    names: tuple[str, ...]
    spend: np.ndarray
    social_selling: np.ndarray
    price: np.ndarray
    quality: np.ndarray
    referral_reward: np.ndarray
    fixed_costs: np.ndarray
    variable_cost: np.ndarray
    self_serve: np.ndarray
    spent: np.ndarray
    social_selling_spent: np.ndarray
    referral_payouts: np.ndarray
    conversions: np.ndarray
    originated: np.ndarray
    revenue: np.ndarray
    originated_revenue: np.ndarray
    reviews: np.ndarray
    contract_value: np.ndarray = field(default_factory=lambda: np.zeros(0))
    present: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    plan_version: int = 0

    @property
    def n(self) -> int:
        """Number of vendors."""
        return len(self.names)

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> VendorState:
        """Each vendor's week-0 strategy and economics, with all totals at zero."""
        vs = scenario.vendors
        spend = np.array([v.spend_by_channel() for v in vs], dtype=float)
        n = len(vs)
        return cls(
            names=scenario.vendor_names(),
            spend=spend,
            social_selling=np.array([v.social_selling for v in vs], dtype=float),
            price=np.array([v.price for v in vs], dtype=float),
            quality=np.array([v.quality for v in vs], dtype=float),
            referral_reward=np.array([v.referral_reward for v in vs], dtype=float),
            fixed_costs=np.array([v.fixed_costs for v in vs], dtype=float),
            variable_cost=np.array([v.variable_cost for v in vs], dtype=float),
            self_serve=np.array([v.self_serve for v in vs], dtype=bool),
            spent=np.zeros_like(spend),
            social_selling_spent=np.zeros(n),
            referral_payouts=np.zeros(n),
            conversions=np.zeros(n, dtype=np.int64),
            originated=np.zeros(n, dtype=np.int64),
            revenue=np.zeros(n),
            originated_revenue=np.zeros(n),
            reviews=np.zeros((2, n)),
            contract_value=np.array(
                [np.nan if v.contract_value is None else v.contract_value for v in vs]
            ),
            present=np.ones(n, dtype=bool),
        )

    def clear_totals(self) -> None:
        """Forget what was spent and won so far (the end of the spin-up, §1a); the
        market's own state (reviews, plans) stays."""
        for name in (
            "spent",
            "social_selling_spent",
            "referral_payouts",
            "conversions",
            "originated",
            "revenue",
            "originated_revenue",
        ):
            getattr(self, name)[...] = 0

    def set_plan(self, vendor: int, spend: np.ndarray, social_selling: float) -> None:
        """Vendor `vendor` spends `spend` per channel and `social_selling` from now on."""
        spend = np.asarray(spend, dtype=float)
        if np.array_equal(self.spend[vendor], spend) and self.social_selling[vendor] == float(
            social_selling
        ):
            return
        self.spend[vendor] = spend
        self.social_selling[vendor] = float(social_selling)
        self.plan_version += 1

    def pay_week(self) -> None:
        """Book this week's spend, channel by channel (a changed plan is costed right)."""
        self.spent += self.spend
        self.social_selling_spent += self.social_selling

    def marketing_spend(self) -> np.ndarray:
        """Each vendor's spend so far: channels, social selling, referral rewards."""
        return self.spent.sum(1) + self.social_selling_spent + self.referral_payouts
