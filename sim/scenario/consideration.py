"""Market v3's settings: who gets considered (the day-one list and the shortlist), who
gets the credit for a referral, and how a deal's value follows the account
(docs/model.md §12a, §10a, §16a). Each is off by default, so a scenario file written
for v2 runs the v2 market; the shipped scenarios switch them on.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from sim.scenario.buyers import BySize
from sim.scenario.fields import Frozen, NonNeg, Pos, Prob
from sim.scenario.messages import problem

#: Wynter (2022): 78% of B2B buyers shortlist only three vendors; the rest split
#: between two and four or more (illustrative split, docs/sources.md §12).
SHORTLIST_SHARES = (0.0, 0.10, 0.78, 0.08, 0.04)


class Consideration(Frozen):
    """The day-one list and the shortlist (docs/model.md §12a).

    on: when a need arises the buying group starts from a day-one list drawn from
    memory (vendors some member remembers at `recall` or more of preference: brand
    memory built while out of market, the incumbent, what contacts who use it said);
    research adds vendors; when its first member is ready to talk to sales the group
    shortlists its best-liked vendors and asks only those for quotes. The vendor the
    group likes best then is its preferred vendor at first sales contact.
    shortlist_shares: the chance a group shortlists 1, 2, 3, ... vendors (at most as many
    as it considers); default centred on three (Wynter: 78% shortlist three).
    recall: preference a member must hold for a vendor to be on the day-one list.
    """

    on: Annotated[bool, Field(strict=True)] = False
    shortlist_shares: tuple[Prob, ...] = SHORTLIST_SHARES
    recall: Pos = 0.5

    @field_validator("shortlist_shares")
    @classmethod
    def _a_distribution(cls, shares: tuple[float, ...]) -> tuple[float, ...]:
        if not shares or not 0.999 <= sum(shares) <= 1.001:
            raise problem(
                f"the chances of shortlisting 1, 2, 3, ... vendors must sum to 1 (found "
                f"{sum(shares):g}); e.g. [0.0, 0.10, 0.78, 0.08, 0.04]"
            )
        return shares


class Referrals(Frozen):
    """What counts as a referred purchase (docs/model.md §10a).

    credit: "outside_before_contact" (v3): a purchase is referred when a person outside
    the account recommended that vendor to a group member before the group first
    contacted it (a quote or a sales rep); renewals of an installed base are never
    referred, and referral rewards are paid only on referred purchases by new customers.
    "any_contact" (v2): any contact's recommendation, colleagues and renewals included.
    """

    credit: Literal["any_contact", "outside_before_contact"] = "any_contact"

    @property
    def strict(self) -> bool:
        """Whether the v3 rule applies."""
        return self.credit == "outside_before_contact"


#: Deal value by account size relative to the vendor's contract value (illustrative:
#: an enterprise deal several times a small company's, docs/model.md §16a).
SIZE_FACTOR = BySize(small=0.5, mid_market=1.0, enterprise=3.0)


class Deals(Frozen):
    """How a deal's value follows the account, for vendors that state a contract_value
    (docs/model.md §16a).

    A purchase from vendor v by an account of size class c is worth contract_value_v x
    size_factor[c] / (the size factors averaged over the scenario's accounts) x the
    journey's scope. The scope is (group size / the class's mean group size) **
    group_elasticity x a log-normal (sigma `spread`, mean 1): within a size class a
    bigger group buys a bigger deal (Gartner: larger purchases involve more people), and
    the research the journey needs grows as scope ** effort_elasticity (bigger deals take
    longer). All illustrative.
    """

    size_factor: BySize = SIZE_FACTOR
    group_elasticity: NonNeg = 1.0
    spread: Annotated[float, Field(ge=0, le=3, allow_inf_nan=False, strict=True)] = 0.4
    effort_elasticity: NonNeg = 0.3

    @field_validator("size_factor")
    @classmethod
    def _positive(cls, v: BySize) -> BySize:
        if min(v.as_tuple()) <= 0:
            raise problem("every size class needs a factor > 0")
        return v


__all__ = [
    "SHORTLIST_SHARES",
    "SIZE_FACTOR",
    "Consideration",
    "Deals",
    "Referrals",
]
