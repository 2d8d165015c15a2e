"""The batch report's page, piece by piece: each function returns a `Part` (its HTML
pieces and the tables it shows) for analysis.reports.sweep.build to put in order. The
numbers come from analysis.reports.sweep.tables and .answers; the figures from .figures.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.render.html import fig_to_img, html_table
from analysis.reports.sweep import figures, tables
from analysis.reports.sweep.answers import BOOTSTRAP
from analysis.reports.sweep.data import SweepData, drawn_columns, posterior_of
from analysis.stats import compare

esc = html.escape


@dataclass
class Part:
    """A piece of the page: HTML pieces (the page joins them with newlines) and the
    tables it shows (each written as `<stem>_tables/<name>.csv`)."""

    html: list[str]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


# ------------------------------------------------------------------ title and answers
def title(d: SweepData, vendor: str | None) -> str:
    """The page's title: the sweep's name (and the vendor of a --vendor report)."""
    return f"Sweep report: {d.info.get('name', '')}" + (f" ({vendor})" if vendor else "")


def heading(d: SweepData, vendor: str | None) -> Part:
    """The title and the sweep's question."""
    out = [f"<h1>{esc(str(title(d, vendor)))}</h1>"]
    if d.info.get("description"):
        out.append(f"<p><b>Question:</b> {esc(d.info['description'])}</p>")
    return Part(out)


def answers_part(
    d: SweepData, ans: pd.DataFrame, reps: int, width: float | None, metric: str
) -> Part:
    """The answers first: how they were found, per vendor the best variant, the
    replications needed for a stated width, and how runs were paired and counted."""
    out = ['<h2 id="answers">Answers</h2>']
    across = posterior_note(d, reps)
    if across:
        out.append(across)
    body, reps_line = answers_html(ans, reps, width)
    note = _answers_note(ans, reps, metric)
    if note:
        out.append(note)
    out.append(body)
    if reps_line:
        out.append(f"<p>{esc(reps_line)}</p>")
    out.append(
        '<p class="note">Common random numbers: replication r of every variant ran with the '
        "same seed, so variants are compared pair by pair within a replication. Intervals "
        "are 95% Student-t intervals over replications. Only runs with status ok count: "
        f"{len(d.runs):,} of {len(d.runs_all):,} runs"
        + (f" ({d.failed:,} failed and left out)" if d.failed else "")
        + ". The full set-up is at the end.</p>"
    )
    return Part(out)


def posterior_note(d: SweepData, reps: int) -> str | None:
    """With a posterior: the answers are across its draws (None without one)."""
    post = posterior_of(d)
    if post is None:
        return None
    cols = drawn_columns(d)
    sets = len(d.runs.drop_duplicates("replication")[cols].drop_duplicates()) if cols else 0
    names = ", ".join(post.get("parameters", []))
    return (
        f"<p><b>Answers across {reps} posterior draws of {esc(str(post.get('file')))}: "
        "parameter uncertainty included.</b> Replication r of every variant ran under the "
        f"same parameter set drawn from the posterior ({sets} distinct sets of {esc(names)}; "
        "a variant's own settings win over the draw), so the probability of being best and "
        "the intervals include the uncertainty about those parameters.</p>"
    )


def _best_by(metric: str) -> str:
    label = esc(compare.VENDOR_METRICS[metric])
    return label + (" (lowest is best)" if metric in compare.LOWER_IS_BETTER else "")


def _answers_note(ans: pd.DataFrame, reps: int, metric: str) -> str | None:
    """How the answers were found (a sampled sweep's or a grid sweep's)."""
    if ans.empty:
        return None
    if bool(ans["sampled"].any()):
        return (
            f'<p class="note">A sampled sweep: each answer ranks the vendor\'s choices by '
            f"mean {_best_by(metric)}"
            " over the sampled market conditions, every choice run at the same points "
            "with the same seeds; each point's replications are averaged first, so the "
            "points are the units of the intervals and of the bootstrap. <b>Multiple "
            "comparisons</b>: one family per vendor and metric, Holm's adjustment within "
            "it. An average over the sampled space says which choice wins more, not where: "
            "scenario discovery (<code>run.py discover</code>) finds the conditions.</p>"
        )
    eq = bool(ans["equal_budget"].any())
    return (
        f'<p class="note">Best by mean {_best_by(metric)}'
        + f" over the {reps} replications; variants are compared "
        + ("<b>at equal budget</b> (within each budget level) and " if eq else "")
        + "under the same other conditions. <b>Probability of being best</b>: the "
        f"share of {BOOTSTRAP:,} bootstrap resamples of the replications (pairs kept "
        "together) in which the variant's mean is highest. <b>Multiple comparisons</b>: "
        "one family per vendor and metric (the vendor's best-vs-runner-up comparisons "
        f"of {esc(compare.VENDOR_METRICS[metric])}); Holm's adjustment within it; "
        "a difference is called only when "
        'its Holm-adjusted p &lt; 0.05, otherwise "no clear difference".</p>'
    )


