"""Turn a finished (or paused) model into tidy tables: one row per thing, stable columns.

buyers and vendors come from the state (sim/state.py); journeys, touches, weekly,
source_use and spend from the recorders registered with the model (sim/recorders.py).
Nothing here writes files; analysis/engine/store.py and run.py do.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

import sim.metrics as metrics
from sim.channels import CHANNEL_NAMES, CHANNELS, Stage
from sim.processes.decision import REASONS
from sim.scenario import SENIORITIES, SIZE_CLASSES

STAGE_LABELS = tuple(s.label for s in Stage)
RESEARCH_LABELS = ("early", "middle", "final")
OUTCOMES = ("no_decision", "purchase", "open")


def _labels(codes: np.ndarray, labels: tuple[str, ...]) -> pd.Series:
    """Codes to strings, -1 to null (a pandas "string" column).

    Taken in Arrow from the few labels (a million-row touch table spends most of its
    time here otherwise: pandas would convert one Python string per row)."""
    codes = np.asarray(codes)
    if not labels:
        return pd.Series(pd.array([None] * codes.size, dtype="string"))
    missing = codes < 0
    index = pa.array(np.where(missing, 0, codes).astype(np.int64), mask=missing)
    strings = pa.array(list(labels), type=pa.large_string()).take(index)
    return pd.Series(pd.arrays.ArrowStringArray(strings))


def buyers_table(model: Any) -> pd.DataFrame:
    """One row per buyer: account, seniority, social use and roles, budget."""
    b = model.buyers
    return pd.DataFrame(
        {
            "buyer_id": np.arange(b.n, dtype=np.int64),
            "account_id": b.account,
            "seniority": _labels(b.seniority.astype(np.int64), SENIORITIES),
            "uses_social": b.uses_social,
            "joiner": b.joiner,
            "critic": b.critic,
            "spectator": b.spectator,
            "budget": b.budget,
        }
    )


def journeys_table(model: Any) -> pd.DataFrame:
    """One row per buying-group journey (named by the group's lead): closed ones with
    their outcome and, for no decision, its reason; open ones as `open`."""
    log, b, acc = model.recorder("journeys"), model.buyers, model.accounts
    r = {k: log.column(k) for k in ("journey_id", "buyer_id", "start_week", "end_week")}
    r |= {k: log.column(k) for k in ("outcome", "vendor", "deal_value", "share_at_contact")}
    r |= {k: log.column(k) for k in ("originated", "referred", "account_id", "reason")}
    open_rows = np.flatnonzero(b.journey >= 0)
    # one open journey per group: its first (lead) row; members hold the lowest contact share
    _, first = np.unique(b.journey[open_rows], return_index=True)
    open_b = open_rows[np.sort(first)]
    n_open = open_b.size
    open_share = np.full(n_open, np.nan)
    if n_open:
        seg = np.searchsorted(open_rows, open_b)
        open_share = np.fmin.reduceat(b.share_at_contact[open_rows], seg)
    journey_id = np.concatenate([r["journey_id"], b.journey[open_b]]).astype(np.int64)
    order = np.argsort(journey_id, kind="stable")
    end_week = np.concatenate([r["end_week"], np.full(n_open, -1)]).astype(np.int64)
    vendor = np.concatenate([r["vendor"], np.full(n_open, -1)]).astype(np.int64)
    outcome = np.concatenate([r["outcome"], np.full(n_open, 2)]).astype(np.int64)
    deal = np.concatenate([r["deal_value"], np.full(n_open, np.nan)])
    account = np.concatenate([r["account_id"], b.account[open_b]]).astype(np.int64)
    size_class = acc.size_class[account].astype(np.int64)
    reason = np.concatenate([r["reason"], np.zeros(n_open)]).astype(np.int64)
    df = pd.DataFrame(
        {
            "journey_id": journey_id,
            "buyer_id": np.concatenate([r["buyer_id"], open_b]).astype(np.int64),
            "account_id": account,
            "size_class": np.asarray(("single", *SIZE_CLASSES), dtype=object)[size_class + 1],
            "group_size": acc.size[account].astype(np.int64),
            "start_week": np.concatenate([r["start_week"], b.journey_start[open_b]]).astype(
                np.int64
            ),
            "end_week": pd.array(np.where(end_week < 0, None, end_week), dtype="Int64"),
            "outcome": _labels(outcome, OUTCOMES),
            "no_decision_reason": np.asarray(REASONS, dtype=object)[reason],
            "vendor": _labels(vendor, model.vendor_names),
            "deal_value": pd.array(np.where(vendor < 0, np.nan, deal), dtype="Float64"),
            "research_share_at_first_sales_contact": pd.array(
                np.concatenate([r["share_at_contact"], open_share]),
                dtype="Float64",
            ),
            "marketing_originated": np.concatenate(
                [r["originated"], np.zeros(n_open, bool)]
            ).astype(bool),
            "referred": np.concatenate([r["referred"], np.zeros(n_open, bool)]).astype(bool),
            **consideration_columns(model, log, acc, open_b),
        }
    )
    df["deal_value"] = df["deal_value"].where(df["vendor"].notna(), pd.NA)
    return df.iloc[order].reset_index(drop=True)


def vendor_lists(masks: np.ndarray, names: tuple[str, ...]) -> pd.Series:
    """Vendor bitmasks as "A;B" (bit v: vendor v), null for 0 (no list)."""
    out = np.full(masks.size, None, dtype=object)
    for m in np.unique(masks[masks > 0]):
        out[masks == m] = ";".join(n for v, n in enumerate(names) if int(m) >> v & 1)
    return pd.Series(out, dtype="string")


def consideration_columns(model: Any, log: Any, acc: Any, open_b: np.ndarray) -> dict[str, Any]:
    """Market v3's journey columns (docs/model.md §10a, §12a): renewal (the purchase
    renews the group's incumbent), day_one_list and shortlist ("A;B", null when the
    consideration rules are off or nothing was listed), preferred_vendor (at the first
    sales contact), on_day_one_list and first_favourite_won (for purchases)."""
    from sim.processes.shortlist import masks

    n_open = open_b.size
    closed = len(log.closed)
    renewal = log.column("renewal").astype(bool) if closed else np.zeros(0, bool)
    day_one = log.column("day_one_mask").astype(np.int64) if closed else np.zeros(0, np.int64)
    short = log.column("shortlist_mask").astype(np.int64) if closed else np.zeros(0, np.int64)
    preferred = log.column("preferred").astype(np.int64) if closed else np.zeros(0, np.int64)
    vendor = log.column("vendor").astype(np.int64) if closed else np.zeros(0, np.int64)
    if model.spec.consideration.on and n_open:
        open_acc = model.buyers.account[open_b]
        # rows that still hold an earlier journey say nothing of the open one
        mine = acc.journey_of[open_acc] == model.buyers.journey[open_b]
        day_one = np.concatenate([day_one, np.where(mine, masks(acc.day_one[open_acc]), 0)])
        short = np.concatenate([short, np.where(mine, masks(acc.shortlist[open_acc]), 0)])
        preferred = np.concatenate([preferred, np.where(mine, acc.preferred[open_acc], -1)])
    else:
        day_one = np.concatenate([day_one, np.zeros(n_open, np.int64)])
        short = np.concatenate([short, np.zeros(n_open, np.int64)])
        preferred = np.concatenate([preferred, np.full(n_open, -1)])
    vendor = np.concatenate([vendor, np.full(n_open, -1)])
    bought = vendor >= 0
    on = model.spec.consideration.on
    bit = np.left_shift(np.int64(1), np.maximum(vendor, 0))
    on_list = np.where(bought & on, (day_one & bit) > 0, False)
    return {
        "renewal": np.concatenate([renewal, np.zeros(n_open, bool)]),
        "day_one_list": vendor_lists(day_one, model.vendor_names),
        "shortlist": vendor_lists(short, model.vendor_names),
        "preferred_vendor": _labels(preferred, model.vendor_names),
        "on_day_one_list": pd.array(np.where(bought & on, on_list, None), dtype="boolean"),
        "first_favourite_won": pd.array(
            np.where(bought & on & (preferred >= 0), vendor == preferred, None), dtype="boolean"
        ),
    }


def touches_table(model: Any, blocks: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per Touch: a consultation (naming the vendor it showed, if any), a
    social-selling contact or a sales quote. `gain` is the preference it added for that
    vendor."""
    keys = ("journey", "buyer", "stage", "vendor")
    if not blocks:
        cols = {k: np.zeros(0, dtype=np.int64) for k in (*keys, "week")}
        channel, gain = np.zeros(0, dtype=np.int64), np.zeros(0)
    else:
        cols = {k: np.concatenate([b[k] for b in blocks]).astype(np.int64) for k in keys}
        cols["week"] = np.concatenate([np.full(b["buyer"].size, b["week"]) for b in blocks]).astype(
            np.int64
        )
        channel = np.concatenate([b["channel"] for b in blocks]).astype(np.int64)
        gain = np.concatenate([b["gain"] for b in blocks])
    social = np.array([c.social for c in CHANNELS])[channel]
    # a social-selling contact is a sales rep reached through a social network
    social_sold = np.concatenate(
        [np.full(b["buyer"].size, b["social_selling"]) for b in blocks] or [np.zeros(0, bool)]
    )
    quote = np.concatenate(
        [np.full(b["buyer"].size, b["quote"]) for b in blocks] or [np.zeros(0, bool)]
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
            "quote": quote,
            "gain": gain,
        }
    )


