"""Measured attribution: how a marketing team splits a vendor's conversions over channels.

Each of the vendor's conversions is split over the touches that named the vendor in the
buyer's journey (sim's Touch table), by five rules:

- first touch: all credit to the first touch;
- last touch: all credit to the last touch before the purchase;
- linear: equal credit to every touch;
- position-based (40/20/40): 40% first, 40% last, 20% shared by the touches between
  (one touch gets 100%, two get 50/50);
- point-of-sale self-report: the buyer names the touch that most raised their preference
  for the vendor (the largest `gain`); a buyer whose touches raised nothing names none.

Conversions with no touch naming the vendor (an incumbent's repeat purchase, say) stay
unattributed (UNATTRIBUTED). Social-selling contacts are their own line (SOCIAL_SELLING).
Sales quotes are the sales team's, not marketing touches: they are left out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

METHODS: dict[str, str] = {
    "first_touch": "first touch",
    "last_touch": "last touch",
    "linear": "linear",
    "position_based": "position-based 40/20/40",
    "self_report": "self-report",
}
SOCIAL_SELLING = "social_selling"
UNATTRIBUTED = "(no touch)"


def vendor_touch_paths(
    journeys: pd.DataFrame, touches: pd.DataFrame, vendor: str
) -> tuple[pd.DataFrame, int]:
    """The touches naming `vendor` in the journeys it won, in time order, and the number
    of those conversions. Social-selling contacts are labelled `social_selling`.

    Returns (paths, conversions): paths has columns journey_id, channel, gain, pos, n."""
    won = journeys.loc[
        (journeys["outcome"] == "purchase") & (journeys["vendor"] == vendor), "journey_id"
    ]
    quote = touches["quote"] if "quote" in touches else False
    t = touches.loc[
        (touches["vendor"] == vendor) & touches["journey_id"].isin(won) & ~quote,
        ["journey_id", "week", "channel", "gain", "social_selling"],
    ].copy()
    t["order"] = np.arange(len(t))  # table order breaks ties within a week
    t = t.sort_values(["journey_id", "week", "order"], kind="stable")
    t["channel"] = np.where(
        t["social_selling"].to_numpy(bool), SOCIAL_SELLING, t["channel"].astype(str)
    )
    g = t.groupby("journey_id", sort=False)
    t["pos"] = g.cumcount().to_numpy()
    t["n"] = g["week"].transform("size").to_numpy()
    return t[["journey_id", "channel", "gain", "pos", "n"]].reset_index(drop=True), len(won)


def credit_weights(paths: pd.DataFrame) -> pd.DataFrame:
    """Each touch's credit under every rule (each journey's credits sum to 1 per rule,
    except self-report when no touch raised the preference)."""
    pos, n = paths["pos"].to_numpy(), paths["n"].to_numpy()
    first, last = pos == 0, pos == n - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        middle = np.where(n > 2, 0.2 / (n - 2), 0.0)
    position = np.where(n == 1, 1.0, np.where(n == 2, 0.5, np.where(first | last, 0.4, middle)))
    out = pd.DataFrame(
        {
            "journey_id": paths["journey_id"].to_numpy(),
            "channel": paths["channel"].to_numpy(),
            "first_touch": first.astype(float),
            "last_touch": last.astype(float),
            "linear": 1.0 / n,
            "position_based": position,
        }
    )
    # self-report: the touch with the largest preference gain (first one on ties)
    named = np.zeros(len(paths))
    if len(paths):
        gain = paths["gain"].to_numpy(float)
        best = paths.assign(_g=gain).groupby("journey_id", sort=False)["_g"].idxmax()
        best = best[gain[best.to_numpy()] > 0]
        named[best.to_numpy()] = 1.0
    out["self_report"] = named
    return out


def measured_credit(journeys: pd.DataFrame, touches: pd.DataFrame, vendor: str) -> pd.DataFrame:
    """Conversions credited to each channel by each rule for one run.

    Returns a wide table: index channel (plus UNATTRIBUTED), one column per rule, and the
    run's conversions for the vendor in `.attrs["conversions"]`."""
    paths, conversions = vendor_touch_paths(journeys, touches, vendor)
    w = credit_weights(paths)
    credit = w.groupby("channel")[list(METHODS)].sum()
    credit.loc[UNATTRIBUTED] = conversions - credit.sum()
    credit.attrs["conversions"] = conversions
    return credit
