"""Turn a finished (or paused) model into tidy tables: one row per thing, stable columns.

buyers, journeys, touches, weekly and vendors, as pandas DataFrames. Nothing here writes
files; analysis/store.py and run.py do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim import metrics
from sim.channels import CHANNEL_NAMES, CHANNELS, Stage
from sim.scenario import SENIORITIES

if TYPE_CHECKING:
    from sim.model import BuyerJourneyModel

STAGE_LABELS = tuple(s.label for s in Stage)
RESEARCH_LABELS = ("early", "middle", "final")
OUTCOMES = ("no_decision", "purchase", "open")


def _labels(codes: np.ndarray, labels: tuple[str, ...]) -> pd.Series:
    """Codes to strings, -1 to null (pandas object column of str / None)."""
    lut = np.array([*labels, None], dtype=object)
    return pd.Series(lut[np.where(codes < 0, len(labels), codes)], dtype="string")


def buyers_table(model: BuyerJourneyModel) -> pd.DataFrame:
    """One row per buyer: seniority, social use and roles, budget."""
    return pd.DataFrame(
        {
            "buyer_id": np.arange(model.n_buyers, dtype=np.int64),
            "seniority": _labels(model.seniority.astype(np.int64), SENIORITIES),
            "uses_social": model.uses_social,
            "joiner": model.joiner,
            "critic": model.critic,
            "spectator": model.spectator,
            "budget": model.budget,
        }
    )


def journeys_table(model: BuyerJourneyModel) -> pd.DataFrame:
    """One row per journey: closed ones with their outcome, open ones as `open`."""
    r = {k: (np.concatenate(v) if v else np.zeros(0)) for k, v in model.journey_rows.items()}
    open_b = np.flatnonzero(model.journey >= 0)
    n_open = open_b.size
    journey_id = np.concatenate([r["journey_id"], model.journey[open_b]]).astype(np.int64)
    order = np.argsort(journey_id, kind="stable")
    end_week = np.concatenate([r["end_week"], np.full(n_open, -1)]).astype(np.int64)
    vendor = np.concatenate([r["vendor"], np.full(n_open, -1)]).astype(np.int64)
    outcome = np.concatenate([r["outcome"], np.full(n_open, 2)]).astype(np.int64)
    deal = np.concatenate([r["deal_value"], np.full(n_open, np.nan)])
    df = pd.DataFrame(
        {
            "journey_id": journey_id,
            "buyer_id": np.concatenate([r["buyer_id"], open_b]).astype(np.int64),
            "start_week": np.concatenate([r["start_week"], model.journey_start[open_b]]).astype(
                np.int64
            ),
            "end_week": pd.array(np.where(end_week < 0, None, end_week), dtype="Int64"),
            "outcome": _labels(outcome, OUTCOMES),
            "vendor": _labels(vendor, model.vendor_names),
            "deal_value": pd.array(np.where(vendor < 0, np.nan, deal), dtype="Float64"),
            "research_share_at_first_sales_contact": pd.array(
                np.concatenate([r["share_at_contact"], model.share_at_contact[open_b]]),
                dtype="Float64",
            ),
            "marketing_originated": np.concatenate(
                [r["originated"], np.zeros(n_open, bool)]
            ).astype(bool),
            "referred": np.concatenate([r["referred"], np.zeros(n_open, bool)]).astype(bool),
        }
    )
    df["deal_value"] = df["deal_value"].where(df["vendor"].notna(), pd.NA)
    return df.iloc[order].reset_index(drop=True)


def touches_table(model: BuyerJourneyModel) -> pd.DataFrame:
    """One row per Touch: a consultation (naming the vendor it showed, if any) or a
    social-selling contact. `gain` is the preference it added for that vendor."""
    blocks = model.touch_blocks
    if not blocks:
        channel = np.zeros(0, dtype=np.int64)
        cols = {
            k: np.zeros(0, dtype=np.int64) for k in ("journey", "buyer", "stage", "vendor", "week")
        }
        gain = np.zeros(0)
    else:
        cols = {
            k: np.concatenate([getattr(b, k) for b in blocks]).astype(np.int64)
            for k in ("journey", "buyer", "stage", "vendor")
        }
        cols["week"] = np.concatenate([np.full(b.buyer.size, b.week) for b in blocks]).astype(
            np.int64
        )
        channel = np.concatenate([b.channel for b in blocks]).astype(np.int64)
        gain = np.concatenate([b.gain for b in blocks])
    social = np.array([c.social for c in CHANNELS])[channel]
    # a social-selling contact is a sales rep reached through a social network
    social_sold = np.concatenate(
        [np.full(b.buyer.size, b.social_selling) for b in blocks] or [np.zeros(0, bool)]
    )
    return pd.DataFrame(
        {
            "journey_id": cols["journey"],
            "buyer_id": cols["buyer"],
            "week": cols["week"],
            "stage": _labels(cols["stage"], RESEARCH_LABELS),
            "channel": _labels(channel, CHANNEL_NAMES),
            "vendor": _labels(cols["vendor"], model.vendor_names),
            "social": social | social_sold,
            "social_selling": social_sold,
            "gain": gain,
        }
    )


def weekly_table(model: BuyerJourneyModel) -> pd.DataFrame:
    """One row per week: buyers in each stage at the week's end, conversions per vendor."""
    weeks = len(model.weekly_stages)
    stages = np.array(model.weekly_stages, dtype=np.int64).reshape(weeks, len(Stage))
    conv = np.array(model.weekly_conversions, dtype=np.int64).reshape(weeks, model.n_vendors)
    df = pd.DataFrame({"week": np.arange(weeks, dtype=np.int64)})
    for s in Stage:
        df[s.label] = stages[:, s.value]
    for i, name in enumerate(model.vendor_names):
        df[f"conversions_{name}"] = conv[:, i]
    return df