def weekly_table(model: Any) -> pd.DataFrame:
    """One row per week: buyers in each stage at the week's end, conversions per vendor."""
    stages, conv = model.recorder("weekly").arrays(model.market.n)
    cols: dict[str, np.ndarray] = {"week": np.arange(len(stages), dtype=np.int64)}
    for s in Stage:
        cols[s.label] = stages[:, s.value]
    for i, name in enumerate(model.vendor_names):
        cols[f"conversions_{name}"] = conv[:, i]
    return pd.DataFrame(cols)  # built at once: no column-by-column frame


def vendors_table(model: Any) -> pd.DataFrame:
    """The vendor scorecard: conversions, win share, revenue, spend, ROI (per the seed:
    marketing-originated revenue), revenue per marketing dollar (all revenue), CAC,
    break-even volume and the share of customers originated by marketing.

    `conversions` counts the simulated buyers' purchases; everything else is for the
    market the scenario represents (`market_conversions` = conversions x real buyers per
    simulated buyer; revenue likewise), since the spend buys presence in that market.

    Break-even volume counts the vendor's fixed costs over the simulated weeks plus its
    marketing spend, against the mean deal's contribution margin.
    """
    m, scale = model.market, model.market_scale
    # the sample's counts and money scaled to the market the spend is for
    conv = m.conversions * scale
    revenue, originated_revenue = m.revenue * scale, m.originated_revenue * scale
    spend = m.marketing_spend()
    deal = metrics.mean_deal(revenue, conv)
    variable = m.variable_cost * deal
    fixed = m.fixed_costs * model.week + spend
    return pd.DataFrame(
        {
            "vendor": pd.Series(model.vendor_names, dtype="string"),
            "conversions": m.conversions.astype(np.int64),
            "market_conversions": conv,
            "win_share": metrics.win_share(conv),
            "revenue": revenue,
            "marketing_spend": spend,
            "roi": metrics.roi(originated_revenue, spend),
            "originated_revenue": originated_revenue,
            "revenue_per_marketing_dollar": metrics.revenue_per_marketing_dollar(revenue, spend),
            "cost_per_acquisition": metrics.cost_per_acquisition(spend, conv),
            "break_even_volume": metrics.break_even_volume(fixed, deal, variable),
            "originated_share": metrics.originated_share(m.originated, m.conversions),
        }
    )


