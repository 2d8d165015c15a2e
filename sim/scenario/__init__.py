"""Scenario: a TOML file validated once into frozen, typed objects.

A Scenario says who the buyers are, how they are connected, which vendors compete with
what strategy, and for how long. It is validated when loaded; the model never re-checks
it. Every problem is raised as a ScenarioError that names the file, the field and what is
allowed, so the command line can print it as one line.

Loading (reading the TOML file) is the only file access in sim/ besides reading a user's
graph file in network.py; both happen before a model is built.

The package, by seam (each module imports only the ones above it):

    messages.py   problem(), field_path(), describe_error(): validation problems as one line
    fields.py     the small validated types and checks (whole numbers, bounds, mixes)
    buyers.py     Buyers, Accounts (and the seniority levels and size classes)
    market.py     Memory, Choice, Network, ChannelOverride, Market, Sales, Organic, Calibration
    consideration.py  Consideration (day-one list, shortlist), Referrals (credit), Deals
    vendors.py    VendorSpec, Plan, DataLoop, Tracking
    model.py      Scenario (with_changes, vendor_names, graph_path...), scenario_from_dict
    reading.py    read_file_bytes, read_toml: bounded, regular files only
    loading.py    load_scenario: a scenario file with its chain of base markets

Every name is importable from `sim.scenario` itself, as before the split.
"""

from __future__ import annotations

from sim.errors import SHOWN_CHARS, ScenarioError, printable, shown
from sim.scenario.buyers import (
    SENIORITIES,
    SIZE_CLASSES,
    Accounts,
    Buyers,
    BySeniority,
    BySize,
    StageEffort,
)
from sim.scenario.consideration import Consideration, Deals, Referrals
from sim.scenario.fields import (
    MAX_NUMBER,
    MAX_SEED,
    MIN_POSITIVE,
    MIN_RATE,
    MIX_TOLERANCE,
    ExpWeight,
    NonNeg,
    Pos,
    Prob,
    Real,
    Whole,
)
from sim.scenario.loading import MAX_BASE_DEPTH, OWN_KEYS, load_scenario
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
from sim.scenario.model import Scenario, scenario_from_dict
from sim.scenario.reading import MAX_NESTING, MAX_TOML_BYTES, read_file_bytes, read_toml
from sim.scenario.vendors import (
    ATTRIBUTIONS,
    OBJECTIVES,
    POLICIES,
    TRACKING_METHODS,
    DataLoop,
    Plan,
    Tracking,
    VendorSpec,
)

__all__ = [
    "Consideration",
    "Deals",
    "Referrals",
    "ATTRIBUTIONS",
    "MAX_BASE_DEPTH",
    "MAX_NESTING",
    "MAX_NUMBER",
    "MAX_SEED",
    "MAX_TOML_BYTES",
    "MIN_POSITIVE",
    "MIN_RATE",
    "MIX_TOLERANCE",
    "OBJECTIVES",
    "OWN_KEYS",
    "POLICIES",
    "SENIORITIES",
    "SHOWN_CHARS",
    "SIZE_CLASSES",
    "TRACKING_METHODS",
    "Accounts",
    "Buyers",
    "BySeniority",
    "BySize",
    "Calibration",
    "ChannelOverride",
    "Choice",
    "DataLoop",
    "ExpWeight",
    "Market",
    "Memory",
    "Network",
    "NonNeg",
    "Organic",
    "Plan",
    "Pos",
    "Prob",
    "Real",
    "Sales",
    "Scenario",
    "ScenarioError",
    "StageEffort",
    "Tracking",
    "VendorSpec",
    "Whole",
    "describe_error",
    "field_path",
    "load_scenario",
    "printable",
    "problem",
    "read_file_bytes",
    "read_toml",
    "scenario_from_dict",
    "shown",
]
