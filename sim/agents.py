"""Buyer and Vendor: the Mesa agents of the model.

Vendors decide: each owns its policy and applies it in `step()` at the start of every
week. Buyers are many: their state lives in the model's arrays (sim/state.py) and the
weekly step never loops over them; a Buyer agent is the face of one row, on its node of
the referral graph, for users and the live view (`buyer.journey()` shows where it is).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import mesa
import numpy as np

from sim.channels import Stage
from sim.policies import Plan, Policy, StaticPolicy, policy_for
from sim.scenario import SENIORITIES, SIZE_CLASSES

if TYPE_CHECKING:
    from mesa.discrete_space import Cell


class Vendor(mesa.Agent):
    """A vendor competing for buyers; it owns its strategy (a Policy) and applies it.

    Args:
        model: the BuyerJourneyModel.
        index: the vendor's column in every per-vendor array.
        spec: its VendorSpec from the scenario (name, economics, initial strategy).
    """

    def __init__(self, model: Any, index: int, spec: Any) -> None:
        super().__init__(model)
        self.index = int(index)
        self.spec = spec
        self.policy: Policy = policy_for(spec)

    @property
    def name(self) -> str:
        """The vendor's name in the scenario."""
        return self.spec.name

    def step(self) -> None:
        """Put this week's plan in force (the core books its spend). A policy that
        learns (an `update(model, vendor_index)` method: the DATA loop) looks at the
        model first."""
        update = getattr(self.policy, "update", None)
        if update is not None and not self.model.spinning:  # no learning in the spin-up
            update(self.model, self.index)
        plan = self.policy.plan(self.model.week)
        if not self.model.market.present[self.index]:  # not in the market: no spend (§5b)
            plan = Plan((0.0,) * len(plan.spend), 0.0)
        self.model.market.set_plan(self.index, plan.spend_array(), plan.social_selling)

    def use(self, policy: Policy) -> None:
        """Follow `policy` from the next week on (the live view, adaptive strategies)."""
        self.policy = policy

    def set_plan(self, spend: np.ndarray, social_selling: float | None = None) -> None:
        """Spend `spend` per channel (and `social_selling`) every week from now on,
        starting with the current week if it has not been played yet."""
        if social_selling is None:
            social_selling = float(self.model.market.social_selling[self.index])
        plan = Plan(tuple(float(x) for x in spend), float(social_selling))
        self.use(StaticPolicy(plan))
        self.model.market.set_plan(self.index, plan.spend_array(), plan.social_selling)

    @property
    def conversions(self) -> int:
        """Purchases won so far."""
        return int(self.model.market.conversions[self.index])

    @property
    def revenue(self) -> float:
        """Deal value won so far."""
        return float(self.model.market.revenue[self.index])

    @property
    def spend(self) -> float:
        """Marketing spend so far (channels, social selling, referral rewards)."""
        return float(self.model.market.marketing_spend()[self.index])


