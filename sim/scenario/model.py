"""The Scenario: every table of a scenario file validated together into one frozen
object, with the checks that need several tables (installed bases, plans within the
horizon, a source in every stage, the graph file) and the changes sweeps and
counterfactuals make (`with_changes`, `without_channel_spend`).

`scenario_from_dict` validates a scenario given as nested dicts (the TOML's shape);
reading files, and a file's base market, is sim.scenario.loading.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError, field_validator, model_validator

from sim.channels import CHANNEL_NAMES, CHANNELS, Channel
from sim.errors import ScenarioError, shown
from sim.scenario.buyers import Accounts, Buyers
from sim.scenario.consideration import Consideration, Deals, Referrals
from sim.scenario.fields import (
    MAX_SEED,
    Frozen,
    Whole,
    budget_and_mix,
    check_channel_names,
    no_control_characters,
)
from sim.scenario.market import (
    Calibration,
    ChannelOverride,
    Choice,
    Market,
    Memory,
    Network,
    Organic,
    Sales,
)
from sim.scenario.messages import describe_error, field_path, problem
from sim.scenario.vendors import DataLoop, VendorSpec


class Scenario(Frozen):
    """A complete, validated scenario: buyers, network, vendors, horizon."""

    name: str = "scenario"
    description: str = ""
    weeks: Annotated[Whole, Field(ge=1, le=5200)] = 104
    seed: Annotated[Whole, Field(ge=0, le=MAX_SEED)] = 0
    buyers: Buyers = Buyers()
    network: Network = Network()
    choice: Choice = Choice()
    vendors: tuple[VendorSpec, ...]
    channels: dict[str, ChannelOverride] = Field(default_factory=dict)
    organic: Organic = Organic()
    sales: Sales = Sales()
    market: Market = Market()
    accounts: Accounts | None = None
    memory: Memory = Memory()
    consideration: Consideration = Consideration()
    referrals: Referrals = Referrals()
    deals: Deals = Deals()
    calibration: Calibration = Calibration()
    source: str = "<memory>"
    base_dir: str = "."

    @field_validator("name")
    @classmethod
    def _file_safe_name(cls, name: str) -> str:
        """Result files are named after the scenario (attribution --save): a path
        separator there would write outside the output folder."""
        no_control_characters(name, "scenario names")
        if "/" in name or "\\" in name:
            fixed = name.replace("/", "_").replace("\\", "_")
            raise problem(
                "scenario names may not contain '/' or '\\' (they become part of file "
                f"names); rename it, e.g. {fixed!r}"
            )
        return name

    @field_validator("description")
    @classmethod
    def _printable_description(cls, text: str) -> str:
        no_control_characters(text, "a description", allow="\n\t")
        return text

    @field_validator("vendors")
    @classmethod
    def _distinct_vendors(cls, v: tuple[VendorSpec, ...]) -> tuple[VendorSpec, ...]:
        if not v:
            raise ValueError("at least one [[vendors]] table is needed")
        counts = Counter(x.name for x in v)
        dup = sorted(n for n, k in counts.items() if k > 1)
        if dup:
            listed = ", ".join(shown(n, 30) for n in dup[:5]) + (", ..." if len(dup) > 5 else "")
            raise ValueError(f"vendor names must be distinct; repeated: {listed}")
        return v

    @field_validator("channels")
    @classmethod
    def _known_channel_overrides(cls, v: dict[str, ChannelOverride]) -> dict[str, ChannelOverride]:
        check_channel_names(v)
        return v

    @model_validator(mode="after")
    def _installed_bases_fit(self) -> Scenario:
        """Each buyer is the customer of at most one vendor at week 0."""
        total = sum(v.installed_base for v in self.vendors)
        if total > 1 + 1e-9:
            raise problem(
                f"the vendors' installed_base shares sum to {total:g}, more than all buyers; "
                "lower them so they sum to at most 1",
                "vendors",
                max(range(len(self.vendors)), key=lambda i: self.vendors[i].installed_base),
                "installed_base",
            )
        return self

    @model_validator(mode="after")
    def _plans_within_horizon(self) -> Scenario:
        """A plan that starts after the last simulated week would silently never apply."""
        for i, v in enumerate(self.vendors):
            for j, plan in enumerate(v.schedule):
                if plan.week >= self.weeks:
                    raise problem(
                        f"week {plan.week} is past the scenario's horizon of weeks = "
                        f"{self.weeks} (weeks count from 0, the last is {self.weeks - 1}); "
                        "move the plan earlier or raise weeks",
                        "vendors",
                        i,
                        "schedule",
                        j,
                        "week",
                    )
        return self

    @model_validator(mode="after")
    def _every_stage_has_a_source(self) -> Scenario:
        """Source choice divides by the stage's preference weights: a stage where all of
        them are 0 would leave buyers nothing to consult (NaN draws). Buyers who do not
        use social media, and buyers not yet ready for sales, skip the social sources and
        sales reps, so one of the remaining channels must keep a positive weight."""
        table = self.channel_table()
        everyone = [c for c in table if not c.social and c.name != "sales_reps"]
        for s, stage in enumerate(("early", "middle", "final")):
            if sum(c.preference[s] for c in everyone) > 0:
                continue
            zeroed = [
                name
                for name in CHANNEL_NAMES
                if name in self.channels
                and self.channels[name].preference is not None
                and self.channels[name].preference[s] == 0
            ]
            at = ("channels", zeroed[0], "preference") if zeroed else ("channels",)
            if sum(c.preference[s] for c in table) <= 0:
                what = f"all channels' preferences are 0 in the {stage} stage"
            else:
                what = (
                    f"in the {stage} stage only social channels and sales_reps keep a "
                    "positive preference, so a buyer who does not use social media or is "
                    "not yet ready for sales has nothing to consult"
                )
            names = ", ".join(c.name for c in everyone)
            raise problem(f"{what}; give one of {names} a positive {stage} preference", *at)
        return self

    def channel_table(self) -> tuple[Channel, ...]:
        """The Channel table with this scenario's overrides applied."""
        out = []
        for c in CHANNELS:
            o = self.channels.get(c.name)
            if o is not None:
                changes = {k: v for k, v in o.model_dump().items() if v is not None}
                c = replace(c, **changes)
            out.append(c)
        return tuple(out)

    @property
    def market_buyers(self) -> int:
        """Real buyers in the market (the sample's size unless [market] says otherwise)."""
        return self.market.buyers if self.market.buyers is not None else self.buyers.count

    def vendor_names(self) -> tuple[str, ...]:
        """Vendor names in scenario order (the vendor index of every array)."""
        return tuple(v.name for v in self.vendors)

    def graph_path(self) -> Path | None:
        """The user's graph file, resolved against the scenario file's folder."""
        if self.network.path is None:
            return None
        p = Path(self.network.path)
        return p if p.is_absolute() else Path(self.base_dir) / p

    def with_changes(self, changes: dict[str, Any]) -> Scenario:
        """A new validated Scenario with dotted-path fields replaced.

        `{"buyers.count": 1000, "vendors.Acme.weekly_budget": 0}` sets fields; vendors are
        addressed by name. Used by sweeps, the command line and counterfactual runs.
        """
        data = self.model_dump()
        for dotted, value in changes.items():
            _set_dotted(data, dotted, value, self.source)
        return scenario_from_dict(data, self.source, Path(self.base_dir))

    def without_channel_spend(self, vendor: str, channel: str) -> Scenario:
        """The counterfactual: `vendor` stops spending in `channel`, all else unchanged.

        The vendor's other channels keep their spend (its budget shrinks by that
        channel's part), so the difference to the original run is exactly that spend.
        The remaining shares are rescaled to sum to 1 (a valid mix); a schedule is cut
        the same way in every plan, each plan then giving its budget and mix in full.
        """
        match = [v for v in self.vendors if v.name == vendor]
        if not match:
            raise ScenarioError(
                self.source,
                "vendor",
                f"no vendor named {vendor!r}; vendors: {', '.join(self.vendor_names())}",
            )
        if channel not in CHANNEL_NAMES:
            raise ScenarioError(
                self.source,
                "channel",
                f"unknown channel {channel!r}; allowed: {', '.join(CHANNEL_NAMES)}",
            )
        v = match[0]
        c = CHANNEL_NAMES.index(channel)
        periods = v.spend_periods()
        if all(spend[c] <= 0 for _, spend, _ in periods):
            return self

        def cut(spend: tuple[float, ...]) -> tuple[float, dict[str, float]]:
            return budget_and_mix(tuple(0.0 if i == c else x for i, x in enumerate(spend)))

        budget, mix = cut(periods[0][1])
        changes: dict[str, Any] = {
            f"vendors.{vendor}.channel_mix": mix,
            f"vendors.{vendor}.weekly_budget": budget,
        }
        if v.schedule:
            # every plan states its (cut) spend in full, so no plan inherits the channel
            plans = []
            for plan, (_, spend, _) in zip(v.schedule, periods[1:], strict=True):
                b_, m_ = cut(spend)
                dumped = plan.model_dump()
                plans.append({**dumped, "weekly_budget": b_, "channel_mix": m_, "normalize": False})
            changes[f"vendors.{vendor}.schedule"] = plans
        return self.with_changes(changes)