def _money(x: Any) -> str:
    try:
        return f"{float(x):,.0f}"
    except (TypeError, ValueError):
        return str(x)


def _label(metric: str) -> str:
    return compare.VENDOR_METRICS.get(metric, metric)


def answers_html(ans: pd.DataFrame, reps: int, width: float | None) -> tuple[str, str]:
    """The answers as HTML, and the one line on replications needed for a stated width."""
    if ans.empty:
        return (
            '<p class="note">No answer to give: every variant is its own group (a sampled '
            "sweep whose choices are not crossed with its points, or a single variant); see "
            "the scorecard and the sensitivity below.</p>",
            "",
        )
    parts = []
    for vendor, g in ans.groupby("vendor", sort=False):
        n_fam = int(g["family_size"].iloc[0])
        items = [
            _sampled_item(r, vendor, n_fam)
            if getattr(r, "sampled", False)
            else _grid_item(r, vendor, n_fam)
            for r in g.itertuples()
        ]
        parts.append(f"<h3>{esc(vendor)}</h3><ul>{''.join(items)}</ul>")
    return "\n".join(parts), _width_line(ans, width)


def _grid_item(r: Any, vendor: str, n_fam: int) -> str:
    """One answer of a grid sweep (answers_table) as an HTML list item."""
    where = []
    if r.budget != "-":
        where.append(f"at equal budget, {_money(r.budget)} a week")
    if r.conditions != "-":
        where.append(f"with {r.conditions}")
    lead = (", ".join(where) + ": ") if where else ""
    cls = "clear" if r.verdict == "clear" else "unclear"
    return (
        f"<li>{esc(lead.capitalize() if lead else '')}<b>{esc(r.best)}</b> "
        f"is best of {r.variants} (mean {esc(tables.fmt_metric(r.metric, r.mean_best))} "
        f"{esc(_label(r.metric))}; "
        f"probability of being best {r.p_best:.2f}; best in "
        f"{100 * r.best_share_of_replications:.0f}% of the {r.n_pairs} replications). "
        f'<span class="{cls}">{esc(r.plain)}</span> {_depends_text(r)}'
        f'<span class="small">(paired over {r.n_pairs} replications; p = {r.p_value:.3g}, '
        f"Holm-adjusted {r.p_holm:.3g} within {esc(vendor)}'s {esc(_label(r.metric))} family of "
        f"{n_fam} comparison{'s' if n_fam != 1 else ''})</span></li>"
    )


def _depends_text(r: Any) -> str:
    """With a posterior: the drawn parameter the answer depends on most ('' without)."""
    name = getattr(r, "depends_on", None)
    if not isinstance(name, str) or name == "-":
        return ""
    return (
        f"The answer depends most on {esc(name)} (Spearman {r.depends_rho:+.2f}): "
        f"{esc(r.best)} beats {esc(r.runner_up)} in {100 * r.best_share_above:.0f}% of the "
        f"draws with {esc(name)} {'&gt;' if r.depends_strict else '&ge;'} "
        f"{r.depends_split:.3g}, {100 * r.best_share_below:.0f}% "
        f"{'at or below' if r.depends_strict else 'below'}. "
    )


def _sampled_item(r: Any, vendor: str, n_fam: int) -> str:
    """One answer of a sampled sweep (sampled_answers_table) as an HTML list item."""
    label = _label(r.metric)
    cls = "clear" if r.verdict == "clear" else "unclear"
    return (
        f"<li>Over {r.points} sampled conditions ({esc(r.conditions)}; each "
        f"point's replications averaged): <b>{esc(r.best)}</b> is best on average "
        f"of {r.variants} (mean {esc(tables.fmt_metric(r.metric, r.mean_best))} "
        f"{esc(label)}; probability of being best {r.p_best:.2f} over a bootstrap "
        f"of the points; best at {100 * r.best_share_of_replications:.0f}% of the points). "
        f'<span class="{cls}">{esc(r.plain)}</span> '
        f'<span class="small">(paired by point over {r.n_pairs} points; p = '
        f"{r.p_value:.3g}, Holm-adjusted {r.p_holm:.3g} within {esc(vendor)}'s "
        f"{esc(label)} family of {n_fam} comparison{'s' if n_fam != 1 else ''}; "
        "where each wins: <code>run.py discover</code>)</span></li>"
    )