def vendors_table(model: BuyerJourneyModel) -> pd.DataFrame:
    """The vendor scorecard: conversions, win share, revenue, spend, ROI, CAC,
    break-even volume and the share of customers originated by marketing.

    Break-even volume counts the vendor's fixed costs over the simulated weeks plus its
    marketing spend, against the mean deal's contribution margin.
    """
    sc = model.spec
    conv = model.conversions.astype(float)
    spend = model.marketing_spend()
    deal = metrics.mean_deal(model.revenue, conv)
    variable = np.array([v.variable_cost for v in sc.vendors]) * deal
    fixed = np.array([v.fixed_costs for v in sc.vendors]) * model.week + spend
    return pd.DataFrame(
        {
            "vendor": pd.Series(model.vendor_names, dtype="string"),
            "conversions": model.conversions.astype(np.int64),
            "win_share": metrics.win_share(conv),
            "revenue": model.revenue,
            "marketing_spend": spend,
            "roi": metrics.roi(model.revenue, spend),
            "cost_per_acquisition": metrics.cost_per_acquisition(spend, conv),
            "break_even_volume": metrics.break_even_volume(fixed, deal, variable),
            "originated_share": metrics.originated_share(model.originated, conv),
        }
    )


def funnel(model: BuyerJourneyModel) -> dict[str, int]:
    """Stage funnel over all journeys so far: how many reached each stage, and the
    outcomes. Every closed journey went through the final stage."""
    closed = sum(int(x.size) for x in model.journey_rows["outcome"])
    outcomes = (
        np.concatenate(model.journey_rows["outcome"]) if closed else np.zeros(0, dtype=np.int8)
    )
    open_stage = model.stage[model.journey >= 0]
    return {
        "journeys": closed + int(open_stage.size),
        "reached_early": closed + int(open_stage.size),
        "reached_middle": closed + int((open_stage >= Stage.MIDDLE).sum()),
        "reached_final": closed + int((open_stage >= Stage.FINAL).sum()),
        "decided": closed,
        "purchases": int((outcomes == 1).sum()),
        "no_decisions": int((outcomes == 0).sum()),
        "open": int(open_stage.size),
    }


def source_use_table(model: BuyerJourneyModel) -> pd.DataFrame:
    """Consultations per research stage and channel, all weeks so far (long format)."""
    stages = np.repeat(np.arange(3), len(CHANNEL_NAMES))
    chans = np.tile(np.arange(len(CHANNEL_NAMES)), 3)
    return pd.DataFrame(
        {
            "stage": _labels(stages, RESEARCH_LABELS),
            "channel": _labels(chans, CHANNEL_NAMES),
            "touches": model.source_use.ravel().astype(np.int64),
        }
    )


def build_tables(model: BuyerJourneyModel) -> dict[str, pd.DataFrame]:
    """All five tables of a run."""
    return {
        "buyers": buyers_table(model),
        "journeys": journeys_table(model),
        "touches": touches_table(model),
        "weekly": weekly_table(model),
        "vendors": vendors_table(model),
    }
