"""The live view's text cards, as Markdown: IDC's source ranking next to this week's,
the vendor table, a buyer's journey, its account and how its group last decided, and a
data-loop vendor's loop with its believed and true returns."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analysis.live.loop import NO_TRUTH_NOTE, RETURN_PER, Truth, adjustment_weeks, loop_beliefs
from analysis.live.style import channel_label, words
from sim.channels import CHANNEL_NAMES, IDC_TOP_THREE, RESEARCH_STAGES
from sim.model import BuyerJourneyModel
from sim.tables import vendors_table

if TYPE_CHECKING:
    from analysis.live.state import VizModel

#: Touches shown on a clicked buyer's card (the latest ones).
CARD_TOUCHES = 6


def idc_ranking_markdown(model: BuyerJourneyModel) -> str:
    """IDC's top three sources per stage next to this week's simulated top three."""
    use = np.asarray(model.recorder("source_use").week)
    lines = []
    for r, stage in enumerate(RESEARCH_STAGES):
        idc = IDC_TOP_THREE[stage]
        if use[r].sum() == 0:
            now = "–"
        else:
            top = np.argsort(-use[r], kind="stable")[:3]
            names = [CHANNEL_NAMES[t] for t in top if use[r, t] > 0]
            now = ", ".join(
                f"**{channel_label(x)}**" if x in idc else channel_label(x) for x in names
            )
        lines.append(
            f"- *{stage.label}*: IDC {', '.join(channel_label(x) for x in idc)}; now {now}"
        )
    lines.append("")
    lines.append("Bold: also in IDC's top three.")
    return "\n".join(lines)


def vendor_table_markdown(model: VizModel) -> str:
    """Conversions, win share, revenue, spend and ROI per vendor, so far."""
    t = vendors_table(model)
    weekly = model.market.spend.sum(1)
    lines = [
        "| vendor | budget / wk | conversions | win share | revenue | spend | ROI |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for i, row in t.iterrows():
        roi = row["roi"]
        share = row["win_share"]
        lines.append(
            f"| {row['vendor']} | {weekly[i]:,.0f} | {int(row['conversions']):,} | "
            f"{'–' if np.isnan(share) else f'{share:.0%}'} | {row['revenue']:,.0f} | "
            f"{row['marketing_spend']:,.0f} | {'–' if not np.isfinite(roi) else f'{roi:.2f}'} |"
        )
    return "\n".join(lines)


def journey_markdown(journey: dict[str, Any], last: int = CARD_TOUCHES) -> str:
    """A buyer's journey (`Buyer.journey()`) as the card's Markdown: who, where, which
    vendors with what preference, whose customer, and the `last` touches (one line each,
    so the card fits next to the graph)."""
    br = "  \n"  # a Markdown line break: compact lines, not paragraphs
    head = [
        f"**Buyer #{journey['buyer']}**: {words(journey['seniority'])}, "
        f"stage **{words(journey['stage'])}**"
    ]
    if journey["journey_id"] is None:
        head.append("No open journey.")
    else:
        head.append(
            f"Journey #{journey['journey_id']}: "
            f"{journey['research_share']:.0%} of its research done"
        )
    prefs = journey["preference"]
    considered = journey["considered"]
    if considered:
        said = ", ".join(f"{v} ({prefs.get(v, 0.0):+.2f})" for v in considered)
        head.append(f"Considering (preference): {said}")
    else:
        head.append("Considering: no vendor yet")
    head.append(f"Customer of: {journey['customer_of'] or 'no vendor yet'}")
    parts = [br.join(head)]
    touches = journey["touches"]
    if touches is None:
        if journey["journey_id"] is not None:
            parts.append("Touches are not recorded in this run.")
    elif not touches:
        parts.append("No touches yet in this journey.")
    else:
        lines = [f"Last touches ({min(last, len(touches))} of {len(touches)}):"]
        for week, channel, vendor in touches[-last:]:
            shown = f": {vendor}" if vendor else ""
            lines.append(f"week {int(week) + 1}, {channel_label(channel)}{shown}")
        parts.append(br.join(lines))
    return "\n\n".join(parts)


def _ret(x: float) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{RETURN_PER * x:,.1f}"


def loop_markdown(model: VizModel, vendor: int, table: pd.DataFrame, truth: Truth | None) -> str:
    """The DATA-loop panel's text for data-loop vendor `vendor`: its loop, its
    adjustments so far, believed vs true return per channel at its latest adjustment
    (`returns_table`) and where the truth comes from (or the note that there is none)."""
    br = "  \n"
    policy = model.loops[vendor]
    loop, name = policy.loop, model.vendor_names[vendor]
    tr = loop.tracking
    how = tr.method.replace("_", " ")
    if tr.method != "point_of_sale":
        how += f", {tr.attribution.replace('_', ' ')}"
    head = [
        f"**{name}** measures with {how} tracking (objective: {loop.objective}); adjusts "
        f"at week {loop.baseline_weeks + 1} and every {loop.cadence_weeks} weeks after, "
        f"on the last {loop.window_weeks} weeks, moving at most {loop.max_shift:.0%} of "
        f"the budget (each channel keeps {loop.exploration:.0%})."
    ]
    if model.vendors[vendor].policy is not policy:
        head.append("Its mix was set by hand in this session: the loop is off.")
    done = sorted({int(w) for w in table["week"]}) if len(table) else []
    weeks = adjustment_weeks(loop_beliefs(model), name)
    if weeks:
        head.append(f"Adjusted at week {', '.join(str(w + 1) for w in weeks)}.")
    else:
        head.append("No adjustment yet.")
    parts = [br.join(head)]
    if done:
        has_truth = bool(table["true_return"].notna().any())
        lines = [
            f"Return per {RETURN_PER:,.0f} spent at week {done[-1] + 1} "
            f"({loop.objective}), believed{' vs true' if has_truth else ''}:",
            "",
            "| channel | share before | after | believed | true (95% CI) |",
            "|---|---:|---:|---:|---:|",
        ]
        for r in table.itertuples():
            true = _ret(r.true_return)
            if true != "n/a" and np.isfinite(r.true_low) and np.isfinite(r.true_high):
                true += f" ({_ret(r.true_low)} to {_ret(r.true_high)})"
            lines.append(
                f"| {channel_label(r.channel)} | {r.share_before:.0%} | {r.share_after:.0%} "
                f"| {_ret(r.believed_return)} | {true} |"
            )
        parts.append("\n".join(lines))
    if truth is None:
        parts.append(f"*{NO_TRUTH_NOTE}.*")
    elif truth.table is None:
        parts.append(f"*{truth.problem}; {NO_TRUTH_NOTE}.*")
    else:
        src = table.dropna(subset=["oracle"]) if len(table) else table
        if len(src):
            r = src.iloc[0]
            parts.append(
                f"*True returns: {truth.path}, oracle {r['oracle']} at week "
                f"{int(r['truth_week']) + 1} (counterfactual runs of the study's market, "
                "at the oracle's own mix).*"
            )
        else:
            parts.append(f"*Truth file {truth.path}: no row for these channels and weeks yet.*")
    return "\n\n".join(parts)


def _votes_text(votes: dict[str, float] | None, digits: int = 0) -> str:
    if not votes:
        return "the votes were not kept"
    ranked = sorted(votes.items(), key=lambda kv: -kv[1])
    return "votes were " + ", ".join(f"{option} {share:.{digits}%}" for option, share in ranked)


def decision_text(decision: dict[str, Any] | None) -> str:
    """One line on how a group's last journey ended (`last_decision`), and why when it
    ended in no decision."""
    if decision is None:
        return "No group decision yet."
    head = f"Last decision (week {decision['week'] + 1}): "
    votes = _votes_text(decision["votes"])
    if decision["vendor"] is not None:
        return head + f"bought from **{decision['vendor']}** ({votes})."
    if decision["reason"] == "no_consensus":
        share = decision["consensus"] or 0.0
        lead = max(
            (x for o, x in (decision["votes"] or {}).items() if o != "status quo"), default=0
        )
        if round(100 * lead) >= round(100 * share):  # 66.7% of 67%: show it as short
            votes = _votes_text(decision["votes"], digits=1)
        why = f"no vendor had the backing of {share:.0%} of the group's weight: {votes}"
    else:
        why = f"the status quo had the most support ({votes})"
    return head + f"**no decision**: {why}."


def account_markdown(account: dict[str, Any], decision: dict[str, Any] | None) -> str:
    """The account card: a buyer's account (`Buyer.account_summary()`: size class, group
    size, the group's stage, each member's stage and research done) and how its last
    group journey ended (`last_decision`), with the reason for a no decision."""
    br = "  \n"
    if account["size_class"] is None and account["group_size"] == 1:
        head = [
            "**One-person buying group**: this buyer decides alone (the scenario has no accounts)"
        ]
    else:
        size = words(account["size_class"] or "one-person")
        head = [
            f"**Account #{account['account']}**: {size}, buying group of "
            f"{account['group_size']}, group stage **{words(account['group_stage'])}**"
        ]
        for m in account["members"]:
            share = m["research_share"]
            done = "" if share is None else f", {share:.0%} researched"
            lead = " (lead)" if m["lead"] else ""
            head.append(
                f"buyer #{m['buyer']}{lead}, {words(m['seniority'])}: {words(m['stage'])}{done}"
            )
    return br.join(head) + "\n\n" + decision_text(decision)
