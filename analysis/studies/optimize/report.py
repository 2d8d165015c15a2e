"""The optimisation's answer: the summary lines the command prints, the tables, the HTML
page and the files of DIR (optimize.html, optimize.csv, optimize_comparison.csv,
optimize_curves.csv, optimize_trials.csv, optimize.json), each written through the one
output writer (analysis.engine.writer: a failure is one line, nothing half-written)."""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.engine.writer import write_csv, write_json, write_text
from analysis.render.html import fig_to_img, html_page, html_table
from analysis.studies.optimize.candidates import current
from analysis.studies.optimize.figures import curves_figure, trials_figure
from analysis.studies.optimize.optimizer import Result, final_candidates
from analysis.studies.optimize.search import Trial
from analysis.studies.optimize.section import MIX_FILE, SUMMARY_FILE, share_columns
from analysis.studies.optimize.spec import OBJECTIVES

PAGE_FILE = "optimize.html"
COMPARISON_COLUMNS = [
    "variant",
    "reference",
    "n_pairs",
    "mean_variant",
    "mean_reference",
    "diff",
    "ci_low",
    "ci_high",
    "p_value",
    "p_holm",
    "verdict",
]
CURVE_COLUMNS = [
    "channel",
    "weekly_spend",
    "weekly_budget",
    "replications",
    "conversions",
    "conversions_half_width",
    "marginal_cpa",
]


# ----------------------------------------------------------------------------- words
def _fmt(x: float, objective: str = "conversions") -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if objective == "profit" or abs(x) >= 1e5:
        return f"{x / 1e6:,.2f}M" if abs(x) >= 1e6 else f"{x:,.0f}"
    return f"{x:,.1f}"


def _uplift(result: Result) -> Any:
    """The recommended-vs-current row of the final comparison (None if it is missing)."""
    c = result.comparison
    up = c[(c["variant"] == "recommended") & (c["reference"] == "current")]
    return up.iloc[0] if len(up) else None


def _interval(u: Any, objective: str) -> str:
    return f"95% CI {_fmt(u.ci_low, objective)} to {_fmt(u.ci_high, objective)}"


def headline(result: Result) -> str:
    """One line: the vendor's recommended mix and the uplift expected over its own."""
    spec = result.spec
    rec = result.recommended
    mix = ", ".join(
        f"{c} {100 * s:.0f}%" for c, s in sorted(rec.shares().items(), key=lambda kv: -kv[1])
    )
    u = _uplift(result)
    tail = ""
    if u is not None:
        tail = (
            f"; expected uplift over the current mix {_fmt(u['diff'], spec.objective)} "
            f"({_interval(u, spec.objective)})"
        )
    return f"{spec.vendor} at {rec.budget:,.0f} a week: {mix}{tail}"


def posterior_lines(result: Result) -> tuple[list[str], list[str]]:
    """Across a posterior (empty without one): the first line (the answers are across
    its draws) and the lines after the final comparison: the probability that each of
    the final family is best (its share of the final replications won, ties shared) and
    the drawn parameter the recommended-vs-current difference depends on most."""
    import numpy as np

    from analysis.stats.verdict import best_shares, depends_most

    spec = result.spec
    if spec.draws is None or result.final.empty:
        return [], []
    first = [
        f"answers across posterior draws of {spec.draws.source}: parameter uncertainty "
        "included (replication r of every candidate ran under the same drawn parameter "
        f"set; the final comparison across {spec.final_replications} draws)"
    ]
    wide = result.final.pivot_table(
        index="replication", columns="variant", values=spec.objective, aggfunc="first"
    )
    probs = best_shares(wide).sort_values(ascending=False, kind="stable")
    after = [
        "probability best over the final replications (share won, ties shared): "
        + ", ".join(f"{k} {v:.2f}" for k, v in probs.items())
    ]
    if {"recommended", "current"} <= set(wide.columns):
        d = (wide["recommended"] - wide["current"]).dropna()
        drawn = pd.DataFrame([spec.draws.at(int(r))[0] for r in d.index], index=d.index)
        dep = depends_most(d.to_numpy(float), drawn)
        if dep is not None:
            op = ">" if dep.strict else ">="
            after.append(
                f"the answer depends most on {dep.name} (Spearman {dep.rho:+.2f} with "
                f"recommended - current): the recommended mix beats the current one in "
                f"{100 * dep.share_above:.0f}% of the draws with {dep.name} {op} "
                f"{dep.split:.3g}, {100 * dep.share_below:.0f}% of the others"
            )
        elif np.nanstd(d.to_numpy(float)) == 0:
            after.append("the answer depends most on: nothing drawn (the difference is constant)")
    return first, after