class Buyer(mesa.Agent):
    """A B2B buyer on node `row` of the referral graph: a view of the model's arrays."""

    def __init__(self, model: Any, row: int) -> None:
        super().__init__(model)
        self.row = int(row)

    @property
    def cell(self) -> Cell:
        """The buyer's cell in the model's Mesa Network space (built on first use)."""
        return self.model.grid[self.row]

    @property
    def contacts(self) -> list[Buyer]:
        """The buyers this one knows (its neighbours on the referral graph)."""
        adj = self.model.adjacency
        rows = adj.indices[adj.indptr[self.row] : adj.indptr[self.row + 1]]
        return [self.model.buyer(int(r)) for r in rows]

    @property
    def stage(self) -> Stage:
        """Where the buyer is now: idle, early, middle, final, bought or no decision."""
        return Stage(int(self.model.buyers.stage[self.row]))

    @property
    def seniority(self) -> str:
        """individual, manager, director, vp or c_level."""
        return SENIORITIES[int(self.model.buyers.seniority[self.row])]

    @property
    def uses_social(self) -> bool:
        """True if this buyer uses social media to make purchase decisions."""
        return bool(self.model.buyers.uses_social[self.row])

    @property
    def budget(self) -> float:
        """Deal budget (currency); a purchase is worth budget x the vendor's price index."""
        return float(self.model.buyers.budget[self.row])

    @property
    def preference(self) -> dict[str, float]:
        """Current preference for each vendor in this journey."""
        values = self.model.buyers.preference[self.row].tolist()
        return dict(zip(self.model.vendor_names, values, strict=True))

    @property
    def considered(self) -> list[str]:
        """The vendors in this journey's consideration set."""
        cols = np.flatnonzero(self.model.buyers.considered[self.row])
        return [self.model.vendor_names[c] for c in cols]

    @property
    def vendor(self) -> str | None:
        """The vendor this buyer last bought from, if any."""
        v = int(self.model.buyers.incumbent[self.row])
        return None if v < 0 else self.model.vendor_names[v]

    @property
    def account(self) -> int:
        """The buyer's account (company): its buying group decides together."""
        return int(self.model.buyers.account[self.row])

    @property
    def group(self) -> list[Buyer]:
        """The members of the buyer's buying group (its account), lead first; a buyer
        of a one-person account is its own group."""
        start = self.model.accounts.start
        a = self.account
        return [self.model.buyer(int(r)) for r in range(start[a], start[a + 1])]

    @property
    def size_class(self) -> str | None:
        """The account's size class (small, mid_market, enterprise); None for a
        one-person account (a scenario without accounts)."""
        c = int(self.model.accounts.size_class[self.account])
        return None if c < 0 else SIZE_CLASSES[c]

    @property
    def research_share(self) -> float | None:
        """Share of its journey's research the buyer has done (None: no open journey)."""
        b, r = self.model.buyers, self.row
        if b.journey[r] < 0:
            return None
        total = float(self.model.stage_effort.sum() * b.effort_scale[r])
        return min(float(b.progress[r]) / total, 1.0)

    def account_summary(self) -> dict[str, Any]:
        """The buyer's account as a user would read it: size class, group size, the
        group's stage (its furthest member's) and each member's stage and research."""
        members = self.group
        stages = [m.stage for m in members]
        return {
            "account": self.account,
            "size_class": self.size_class,
            "group_size": len(members),
            "group_stage": max(stages).label,
            "members": [
                {
                    "buyer": m.row,
                    "seniority": m.seniority,
                    "stage": s.label,
                    "research_share": m.research_share,
                    "lead": i == 0,
                }
                for i, (m, s) in enumerate(zip(members, stages, strict=True))
            ],
        }

    def journey(self) -> dict[str, Any]:
        """The buyer's current journey as a user would read it: stage, research done,
        vendors considered with preferences, the touches so far (when the model records
        touches) and its account (`account_summary`: the buying group it decides with)."""
        b, r = self.model.buyers, self.row
        touches = None
        log = self.model.recorder("touches", default=None)
        if log is not None and b.journey[r] >= 0 and log.sink is None:
            t = log.of_buyer(self.model, r)
            touches = list(zip(t["week"], t["channel"], t["vendor"].fillna(""), strict=True))
        return {
            "buyer": r,
            "seniority": self.seniority,
            "stage": self.stage.label,
            "journey_id": int(b.journey[r]) if b.journey[r] >= 0 else None,
            "research_share": self.research_share,
            "considered": self.considered,
            "preference": {v: round(p, 3) for v, p in self.preference.items() if p},
            "customer_of": self.vendor,
            "touches": touches,
            "account": self.account_summary(),
        }


def create_buyers(model: Any, n: int) -> list[Buyer]:
    """One Buyer agent per row, registered with the model in bulk.

    Mesa's per-agent `Agent.__init__` registers each agent through a signal-emitting
    method (~12 us an agent: 12 s for a million buyers). Here the agents are made
    without it and registered the way `Model.register_agent` does, once for all
    (unique ids, the model's agent set and the by-type set). Checked by
    tests/sim/test_agents.py against Mesa's own bookkeeping.
    """
    from mesa.agentset import _HardKeyAgentSet

    first = model.agent_id_counter
    agents = [Buyer.__new__(Buyer) for _ in range(n)]
    for i, a in enumerate(agents):
        a.__dict__.update(model=model, unique_id=first + i, pos=None, row=i)
    model.agent_id_counter = first + n
    model._all_agents._agents.update(dict.fromkeys(agents))
    if Buyer in model._agents_by_type:
        model._agents_by_type[Buyer]._agents.update(dict.fromkeys(agents))
    else:
        model._agents_by_type[Buyer] = _HardKeyAgentSet(agents, random=model.random)
    return agents