def _width_line(ans: pd.DataFrame, width: float | None) -> str:
    """The replications (or sampled points) that would bring the widest interval of the
    answers to `width` (default: half its width, rounded)."""
    wide = ans.loc[ans["half_width"].idxmax()]
    target = width if width else _round_target(wide.half_width / 2)
    need = compare.replications_for_width(float(wide.half_width), int(wide.n_pairs), target)
    hw = tables.fmt_metric(wide.metric, wide.half_width)
    if bool(wide.get("sampled", False)):
        return (
            f"Sampled points: the widest interval above is ±{hw} "
            f"{_label(wide.metric)} ({wide.vendor}, "
            f"{wide.best} vs {wide.runner_up}, over {wide.n_pairs} points); a sweep of about "
            f"{need:,} sampled points would bring it to ±{target:,.3g} (raise `samples`)."
        )
    return (
        f"Replications: the widest interval above is ±{hw} "
        f"{_label(wide.metric)} "
        f"({wide.vendor}, {wide.best} vs {wide.runner_up}, {wide.n_pairs} replications); about "
        f"{need:,} replications would bring it to ±{target:,.3g} (rerun the sweep with "
        "replications raised: only the new ones run)."
    )


def _round_target(x: float) -> float:
    if not x > 0:
        return 1.0
    mag = 10 ** math.floor(math.log10(x))
    return max(mag, round(x / mag) * mag)


# ------------------------------------------------------------------ figures
def conversions_figure(summary: pd.DataFrame, shown: list[str]) -> Part:
    """The figures' heading and conversions by variant."""
    return Part(
        [
            '<h2 id="figures">Figures</h2>',
            fig_to_img(
                figures.fig_conversions(summary, shown), "conversions by variant with 95% CI"
            ),
        ]
    )


def funnel_and_sources(funnel: pd.DataFrame, shown: list[str], d: SweepData) -> Part:
    """The stage funnel figure and, where the sweep recorded it, source use by stage next
    to the IDC ranking."""
    part = Part(
        [
            fig_to_img(
                figures.fig_funnel(funnel, shown[:10]),
                "stage funnel (all vendors: the market's journeys)",
            )
        ]
    )
    if d.source_use is None or d.source_use.empty:
        return part
    shares = tables.source_use_shares(d.source_use)
    idc = tables.idc_table(shares)
    part.tables = {"source_use": tables.source_use_long(shares), "idc_ranking": idc}
    part.html += [
        "<h3>Source use by stage vs the IDC ranking</h3>",
        '<div class="row"><div>'
        + fig_to_img(figures.fig_source_use(shares), "source use by stage heatmap")
        + "</div><div>"
        + html_table(idc)
        + '<p class="note">IDC Social Buying Study (2014), docs/sources.md §1; all ok runs pooled.</p></div></div>',
    ]
    return part


def win_share(weekly: pd.DataFrame | None, vendor: str | None, shown: list[str]) -> Part:
    """Cumulative win share over weeks (shares of all vendors' conversions, so computed
    before a --vendor filter), or why it is not available."""
    if weekly is None or weekly.empty:
        return Part(
            [
                '<h3>Win share over weeks</h3><p class="note">Not available: the sweep was run '
                "without weekly tables (use --weekly or weekly = true).</p>"
            ]
        )
    ws = tables.win_share_weeks(weekly)
    if vendor is not None:
        ws = ws[ws["vendor"] == vendor].reset_index(drop=True)
    return Part(
        [
            "<h3>Win share over weeks</h3>",
            '<p class="note">Cumulative win share: each vendor\'s conversions so far over all '
            "conversions so far, mean over replications.</p>",
            fig_to_img(figures.fig_win_share(ws, shown[:6]), "cumulative win share over weeks"),
        ],
        {"win_share_weeks": ws},
    )