def funnel(model: Any) -> dict[str, int]:
    """Stage funnel over all journeys so far: how many reached each stage, and the
    outcomes. Every closed journey went through the final stage."""
    outcomes = model.recorder("journeys").column("outcome")
    closed = int(outcomes.size)
    b = model.buyers
    open_rows = np.flatnonzero(b.journey >= 0)
    j = b.journey[open_rows]
    heads = np.flatnonzero(np.r_[True, j[1:] != j[:-1]]) if j.size else j
    # a group's journey is as far as its furthest member
    open_stage = np.maximum.reduceat(b.stage[open_rows], heads) if j.size else b.stage[:0]
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


def source_use_table(model: Any) -> pd.DataFrame:
    """Consultations per research stage and channel, all weeks so far (long format)."""
    total = model.recorder("source_use").total
    stages = np.repeat(np.arange(3), len(CHANNEL_NAMES))
    chans = np.tile(np.arange(len(CHANNEL_NAMES)), 3)
    return pd.DataFrame(
        {
            "stage": _labels(stages, RESEARCH_LABELS),
            "channel": _labels(chans, CHANNEL_NAMES),
            "touches": total.ravel().astype(np.int64),
        }
    )


def spend_table(model: Any) -> pd.DataFrame:
    """Spend per week, vendor and channel (social selling as its own line), long format:
    what each vendor's policy actually spent, so a changed plan is costed right."""
    log = model.recorder("spend")
    weeks, v, c = len(log.channels), model.market.n, len(CHANNEL_NAMES)
    lines = (*CHANNEL_NAMES, "social_selling")
    if weeks:
        spend = np.concatenate(
            [np.array(log.channels).reshape(weeks, v, c), np.array(log.social)[:, :, None]],
            axis=2,
        )
    else:
        spend = np.zeros((0, v, c + 1))
    w, vi, li = np.meshgrid(np.arange(weeks), np.arange(v), np.arange(c + 1), indexing="ij")
    return pd.DataFrame(
        {
            "week": w.ravel().astype(np.int64),
            "vendor": _labels(vi.ravel(), model.vendor_names),
            "line": _labels(li.ravel(), lines),
            "spend": spend.ravel(),
        }
    )


