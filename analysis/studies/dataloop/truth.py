"""The truth file of a DATA-loop study, read in one place.

`python run.py dataloop STUDY --out DIR` writes DIR/dataloop_truth.csv: the oracle's true
incremental return per channel at each of its adjustment weeks (counterfactual runs with
common random numbers: analysis.studies.dataloop's oracle planner). Columns: week, channel,
true_return, and where known share, low, high, lift, removed_spend, reps, share_after,
oracle (the oracle variant's label, "codes@13" style: policy@cadence).

Readers: the sweep report (true returns next to a policy sweep's beliefs), the live view's
DATA-loop panel, and the study itself.

    truth = read_truth(path)                     # TruthError: one line, what is wrong
    truth, path = find_truth(folder, given)       # the file given, or one near the results
    row = truth_at(truth, cadence, week, channel)  # the latest true return at or before week
    returns = returns_at(truth, cadence, week)     # every channel's, at one oracle's week
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.scenario import ScenarioError

if TYPE_CHECKING:
    import pandas as pd

#: the file name the study writes its truth table to
TRUTH_FILE = "dataloop_truth.csv"
#: the columns a truth file must have
TRUTH_COLUMNS = ("week", "channel", "true_return")
#: true (and believed) returns are shown per this much spend
PER = 100_000.0


class TruthError(ScenarioError):
    """A truth file that cannot be used: one line naming the file and what is wrong."""


def read_truth(path: str | Path, field: str = "") -> pd.DataFrame:
    """A truth file's rows: week (whole), channel, true_return, low, high (NaN where the
    file has none), oracle ("oracle" where the file has none), other columns as written.

    Raises:
        TruthError: the file is missing, unreadable, or lacks a needed column.
    """
    import numpy as np
    import pandas as pd

    try:
        t = pd.read_csv(path)
    except FileNotFoundError:
        raise TruthError(str(path), field, "no such file") from None
    except (OSError, ValueError) as exc:
        raise TruthError(str(path), field, f"not read: {exc}") from None
    missing = [c for c in TRUTH_COLUMNS if c not in t.columns]
    if missing:
        raise TruthError(
            str(path),
            field,
            f"lacks column(s) {', '.join(missing)}: not a {TRUTH_FILE} of `run.py dataloop`",
        )
    t = t.copy()
    t["week"] = pd.to_numeric(t["week"], errors="coerce")
    t["true_return"] = pd.to_numeric(t["true_return"], errors="coerce")
    t = t.dropna(subset=["week"])
    t["week"] = t["week"].astype(np.int64)
    t["channel"] = t["channel"].astype(str)
    if "oracle" not in t.columns:
        t["oracle"] = "oracle"
    t["oracle"] = t["oracle"].astype(str)
    for c in ("low", "high"):
        t[c] = pd.to_numeric(t[c], errors="coerce") if c in t.columns else np.nan
    return t.reset_index(drop=True)


def find_truth(
    folder: str | Path, given: str | Path | None = None, field: str = "--truth"
) -> tuple[pd.DataFrame | None, Path | None]:
    """The truth to show next to results in `folder`: the file `given` (which must be
    usable: TruthError otherwise), else a TRUTH_FILE in `folder` or the folder above it
    (None, None: there is none)."""
    if given is not None:
        return read_truth(given, field), Path(given)
    for f in (Path(folder) / TRUTH_FILE, Path(folder).parent / TRUTH_FILE):
        if f.is_file():
            return read_truth(f), f
    return None, None


def cadence_of(label: str) -> int | None:
    """The cadence in an oracle label ("oracle@13" -> 13; None without one)."""
    tail = str(label).rsplit("@", 1)
    return int(tail[1]) if len(tail) == 2 and tail[1].isdigit() else None


def pick_oracle(truth: pd.DataFrame, cadence: int | None) -> str | None:
    """The oracle of a truth table to compare with a vendor adjusting every `cadence`
    weeks: the one labelled "...@<cadence>", else the first (None: no rows)."""
    labels = list(dict.fromkeys(truth["oracle"].astype(str)))
    if not labels:
        return None
    return next((x for x in labels if cadence_of(x) == cadence), labels[0])


def _same_cadence_first(truth: pd.DataFrame, cadence: int | None) -> list[str]:
    """The oracles of a truth table, those of `cadence` first, else in their order."""
    return sorted(truth["oracle"].astype(str).unique(), key=lambda x: cadence_of(x) != cadence)


def truth_at(
    truth: pd.DataFrame, cadence: int | None, week: int, channel: str
) -> dict[str, Any] | None:
    """The true return of `channel` at the latest truth week <= `week`, from the oracle
    of the same cadence if there is one, else any oracle (a row as a dict; None: none)."""
    for label in _same_cadence_first(truth, cadence):
        t = truth[(truth["oracle"].astype(str) == label) & (truth["channel"] == channel)]
        t = t[t["week"] <= week].sort_values("week")
        if len(t):
            return t.iloc[-1].to_dict()
    return None


def returns_at(truth: pd.DataFrame, cadence: int | None, week: int) -> dict[str, float]:
    """Every channel's true return at one oracle's latest truth week <= `week` (the
    oracle of the same cadence if it has such a week, else the next that has): the truth
    an adjustment at `week` is judged against, all channels from the same counterfactual
    runs. {}: no oracle has a week that early."""
    for label in _same_cadence_first(truth, cadence):
        t = truth[(truth["oracle"].astype(str) == label) & (truth["week"] <= week)]
        if len(t):
            last = t[t["week"] == t["week"].max()]
            return dict(zip(last["channel"], last["true_return"], strict=True))
    return {}