def summary_lines(result: Result) -> list[str]:
    """What the command prints: the mix, the final comparison, the uplift, and the
    marginal cost per acquisition of each channel's next step up (across a posterior:
    first that, and the probability each of the final family is best)."""
    spec = result.spec
    obj = OBJECTIVES[spec.objective]
    rec = result.recommended
    across, after = posterior_lines(result)
    lines = [
        *across,
        f"{spec.vendor}: the mix that maximises {obj} at {rec.budget:,.0f} a week "
        f"({len(result.trials)} trials x {spec.replications} replications, top {spec.top_k} "
        f"re-run with {spec.replications + spec.top_replications}):",
    ]
    for c, s in sorted(rec.shares().items(), key=lambda kv: -kv[1]):
        lines.append(f"  {c:<24}{100 * s:5.1f}%  {s * rec.budget:>10,.0f} a week")
    lines.append(
        f"final comparison on {spec.final_replications} fresh replications (paired; 95% CI; "
        "Holm over these comparisons):"
    )
    for r in result.comparison.itertuples():
        lines.append(f"  {r.plain}")
    lines += after
    u = _uplift(result)
    if u is not None:
        lines.append(
            f"expected uplift over the current mix: {_fmt(u['diff'], spec.objective)} {obj} "
            f"({_interval(u, spec.objective)}; {100 * u.relative:+.1f}%)"
        )
    if len(result.curves):
        lines.append("marginal cost per acquisition at the recommended spend (next step up):")
        lines += [f"  {ch:<24}{text}" for ch, text in _next_step_cpa(result)]
    return lines


def _next_step_cpa(result: Result) -> list[tuple[str, str]]:
    """(channel, marginal CPA of the step above the level nearest its recommended spend)."""
    rec = result.recommended
    out = []
    for ch, g in result.curves.groupby("channel", sort=False):
        g = g.reset_index(drop=True)
        here = rec.shares().get(ch, 0.0) * rec.budget
        i = int((g["weekly_spend"] - here).abs().idxmin())
        nxt = g["marginal_cpa"].iloc[i + 1] if i + 1 < len(g) else math.nan
        out.append(
            (ch, "no gain" if math.isinf(nxt) else "-" if math.isnan(nxt) else f"{nxt:,.0f}")
        )
    return out


# ----------------------------------------------------------------------------- tables
def mix_table(result: Result) -> pd.DataFrame:
    """Shares and weekly spend per channel: recommended, current, equal split."""
    spec = result.spec
    cands = final_candidates(spec, result.recommended)
    chans = list(dict.fromkeys([*spec.channels, *current(spec).shares()]))
    rows = []
    for c in chans:
        row: dict[str, Any] = {"channel": c}
        for name, cand in cands.items():
            s = cand.shares().get(c, 0.0)
            row[f"{name} share"] = s
            row[f"{name} weekly spend"] = s * cand.budget
        rows.append(row)
    return pd.DataFrame(rows)


def trials_table(trials: list[Trial], objective: str) -> pd.DataFrame:
    """Every told trial: its candidate, budget, search mean and shares."""
    return pd.DataFrame(
        [
            {
                "trial": t.number,
                "candidate": t.candidate.key,
                "budget": t.candidate.budget,
                objective: t.score,
                **{f"share:{c}": s for c, s in t.candidate.mix},
            }
            for t in trials
        ]
    )