# ------------------------------------------------------------------ tables of the page
def scorecard_part(summary: pd.DataFrame, shown: list[str], n_variants: int) -> Part:
    """The scorecard of the shown variants (every variant is in vendor_summary.csv)."""
    out = [
        "<h2>Scorecard per variant and vendor (mean ± 95% CI half-width)</h2>",
        html_table(tables.scorecard(summary[summary["variant"].isin(shown)])),
    ]
    if n_variants > len(shown):
        out.append(
            f'<p class="note">Showing {len(shown)} of {n_variants:,} variants; '
            "every variant is in vendor_summary.csv.</p>"
        )
    return Part(out)


def comparisons_part(
    comparisons: pd.DataFrame | None, reference: str, shown: list[str], n_variants: int
) -> Part:
    """The paired comparisons against the reference: conversions in words, conversions,
    revenue and ROI as a table (or why there are none)."""
    if comparisons is None:
        if n_variants > 1:
            return Part(
                ["<h2>Paired comparisons</h2><p>Needs at least 2 replications per variant.</p>"]
            )
        return Part([])
    conv = comparisons[
        (comparisons["metric"] == "conversions") & comparisons["variant"].isin(shown)
    ]
    items = "".join(
        f"<li><b>{esc(r.vendor)}</b>: "
        f'<span class="{"clear" if r.verdict == "clear" else "unclear"}">{esc(r.plain)}</span> '
        f'<span class="small">(p = {r.p_value:.3g}, Holm {r.p_holm:.3g}, {r.n_pairs} pairs)</span></li>'
        for r in conv.itertuples()
    )
    keep = comparisons[
        comparisons["metric"].isin(["conversions", "revenue", "roi"])
        & comparisons["variant"].isin(shown)
    ]
    return Part(
        [
            f"<h2>Paired comparisons against {esc(reference)}</h2>",
            '<p class="note">Mean of the within-replication differences (variant − reference), '
            "its 95% t interval and a paired t-test. Multiple comparisons: one family per "
            "vendor and metric (all variants against the reference); <b>clear</b>: p &lt; "
            "0.05 after Holm's adjustment within that family. All metrics are in "
            "comparisons.csv.</p>",
            f"<p>{esc(compare.pairing_summary(comparisons))}</p>",
            f"<ul>{items}</ul>",
            html_table(keep[list(tables.COMPARISON_COLUMNS)]),
        ]
    )


def funnel_part(funnel: pd.DataFrame, shown: list[str]) -> Part:
    """The stage funnel of the shown variants as a table."""
    return Part(
        [
            "<h2>Stage funnel</h2>",
            '<p class="note">All vendors: the market\'s buyer journeys.</p>',
            html_table(tables.funnel_wide(funnel, shown)),
        ]
    )


def sensitivity_part(d: SweepData, focal: str) -> Part:
    """A sampled sweep's parameter effects and quick sensitivity screen of `focal`'s
    conversions and of all purchases."""
    frame, params = tables.sensitivity_frame(d, focal)
    sens = tables.sensitivity_table(frame, params, focal)
    label = f"{focal} conversions"
    s1 = sens[sens["outcome"] == label]
    return Part(
        [
            "<h2>Parameter effects and a quick sensitivity screen</h2>",
            '<p class="note">A quick screen, not Sobol indices (run.py sensitivity computes those). '
            "Over all ok runs. Screen index: the correlation ratio eta² of "
            "binned means (10 quantile bins) — the share of the outcome's variance a parameter "
            "explains on its own (a first-order index, no interactions); Spearman's rank "
            "correlation gives the direction.</p>",
            fig_to_img(
                figures.fig_parameter_effects(frame, params, "conversions", label),
                "parameter effects",
            ),
            '<div class="row"><div>'
            + fig_to_img(figures.fig_sensitivity(s1, label), "sensitivity ranking")
            + "</div><div>"
            + html_table(
                sens[["outcome", "rank", "parameter", "eta_squared", "spearman_rho", "spearman_p"]]
            )
            + "</div></div>",
        ],
        {"sensitivity": sens},
    )


# ------------------------------------------------------------------ the end of the page
def setup_part(setup: pd.DataFrame) -> Part:
    """The full set-up, last."""
    return Part(["<h2>Set-up</h2>" + html_table(setup)])


def data_part(csvs: list[Path], source: Path, elapsed: float) -> Part:
    """Links to every table's CSV, and where and how fast the page was made."""
    links = ", ".join(
        f'<a href="{esc(p.parent.name)}/{esc(p.name)}">{esc(p.name)}</a>' for p in csvs
    )
    return Part(
        [
            f'<h2>Data</h2><p class="note">Every table of this report as CSV: {links}. '
            f"Generated from {esc(str(source))} in {elapsed:.1f} s.</p>"
        ]
    )
