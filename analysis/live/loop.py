"""The DATA loop in the live view (issue 11): a DATA-loop study file opened as the
scenario it runs, a session's loop set-up, and the read-outs of a data-loop vendor: its
mix over the weeks, its adjustment weeks, its beliefs, and its believed returns next to
the true ones of a truth file (`run.py dataloop`'s dataloop_truth.csv).

The study file and the truth file are read by the study's own readers
(analysis.studies.dataloop: `load_study`, `truth.read_truth`); the view keeps what it
read per session and says in one line what is wrong with a file it cannot use.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from analysis.live.inputs import is_study_file
from analysis.studies.dataloop import study as dl
from analysis.studies.dataloop.truth import PER, TRUTH_FILE, TruthError, pick_oracle, read_truth
from sim.channels import CHANNEL_NAMES
from sim.scenario import Scenario, ScenarioError, load_scenario

if TYPE_CHECKING:
    from analysis.live.state import VizModel

NO_TRUTH_NOTE = "true returns: run `run.py dataloop` and load its truth file"
#: Returns are shown per this much spent (as in the study's report).
RETURN_PER = PER


@dataclass
class LoopSetup:
    """A session's DATA-loop set-up: the study variant to run (a fixed model parameter,
    applied on Reset like the other set-up controls)."""

    variant: str | None = None


def load_view_scenario(
    path: str | Path, variant: str | None = None
) -> tuple[Scenario, tuple[tuple[str, ...], str | None]]:
    """The scenario the view runs from `path`, and (the study's runnable variants, the
    one chosen) when `path` is a study file (else ((), None)).

    A study file (scenarios/data_loop.toml) gives its base scenario with [sweep.set] and
    the focal vendor on `variant` (a static or data-loop variant's label, e.g. "codes@13";
    unknown or None: the first data-loop variant). Oracle variants are left out: their
    plan comes from `run.py dataloop`'s counterfactual runs.

    Raises:
        ScenarioError: a bad scenario or study file, one line.
    """
    if not is_study_file(path):
        return load_scenario(path), ((), None)
    study = dl.load_study(path)
    runnable = [x for x in study.variants if x.policy != "oracle"]
    if not runnable:
        raise ScenarioError(str(path), "axes", "the study has no static or data_loop variant")
    labels = tuple(x.label for x in runnable)
    chosen = next((x for x in runnable if x.label == variant), None)
    if chosen is None:
        chosen = next((x for x in runnable if x.policy == "data_loop"), runnable[0])
    return study.scenario.with_changes(study.changes(chosen)), (labels, chosen.label)


def mix_over_weeks(channels: Sequence[np.ndarray], vendor: int) -> np.ndarray:
    """(weeks, channels): each week's share of `vendor`'s channel spend per channel (a
    row of zeros for a week it spent nothing), from the spend recorder's weekly
    (vendors, channels) arrays."""
    if not len(channels):
        return np.zeros((0, len(CHANNEL_NAMES)))
    spend = np.asarray([c[vendor] for c in channels], dtype=float)
    total = spend.sum(1, keepdims=True)
    return np.divide(spend, total, out=np.zeros_like(spend), where=total > 0)


def adjustment_weeks(beliefs: pd.DataFrame | None, vendor: str) -> list[int]:
    """The weeks (0-based, as in the beliefs table) at which `vendor` adjusted its mix."""
    if beliefs is None or not len(beliefs):
        return []
    weeks = beliefs.loc[beliefs["vendor"] == vendor, "week"]
    return sorted(int(w) for w in weeks.unique())


def planned_adjustments(baseline: int, cadence: int, horizon: int) -> list[int]:
    """The weeks a data-loop vendor adjusts at over the horizon: baseline_weeks, then
    every cadence_weeks (`DataLoopPolicy.adjusts_at`)."""
    return list(range(baseline, horizon, max(1, cadence)))


def loop_beliefs(model: VizModel) -> pd.DataFrame:
    """The beliefs table (one row per adjustment and channel), from the beliefs recorder;
    a vendor whose loop a hand-set strategy replaced keeps the rows of its loop until
    then (the recorder reads the vendors' current policies)."""
    rec = model.recorder("beliefs", default=None)
    table = rec.table(model) if rec is not None else None
    cols = ["vendor", "week", "channel", "believed_return", "share_before", "share_after"]
    if table is None:
        table = pd.DataFrame({c: [] for c in cols})
    lost = [
        (model.vendor_names[i], w, CHANNEL_NAMES[c], r, b, a)
        for i, p in model.loops.items()
        if model.vendors[i].policy is not p
        for w, c, r, b, a in p.beliefs
    ]
    if lost:
        table = pd.concat([table, pd.DataFrame(lost, columns=cols)], ignore_index=True)
    return table


@dataclass(frozen=True)
class Truth:
    """A truth file as the view holds it: its rows (None: unusable) and, for an unusable
    one, the one line that says what is wrong (the reader's TruthError)."""

    path: str
    table: pd.DataFrame | None
    problem: str = ""


def load_truth(path: str | Path) -> Truth:
    """Read a truth file with the study's reader (`read_truth`); an unusable file is a
    Truth with no table and the reader's one line, nothing made up."""
    try:
        return Truth(str(path), read_truth(path))
    except TruthError as exc:
        return Truth(str(path), None, str(exc))


def truth_path(scenario_file: str, typed: str | None) -> str | None:
    """The truth file to use: the one typed in the sidebar, else a `dataloop_truth.csv`
    next to the scenario file (None: neither)."""
    if typed and typed.strip():
        return typed.strip()
    near = Path(scenario_file).parent / TRUTH_FILE
    return str(near) if near.is_file() else None


def model_truth(model: VizModel, typed: str | None) -> Truth | None:
    """The truth file for `model` (`truth_path`), read once per file version."""
    path = truth_path(model.scenario_file, typed)
    if path is None:
        return None
    try:
        st = os.stat(path)
    except OSError:  # missing or unreadable: the reader says which, in one line
        return load_truth(path)
    key = (path, st.st_mtime_ns, st.st_size)
    got = model.truths.get(key)
    if got is None:
        model.truths.clear()
        got = model.truths[key] = load_truth(path)
    return got


def returns_table(
    beliefs: pd.DataFrame, vendor: str, truth: pd.DataFrame | None = None, cadence: int = 13
) -> pd.DataFrame:
    """Believed vs true return per channel at `vendor`'s latest adjustment: channel,
    week, believed_return, share_before, share_after, and (from `truth`, the oracle of
    the same cadence at its latest adjustment week at or before that week) true_return,
    true_low, true_high, truth_week, oracle; NaN (and no truth_week) where the truth has
    no such row. Empty before the first adjustment."""
    cols = [
        "channel",
        "week",
        "believed_return",
        "share_before",
        "share_after",
        "true_return",
        "true_low",
        "true_high",
        "truth_week",
        "oracle",
    ]
    weeks = adjustment_weeks(beliefs, vendor)
    if not weeks:
        return pd.DataFrame({c: [] for c in cols})
    week = weeks[-1]
    b = beliefs[(beliefs["vendor"] == vendor) & (beliefs["week"] == week)]
    out = pd.DataFrame(
        {
            "channel": b["channel"].astype(str).to_numpy(),
            "week": week,
            "believed_return": b["believed_return"].astype(float).to_numpy(),
            "share_before": b["share_before"].astype(float).to_numpy(),
            "share_after": b["share_after"].astype(float).to_numpy(),
        }
    )
    out["true_return"] = out["true_low"] = out["true_high"] = np.nan
    out["truth_week"] = pd.array([pd.NA] * len(out), dtype="Int64")
    out["oracle"] = None
    if truth is not None and len(truth):
        oracle = pick_oracle(truth, cadence)
        t = truth[(truth["oracle"] == oracle) & (truth["week"] <= week)]
        if len(t):
            at = int(t["week"].max())
            t = t[t["week"] == at].drop_duplicates("channel").set_index("channel")
            hit = out["channel"].isin(t.index).to_numpy()
            ch = out.loc[hit, "channel"]
            out.loc[hit, "true_return"] = t.loc[ch, "true_return"].to_numpy(dtype=float)
            out.loc[hit, "true_low"] = t.loc[ch, "low"].to_numpy(dtype=float)
            out.loc[hit, "true_high"] = t.loc[ch, "high"].to_numpy(dtype=float)
            out.loc[hit, "truth_week"] = at
            out.loc[hit, "oracle"] = oracle
    return out[cols]