def _set_dotted(data: dict[str, Any], dotted: str, value: Any, source: str) -> None:
    """Set `value` at the dotted path in a dumped scenario (vendors addressed by name); an
    unknown field or vendor is a ScenarioError naming the path."""
    parts = dotted.split(".")
    node: Any = data
    for i, part in enumerate(parts[:-1]):
        if isinstance(node, dict) and part == "vendors" and i == 0:
            node = node["vendors"]
            continue
        if isinstance(node, list | tuple):
            match = [v for v in node if v.get("name") == part]
            if not match:
                names = ", ".join(v["name"] for v in node)
                raise ScenarioError(source, dotted, f"no vendor named {part!r}; vendors: {names}")
            node = match[0]
        elif isinstance(node, dict) and part in node:
            if node[part] is None and i == 0 and part == "accounts":
                node[part] = Accounts().model_dump()  # setting a field turns accounts on
            elif node[part] is None and part == "data_loop":
                node[part] = DataLoop().model_dump()  # setting a field gives the defaults
            elif isinstance(node[part], dict) and part == "data_loop":
                # a data_loop table given in part (a sweep strategy's): its defaults filled
                # in, so that a later change may set any of its fields (a cadence axis)
                try:
                    node[part] = DataLoop.model_validate(node[part]).model_dump()
                except ValidationError:
                    pass  # validation names the problem once the changes are applied
            node = node[part]
        elif isinstance(node, dict) and parts[0] == "channels" and i == 1:
            node = node.setdefault(part, {})  # a new per-channel override
        else:
            raise ScenarioError(source, dotted, f"unknown field {part!r}")
    last = parts[-1]
    if not isinstance(node, dict):
        raise ScenarioError(source, dotted, "cannot set a field here")
    if last not in node and parts[-2:-1] != ["channel_mix"] and parts[0] != "channels":
        raise ScenarioError(source, dotted, f"unknown field {last!r}")
    node[last] = value