def summary(result: Result) -> dict[str, Any]:
    """optimize.json: the set-up, the recommended mix, the headline and the comparisons
    (what the batch report's section shows)."""
    spec = result.spec
    return {
        **spec.describe(),
        "recommended": result.recommended.shares(),
        "recommended_budget": result.recommended.budget,
        "headline": headline(result),
        "comparisons": [r.plain for r in result.comparison.itertuples()],
        "setup": f"{len(result.trials)} trials x {spec.replications} replications, "
        f"objective {spec.objective}",
    }


# ----------------------------------------------------------------------------- the page
def optimize_html(result: Result) -> str:
    """The answer page: mix, final comparison, response curves, the search."""
    spec = result.spec
    parts = [f"<h1>Mix optimisation: {html.escape(spec.vendor)} ({html.escape(spec.name)})</h1>"]
    if spec.description:
        parts.append(f"<p>{html.escape(spec.description)}</p>")
    across, after = posterior_lines(result)
    parts.append(
        "<h2>Answer</h2>"
        + "".join(f"<p><b>{html.escape(line)}</b></p>" for line in across)
        + "<p><b>"
        + html.escape(headline(result))
        + "</b></p>"
    )
    parts.append(
        "<ul>"
        + "".join(f"<li>{html.escape(r.plain)}</li>" for r in result.comparison.itertuples())
        + "</ul>"
    )
    parts += [f"<p>{html.escape(line)}</p>" for line in after]
    mt = mix_table(result)
    parts.append(html_table(mt, percent=share_columns(list(mt.columns))))
    parts.append(
        '<p class="note">Paired differences over the same fresh replications (seeds never used to '
        "choose the mix), 95% t intervals; Holm's adjustment over the comparisons listed "
        "(one family: this vendor and objective).</p>"
    )
    parts.append(html_table(result.comparison[COMPARISON_COLUMNS]))
    if len(result.curves):
        parts += _curves_part(result)
    parts += _search_part(result)
    return html_page(f"Mix optimisation: {spec.vendor}", "\n".join(parts))


def _curves_part(result: Result) -> list[str]:
    return [
        "<h2>Response curves and marginal cost per acquisition</h2>",
        fig_to_img(curves_figure(result), "response curves per channel"),
        html_table(result.curves[CURVE_COLUMNS]),
        '<p class="note">Marginal cost per acquisition: extra marketing spend over the run / '
        "extra conversions (market-scaled) from the spend level above; inf: no gain.</p>",
    ]


def _search_part(result: Result) -> list[str]:
    spec = result.spec
    return [
        "<h2>Search</h2>",
        fig_to_img(trials_figure(result), "objective by trial"),
        html_table(result.top),
        f'<p class="note">Optuna TPE (multivariate, constant liar) over softmax logits, '
        f"{spec.batch} trials per batch; each trial {spec.replications} replications with "
        f"common seeds; objective: {html.escape(OBJECTIVES[spec.objective])}; top "
        f"{spec.top_k} re-run with {spec.replications + spec.top_replications} "
        "replications.</p>",
    ]


# ----------------------------------------------------------------------------- the files
def write_outputs(result: Result, out: str | Path) -> list[Path]:
    """Write the answer's files into `out` (each whole or not at all); returns them in
    the order written."""
    out = Path(out)
    return [
        write_text(out / PAGE_FILE, optimize_html(result)),
        write_csv(out / MIX_FILE, mix_table(result)),
        write_csv(out / "optimize_comparison.csv", result.comparison),
        write_csv(out / "optimize_curves.csv", result.curves),
        write_csv(out / "optimize_trials.csv", trials_table(result.trials, result.spec.objective)),
        write_json(out / SUMMARY_FILE, summary(result)),
    ]
