"""The vendors: each one's strategy and economics ([[vendors]]), its spending plans by
week (schedule) and, for a vendor that measures and adjusts, its DATA loop and
tracking."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from sim.scenario.fields import (
    Frozen,
    NonNeg,
    Prob,
    Whole,
    check_channel_names,
    check_mix,
    check_mix_sum,
    mix_shares,
    no_control_characters,
)
from sim.scenario.messages import problem


class Plan(Frozen):
    """From `week` on (weeks count from 0), a vendor spends by this plan: flighted
    budgets, a mid-year reallocation.

    Only the fields a plan gives change; the others keep their current value (the
    vendor's own, or the last earlier plan's), so plans apply cumulatively. channel_mix
    follows the vendor's rules: shares sum to 1 unless this plan says normalize = true
    (which rescales this plan's mix only).
    """

    week: Annotated[Whole, Field(ge=0)]
    weekly_budget: NonNeg | None = None
    channel_mix: dict[str, NonNeg] | None = None
    normalize: Annotated[bool, Field(strict=True)] = False
    social_selling: NonNeg | None = None

    @field_validator("channel_mix")
    @classmethod
    def _known_channels(cls, mix: dict[str, float] | None) -> dict[str, float] | None:
        return None if mix is None else check_mix(mix)

    @model_validator(mode="after")
    def _changes_something(self) -> Plan:
        if self.weekly_budget is None and self.channel_mix is None and self.social_selling is None:
            raise problem(
                "a plan must change something; give weekly_budget, channel_mix or "
                "social_selling (or remove the plan)"
            )
        if self.channel_mix is None:
            if self.normalize:
                raise problem(
                    "normalize rescales this plan's own channel_mix; give channel_mix or "
                    "remove normalize",
                    "normalize",
                )
        else:
            check_mix_sum(self.channel_mix, self.normalize)
        return self


#: The vendors' policies (docs/model.md §5, §5a): static (the default) follows the
#: vendor's fields (and schedule); data_loop measures with its tracking and adjusts its
#: mix; oracle follows its schedule (planned by analysis/studies/dataloop/) or else stays static.
POLICIES: tuple[str, ...] = ("static", "data_loop", "oracle")
TRACKING_METHODS: tuple[str, ...] = ("forward", "point_of_sale", "reverse", "perfect")
ATTRIBUTIONS: tuple[str, ...] = ("last_touch", "first_touch", "linear")
OBJECTIVES: tuple[str, ...] = ("conversions", "revenue", "originated")


class Tracking(Frozen):
    """What a data-loop vendor observes (docs/model.md §5a, sim/tracking.py).

    method: forward (codes and registrations in the channels it can tag, each touch
    captured with chance `capture`), point_of_sale (new customers asked how they heard of
    it; `response_rate` answer), reverse (its own records: sales contacts, quotes and
    content registrations of its customers) or perfect (the true touch log).
    attribution: how a conversion's credit is split over the observed touches (forward,
    reverse, perfect): last_touch, first_touch or linear.
    """

    method: Literal["forward", "point_of_sale", "reverse", "perfect"] = "forward"
    attribution: Literal["last_touch", "first_touch", "linear"] = "last_touch"
    taggable: tuple[str, ...] = ("search", "vendor_content", "industry_media")
    capture: Prob = 0.8
    response_rate: Prob = 0.6

    @field_validator("taggable")
    @classmethod
    def _known_taggable(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        check_channel_names(names)
        if len(set(names)) != len(names):
            raise ValueError("channels are listed more than once; list each once")
        return names


class DataLoop(Frozen):
    """The DATA loop of a data_loop (or oracle) vendor (docs/model.md §5a).

    Define: the objective (conversions, revenue or marketing-originated customers) and the
    budget (the vendor's weekly_budget; only the shares move). Assess: the plan does not
    change before week baseline_weeks. Track: `tracking` over the last window_weeks.
    Adjust: every cadence_weeks from baseline_weeks on, at most max_shift of the channel
    budget moves from the channels with the lowest measured return to the highest; every
    channel of the initial mix keeps at least `exploration` of the budget.
    """

    objective: Literal["conversions", "revenue", "originated"] = "conversions"
    baseline_weeks: Annotated[Whole, Field(ge=0, le=5200)] = 26
    cadence_weeks: Annotated[Whole, Field(ge=1, le=5200)] = 13
    max_shift: Prob = 0.2
    exploration: Prob = 0.05
    window_weeks: Annotated[Whole, Field(ge=1, le=5200)] = 26
    tracking: Tracking = Tracking()


class VendorSpec(Frozen):
    """A vendor's strategy and economics.

    weekly_budget is split over channels by channel_mix: shares that sum to 1 (within
    1e-6), so a share written as 0.65 is 65% of the budget. With normalize = true the
    shares are rescaled to sum to 1 instead (convenient for ratios like 3:1).
    social_selling is the weekly spend on salespeople reaching buyers through their
    networks; referral_reward is paid per conversion that a satisfied customer referred.
    Deal value is the buyer's budget times price (a price index, 1 = market price).
    schedule: plans by week (see Plan) that change weekly_budget, channel_mix and
    social_selling from a given week on; the vendor's own fields hold before the first.
    """

    name: Annotated[str, Field(min_length=1, max_length=60)]
    weekly_budget: NonNeg = 0.0
    channel_mix: dict[str, NonNeg] = Field(default_factory=dict)
    normalize: Annotated[bool, Field(strict=True)] = False
    social_selling: NonNeg = 0.0
    referral_reward: NonNeg = 0.0
    price: Annotated[float, Field(gt=0, le=10, allow_inf_nan=False, strict=True)] = 1.0
    quality: Prob = 0.8
    fixed_costs: NonNeg = 0.0
    variable_cost: Prob = 0.4
    schedule: tuple[Plan, ...] = ()
    # Share of all buyers who are this vendor's customers at week 0 (its installed base).
    installed_base: Prob = 0.0
    # A self-serve vendor sells without a quote from its sales team (docs/model.md §13a).
    self_serve: Annotated[bool, Field(strict=True)] = False
    # Strategy (docs/model.md §5a): static, data_loop (measures and adjusts) or oracle.
    policy: Literal["static", "data_loop", "oracle"] = "static"
    data_loop: DataLoop | None = None
    # Average contract value (currency): a deal is worth it x the account's size factor
    # ([deals], docs/model.md §16a); None: the lead's budget x price, as in v2.
    contract_value: (
        Annotated[float, Field(gt=0, le=1e12, allow_inf_nan=False, strict=True)] | None
    ) = None
    # The weeks the vendor is in the market: from enter_week (0: from the start) up to,
    # not including, exit_week (None: to the end). Outside them it has no presence, no
    # organic discovery, no spend and no conversions (docs/model.md §5b).
    enter_week: Annotated[Whole, Field(ge=0, le=5200)] = 0
    exit_week: Annotated[Whole, Field(ge=1, le=5200)] | None = None

    @field_validator("name")
    @classmethod
    def _addressable_name(cls, name: str) -> str:
        """Sweeps, `with_changes` and `--vendor` address a vendor as vendors.NAME.field,
        and attribution writes NAME into file names: the name must survive both."""
        no_control_characters(name, "vendor names")
        if "." in name:
            raise problem(
                "vendor names may not contain '.' (sweep paths use vendors.NAME.field); "
                f"rename it, e.g. {name.replace('.', '_')!r}"
            )
        if "/" in name or "\\" in name:
            fixed = name.replace("/", "_").replace("\\", "_")
            raise problem(
                "vendor names may not contain '/' or '\\' (they become part of file names); "
                f"rename it, e.g. {fixed!r}"
            )
        if not name.strip():
            raise problem("vendor names may not be blank; give a name, e.g. 'Acme'")
        if name != name.strip():
            raise problem(
                f"vendor names may not start or end with spaces; rename it, e.g. {name.strip()!r}"
            )
        return name

    @field_validator("channel_mix")
    @classmethod
    def _known_channels(cls, mix: dict[str, float]) -> dict[str, float]:
        return check_mix(mix)

    @model_validator(mode="after")
    def _spendable(self) -> VendorSpec:
        """Shares sum to 1 (or normalize says rescale them); a budget has somewhere to go."""
        check_mix_sum(self.channel_mix, self.normalize)
        if self.weekly_budget > 0 and not self.channel_mix:
            raise problem(
                f"a weekly_budget of {self.weekly_budget:g} needs a channel_mix to be spent in; "
                "give channel_mix = { search = 1.0 } (for example) or set weekly_budget = 0",
                "weekly_budget",
            )
        for j in range(1, len(self.schedule)):
            before, week = self.schedule[j - 1].week, self.schedule[j].week
            if week <= before:
                raise problem(f"weeks must increase ({week} after {before})", "schedule", j, "week")
        budget = self.weekly_budget
        for j, (plan, (_, spend, _)) in enumerate(
            zip(self.schedule, self.spend_periods()[1:], strict=True)
        ):
            budget = plan.weekly_budget if plan.weekly_budget is not None else budget
            if budget > 0 and not any(spend):
                field = "channel_mix" if plan.channel_mix is not None else "weekly_budget"
                raise problem(
                    f"from week {plan.week} a weekly budget has no channel_mix to be spent "
                    "in; give this plan a channel_mix or set its weekly_budget = 0",
                    "schedule",
                    j,
                    field,
                )
        if self.policy == "data_loop":
            self._check_data_loop()
        if self.exit_week is not None and self.exit_week <= self.enter_week:
            raise problem(
                f"exit_week {self.exit_week} must come after enter_week {self.enter_week}; "
                "raise exit_week or remove it",
                "exit_week",
            )
        if self.enter_week > 0 and self.installed_base > 0:
            raise problem(
                f"a vendor entering at week {self.enter_week} has no customers before it; "
                "set installed_base = 0 or enter_week = 0",
                "installed_base",
            )
        return self

    def _check_data_loop(self) -> None:
        """A data-loop vendor moves shares of its own budget between its mix's channels."""
        if self.schedule:
            raise problem(
                "a data_loop vendor adjusts its own plan; remove its schedule or use "
                'policy = "static" (or "oracle")',
                "schedule",
            )
        if self.weekly_budget <= 0 or not self.channel_mix:
            raise problem(
                "a data_loop vendor moves shares of its weekly_budget between the channels "
                "of its channel_mix; give it weekly_budget > 0 and a channel_mix",
                "weekly_budget",
            )
        loop = self.data_loop or DataLoop()
        n_mix = sum(1 for x in self.channel_mix.values() if x > 0)
        if loop.exploration * n_mix > 1 + 1e-9:
            raise problem(
                f"exploration {loop.exploration:g} x {n_mix} channels in the mix is more "
                "than the whole budget; lower it to at most "
                f"{1 / n_mix:.4g}",
                "data_loop",
                "exploration",
            )

    @property
    def loop(self) -> DataLoop:
        """The vendor's DATA loop settings (the defaults if it gives none)."""
        return self.data_loop or DataLoop()

    def spend_by_channel(self) -> tuple[float, ...]:
        """Weekly spend in each channel of the Channel table (budget x share), from the
        vendor's own fields: the spend of week 0 (see `plan_at` for later weeks)."""
        return tuple(self.weekly_budget * x for x in mix_shares(self.channel_mix, self.normalize))

    def spend_periods(self) -> tuple[tuple[int, tuple[float, ...], float], ...]:
        """(first week, weekly spend per channel, weekly social-selling spend) of each
        period: week 0 from the vendor's own fields, then one entry per plan (a plan at
        week 0 replaces the first entry from the start). Spend changes only at these
        weeks, so a model can update its arrays there rather than every week."""
        budget, social = self.weekly_budget, self.social_selling
        shares = mix_shares(self.channel_mix, self.normalize)
        out = [(0, tuple(budget * x for x in shares), social)]
        for plan in self.schedule:
            if plan.weekly_budget is not None:
                budget = plan.weekly_budget
            if plan.channel_mix is not None:
                shares = mix_shares(plan.channel_mix, plan.normalize)
            if plan.social_selling is not None:
                social = plan.social_selling
            out.append((plan.week, tuple(budget * x for x in shares), social))
        return tuple(out)

    def plan_at(self, week: int) -> tuple[tuple[float, ...], float]:
        """(weekly spend per channel in CHANNEL_NAMES order, weekly social-selling spend)
        in force at `week` (weeks count from 0): the vendor's own fields before its first
        plan, then each plan's changes on top of the ones before it."""
        periods = self.spend_periods()
        _, spend, social = periods[0]
        for start, s, ss in periods[1:]:
            if start > week:
                break
            spend, social = s, ss
        return spend, social