def scenario_from_dict(
    data: dict[str, Any], source: str = "<memory>", base_dir: Path | None = None
) -> Scenario:
    """Validate a scenario given as nested dicts (the TOML's shape) into a Scenario.

    The TOML layout has a [scenario] table for name/description/weeks/seed; plain
    top-level keys are accepted too (that is what `Scenario.model_dump` produces).
    """
    flat = dict(data)
    head = flat.pop("scenario", None)
    if head is not None:
        if not isinstance(head, dict):
            raise ScenarioError(source, "scenario", "must be a table ([scenario])")
        if "base" in head:
            raise ScenarioError(
                source,
                "scenario.base",
                "a base file is read when a scenario file is loaded (load_scenario); "
                "give the merged tables here",
            )
        for key, value in head.items():
            if key in flat:
                raise ScenarioError(
                    source,
                    f"scenario.{key}",
                    f"{key} is given both in [scenario] and at the top of the file; keep one",
                )
            if key in (
                "vendors",
                "buyers",
                "network",
                "choice",
                "channels",
                "organic",
                "sales",
                "market",
                "accounts",
                "memory",
                "consideration",
                "referrals",
                "deals",
                "calibration",
            ):
                raise ScenarioError(source, f"scenario.{key}", f"[{key}] is a table of its own")
            flat[key] = value
    flat["source"] = source
    flat["base_dir"] = str(base_dir if base_dir is not None else Path("."))
    try:
        scenario = Scenario.model_validate(flat)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        if err.get("type") == "scenario":
            loc += tuple(err["ctx"]["at"])
        if loc and head is not None and loc[0] in head:
            loc = ("scenario", *loc)  # a key the file gives in [scenario]
        raise ScenarioError(source, field_path(loc, flat), describe_error(err)) from None
    _check_graph_file(scenario)
    return scenario


def _check_graph_file(scenario: Scenario) -> None:
    """The network settings that need the rest of the scenario: a graph file that exists
    (kind = "file"), no path otherwise, and k or m below the number of buyers."""
    net = scenario.network
    if net.kind == "file":
        path = scenario.graph_path()
        if path is None:
            raise ScenarioError(
                scenario.source, "network.path", 'kind = "file" needs path = "graph.edgelist"'
            )
        if not path.is_file():
            raise ScenarioError(
                scenario.source,
                "network.path",
                f"graph file {str(path)!r} not found; give an edge list or GraphML file "
                "(relative paths start at the scenario file's folder)",
            )
    elif net.path is not None:
        raise ScenarioError(
            scenario.source, "network.path", f'only used with kind = "file" (kind is {net.kind!r})'
        )
    n = scenario.buyers.count
    if net.kind == "watts_strogatz" and net.k >= n:
        raise ScenarioError(scenario.source, "network.k", f"must be below buyers.count ({n})")
    if net.kind in ("barabasi_albert", "powerlaw_cluster") and net.m >= n:
        raise ScenarioError(scenario.source, "network.m", f"must be below buyers.count ({n})")
