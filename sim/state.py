"""The model's state as explicit data: one documented place for every per-buyer and
per-vendor array.

`BuyerState` holds one row per buyer (and one column per vendor where a buyer holds
something about each vendor); `VendorState` holds one entry per vendor (and one column
per channel for spend). The weekly processes (sim/processes/) read and write these
arrays; nothing else creates per-buyer arrays. Accounts (companies whose buying groups
research together) will get an `AccountState` of the same kind next to these two.

Index conventions: buyer b is row b and node b of the referral graph; vendor v is the
v-th vendor of the scenario; channel c is the c-th channel of `sim.channels.CHANNELS`;
stages are `sim.channels.Stage` codes (int8).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.special import ndtri

from sim.calendar import Calendar
from sim.channels import Stage
from sim.scenario import SENIORITIES, Buyers, Scenario

#: How a vendor first entered a buyer's journey (for "marketing originated" customers).
ORIGIN_NONE, ORIGIN_MARKETING, ORIGIN_REFERRAL, ORIGIN_SOCIAL_SELLING, ORIGIN_INCUMBENT = range(5)
#: ... or found without paid media (organic search, earned media, review sites).
ORIGIN_ORGANIC = 5

#: Spread of a journey's research effort around the stage efforts (log-normal sigma).
#: Illustrative (docs/model.md, constants).
COMPLEXITY_SPREAD = 0.3


@dataclass
class BuyerState:
    """Every buyer's attributes and journey, as arrays (n buyers, V vendors).

    Who the buyer is (drawn once per run from the "population" stream):

    | field | dtype, shape | meaning |
    |---|---|---|
    | seniority | int8 (n,) | index into SENIORITIES (individual .. c_level) |
    | uses_social | bool (n,) | uses social media to make purchase decisions (IDC) |
    | spectator, joiner, critic | bool (n,) | Forrester social roles (overlapping) |
    | budget | float (n,) | deal budget; a purchase is worth budget x vendor price |
    | need_rate | float (n,) | weekly hazard of a new buying need |
    | span | float (n,) | span of control: weight of the buyer's word |
    | sales_readiness | float (n,) | research share after which sales reps are consulted |
    | fit | float (n, V) | idiosyncratic fit of each vendor (logit utility term) |

    The current journey (reset by `start_journey`):

    | field | dtype, shape | meaning |
    |---|---|---|
    | stage | int8 (n,) | Stage code: idle, early, middle, final, bought, no decision |
    | progress | float (n,) | consultations done in this journey |
    | effort_scale | float (n,) | this journey's complexity (log-normal, mean ~1) |
    | journey | int64 (n,) | id of the open journey, -1 if none |
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
    | rest_until | int64 (n,) | week the rest after the last decision ends |
    | next_need | int64 (n,) | week an idle buyer's next need arrives |
    | incumbent | int64 (n,) | vendor last bought from, -1 if none |
    | opinion | float (n, V) | what the buyer tells contacts (+ recommends, - warns) |
    | neighbour_opinion | float (n, V) | sum of the buyer's contacts' opinions |
    | neighbour_customers | float (n, V) | how many contacts are the vendor's customers |
    | rest_ends, needs | Calendar | buyers filed by the week their rest ends / need arrives |
    """

    seniority: np.ndarray
    uses_social: np.ndarray
    spectator: np.ndarray
    joiner: np.ndarray
    critic: np.ndarray
    budget: np.ndarray
    need_rate: np.ndarray
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
    rest_until: np.ndarray
    next_need: np.ndarray
    incumbent: np.ndarray
    opinion: np.ndarray
    neighbour_opinion: np.ndarray
    neighbour_customers: np.ndarray
    rest_ends: Calendar = field(default_factory=Calendar)
    needs: Calendar = field(default_factory=Calendar)
    next_journey: int = 0  # id the next journey gets

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
            uses_social=uses_social,
            spectator=spectator,
            joiner=joiner,
            critic=critic,
            budget=budget,
            need_rate=np.array(spec.need_rate.as_tuple())[seniority],
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
            rest_until=np.zeros(n, dtype=np.int64),
            next_need=np.zeros(n, dtype=np.int64),
            incumbent=np.full(n, -1, dtype=np.int64),
            opinion=np.zeros((n, v)),
            neighbour_opinion=np.zeros((n, v)),
            neighbour_customers=np.zeros((n, v)),
        )

    def start_journey(
        self, buyers: np.ndarray, week: int, u: np.ndarray, incumbent_bonus: float
    ) -> None:
        """A new journey for `buyers`: early stage, nothing researched or considered yet,
        except the incumbent vendor (if any), who starts with the buyer's opinion of it.

        `u` (one uniform per buyer) sets the journey's complexity: a log-normal scale
        with sigma COMPLEXITY_SPREAD on the stage efforts."""
        self.stage[buyers] = Stage.EARLY
        self.progress[buyers] = 0.0
        self.effort_scale[buyers] = np.exp(COMPLEXITY_SPREAD * ndtri(np.clip(u, 1e-12, 1 - 1e-12)))
        self.journey[buyers] = self.next_journey + np.arange(buyers.size)
        self.next_journey += buyers.size
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
        )

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