def observed_table(model: Any, parts: list) -> pd.DataFrame:
    """One row per observation of a data-loop vendor (docs/model.md §5a): its vendor,
    week, journey_id (-1: an anonymous count), method, channel ("dont_know": a customer
    who remembered nothing), kind (touch, answer, record, count) and credit (this
    observation's share of a conversion's credit; 0 for a touch as it is observed), from
    the parts of every week's `Observations`."""
    from sim.tracking import KINDS, METHOD_LABELS, OBSERVED_CHANNELS, Observations

    col = Observations.columns(parts)
    vendors = model.tracking.vendors[col["slot"].astype(np.int64)]
    return pd.DataFrame(
        {
            "vendor": _labels(vendors, model.vendor_names),
            "week": col["week"].astype(np.int64),
            "journey_id": col["journey"].astype(np.int64),
            "method": _labels(col["method"].astype(np.int64), METHOD_LABELS),
            "channel": _labels(col["channel"].astype(np.int64), OBSERVED_CHANNELS),
            "kind": _labels(col["kind"].astype(np.int64), KINDS),
            "credit": col["credit"].astype(float),
        }
    )


def beliefs_table(model: Any) -> pd.DataFrame:
    """One row per data-loop adjustment and channel of the vendor's initial mix: what
    it believed the channel returned (objective per currency unit spent over the window,
    by its own observations; NaN: no spend there) and the channel's share of the budget
    before and after."""
    rows = []
    for v in model.vendors:
        for week, ch, ret, before, after in getattr(v.policy, "beliefs", None) or ():
            rows.append((v.name, week, CHANNEL_NAMES[ch], ret, before, after))
    cols = ("vendor", "week", "channel", "believed_return", "share_before", "share_after")
    df = pd.DataFrame(rows, columns=list(cols))
    return df.astype(
        {
            "vendor": "string",
            "week": np.int64,
            "channel": "string",
            "believed_return": float,
            "share_before": float,
            "share_after": float,
        }
    )


def build_tables(model: Any) -> dict[str, pd.DataFrame]:
    """buyers and vendors from the state, plus every registered recorder's table."""
    out = {"buyers": buyers_table(model)}
    for rec in model.recorders:
        df = rec.table(model)
        if df is not None:
            out[rec.name] = df
    out["vendors"] = vendors_table(model)
    return out
