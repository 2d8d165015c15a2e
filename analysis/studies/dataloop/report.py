"""The DATA-loop study for people: the terminal text, the HTML page and the CSV tables.

    print(format_study(res))
    written = write_study(res, out)     # DIR/dataloop.html, then one CSV per table

Every file goes through analysis.engine.writer (temporary name, then rename): a write
that fails is one line (WriteError) and leaves nothing half-written. The truth table is
written as truth.TRUTH_FILE, the file the sweep report and the live view read.
"""

from __future__ import annotations

import math
from pathlib import Path

from analysis.engine.writer import write_csv, write_text
from analysis.render.html import fig_to_img, html_page, html_table
from analysis.render.terminal import format_table
from analysis.stats.compare import pairing_summary
from analysis.studies.dataloop.figures import mix_figure, returns_figure
from analysis.studies.dataloop.summary import METRICS, StudyResult
from analysis.studies.dataloop.truth import PER, TRUTH_FILE


def _pm(mean: float, half: float, kind: str) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "-"
    h = "" if half is None or math.isnan(half) else half
    if kind == "roi":
        return f"{mean:.2f}" + (f" ± {h:.2f}" if h != "" else "")
    return f"{mean:,.1f}" + (f" ± {h:,.1f}" if h != "" else "")


def _ci(lo: float, hi: float, digits: int = 1) -> str:
    if math.isnan(lo) or math.isnan(hi):
        return "-"
    return f"[{lo:,.{digits}f}, {hi:,.{digits}f}]"


def format_study(res: StudyResult) -> str:
    """The study for the terminal."""
    s, t = res.study, res.tables
    reps = int(res.runs.groupby("variant")["replication"].nunique().max()) if len(res.runs) else 0
    lines = [
        f"{s.name}: {s.vendor}'s policy in {s.scenario.name} ({s.scenario.buyers.count:,} "
        f"buyers, {len(s.scenario.vendors)} vendors, {s.scenario.weeks} weeks), {reps} paired "
        f"replications  ({res.elapsed_s:.1f} s; {res.ran} runs ran, {res.already} already done)",
    ]
    if s.description:
        lines.append(s.description)
    if "summary" not in t:
        return "\n".join([*lines, "", "no run finished"])
    summ = t["summary"].set_index(["variant", "metric"])
    rows = []
    for v in s.variants:
        cells = [v.label, v.policy]
        for m in METRICS:
            r = summ.loc[(v.label, m)] if (v.label, m) in summ.index else None
            cells.append("-" if r is None else _pm(r["mean"], r["half_width"], m))
        rows.append(cells)
    lines += ["", f"{s.vendor}, means ± 95% interval:", ""]
    lines.append(format_table(["variant", "policy", *METRICS.values()], rows, right={2, 3, 4}))

    vs = t.get("vs_reference")
    if vs is not None and len(vs):
        lines += ["", f"paired differences vs {s.reference} (variant - {s.reference}, 95% CI):", ""]
        rows = []
        for label in [v.label for v in s.variants if v.label != s.reference]:
            cells = [label]
            for m in METRICS:
                r = vs[(vs["variant"] == label) & (vs["metric"] == m)]
                cells.append(
                    "-"
                    if not len(r)
                    else f"{r['diff'].iloc[0]:+,.2f} {_ci(r['ci_low'].iloc[0], r['ci_high'].iloc[0], 2)}"
                )
            rows.append(cells)
        lines.append(format_table(["variant", *METRICS.values()], rows))
        lines += ["", pairing_summary(vs, "conversions")]
    cost = t.get("cost")
    if cost is not None and len(cost):
        lines += ["", "cost of mis-measurement (oracle - variant, same cadence, 95% CI):", ""]
        rows = []
        for label in dict.fromkeys(cost["variant"]):
            c = cost[cost["variant"] == label]
            cells = [label, c["oracle"].iloc[0]]
            for m in METRICS:
                r = c[c["metric"] == m]
                cells.append(
                    "-"
                    if not len(r)
                    else f"{r['cost'].iloc[0]:+,.2f} {_ci(r['ci_low'].iloc[0], r['ci_high'].iloc[0], 2)}"
                )
            rows.append(cells)
        lines.append(format_table(["variant", "oracle", *METRICS.values()], rows, right={2, 3, 4}))
    truth = t.get("truth")
    if truth is not None and len(truth):
        obj = next(iter(res.truth.values())).attrs.get("objective", "conversions")
        lines += [
            "",
            f"true incremental return per channel ({obj} per {PER:,.0f} spent, 95% CI over the oracle's planning runs):",
            "",
        ]
        rows = []
        for r in truth.itertuples():
            rows.append(
                [
                    r.oracle,
                    str(r.week),
                    r.channel,
                    f"{100 * r.share:.0f}%",
                    f"{PER * r.true_return:,.2f} {_ci(PER * r.low, PER * r.high, 2)}",
                    f"{100 * r.share_after:.0f}%",
                ]
            )
        lines.append(
            format_table(["oracle", "week", "channel", "share", "true return", "share after"], rows)
        )
    b = t.get("beliefs")
    if b is not None and len(b):
        lines += [
            "",
            f"believed vs true return at the first adjustment (per {PER:,.0f} spent):",
            "",
        ]
        rows = [
            [
                r.variant,
                str(r.week),
                r.channel,
                f"{PER * r.believed:,.2f} {_ci(PER * r.believed_low, PER * r.believed_high, 2)}",
                f"{PER * r.true:,.2f} {_ci(PER * r.true_low, PER * r.true_high, 2)}",
            ]
            for r in b.itertuples()
        ]
        lines.append(format_table(["variant", "week", "channel", "believed", "true"], rows))
    cad = t.get("cadence")
    if cad is not None and len(cad):
        lines += [
            "",
            "cadence: budget moved per adjustment and moves the wrong way vs the truth:",
            "",
        ]
        rows = [
            [
                r.variant,
                str(r.cadence),
                str(r.adjustments),
                str(r.moves),
                f"{100 * r.moved_mean:.1f}%",
                "-" if math.isnan(r.moved_sd) else f"{100 * r.moved_sd:.1f}%",
                "-" if math.isnan(r.wrong_way) else f"{100 * r.wrong_way:.0f}% of {r.judged}",
            ]
            for r in cad.itertuples()
        ]
        lines.append(
            format_table(
                ["variant", "cadence", "adjustments", "moves", "moved/adj.", "sd", "wrong way"],
                rows,
            )
        )
    if res.failed:
        lines += [
            "",
            f"note: {res.failed} runs failed (see the study's runs table); the tables use the rest",
        ]
    return "\n".join(lines)


def html_section(res: StudyResult) -> str:
    """The study as an HTML section (tables and figures)."""
    s, t = res.study, res.tables
    parts = [
        f"<h2>The value of measurement: {s.vendor} in {s.scenario.name}</h2>",
        f"<p>{s.description}</p>" if s.description else "",
        f"<p class='note'>{s.scenario.buyers.count:,} buyers, {s.scenario.weeks} weeks; every "
        "variant runs the same paired seeds (common random numbers). Oracle plans come from "
        "separate planning seeds.</p>",
    ]
    if "summary" in t:
        sm = t["summary"].copy()
        sm = sm[["variant", "metric", "n", "mean", "half_width", "ci_low", "ci_high"]]
        parts += ["<h3>Per variant (means, 95% intervals)</h3>", html_table(sm)]
    vs = t.get("vs_reference")
    if vs is not None and len(vs):
        cols = [
            "variant",
            "reference",
            "metric",
            "n_pairs",
            "diff",
            "ci_low",
            "ci_high",
            "verdict",
            "half_width",
            "unpaired_half_width",
            "pairing_gain",
        ]
        parts += [
            f"<h3>Paired differences vs {s.reference}</h3>",
            html_table(vs[cols], percent=["pairing_gain"]),
            f"<p>{pairing_summary(vs, 'conversions')}</p>",
        ]
    cost = t.get("cost")
    if cost is not None and len(cost):
        c = cost.assign(
            cost_low=cost["ci_low"], cost_high=cost["ci_high"], oracle_minus=cost["cost"]
        )
        parts += [
            "<h3>Cost of mis-measurement (oracle minus each, same cadence)</h3>",
            html_table(
                c[
                    [
                        "variant",
                        "oracle",
                        "metric",
                        "n_pairs",
                        "oracle_minus",
                        "cost_low",
                        "cost_high",
                        "verdict",
                    ]
                ]
            ),
        ]
    if "mix" in t and len(t["mix"]):
        parts += [
            "<h3>Channel mix quarter by quarter</h3>",
            fig_to_img(mix_figure(res), "channel mix by quarter"),
        ]
    if "truth" in t and len(t["truth"]):
        tr = t["truth"].copy()
        for k in ("true_return", "low", "high"):
            tr[k] = tr[k] * PER
        parts += [
            f"<h3>True incremental return per channel (per {PER:,.0f} spent)</h3>",
            "<p>From the oracle's counterfactual runs: the channel's spend set to zero over "
            "the window, paired with the run that kept it.</p>",
            html_table(
                tr[
                    [
                        "oracle",
                        "week",
                        "channel",
                        "share",
                        "true_return",
                        "low",
                        "high",
                        "share_after",
                    ]
                ],
                percent=["share", "share_after"],
            ),
            fig_to_img(returns_figure(res), "believed vs true return"),
        ]
    b = t.get("beliefs")
    if b is not None and len(b):
        bb = b.copy()
        for k in ("believed", "believed_low", "believed_high", "true", "true_low", "true_high"):
            bb[k] = bb[k] * PER
        parts += ["<h3>Believed vs true return at the first adjustment</h3>", html_table(bb)]
    cad = t.get("cadence")
    if cad is not None and len(cad):
        parts += [
            "<h3>Cadence: budget moved and wrong-way moves</h3>",
            html_table(cad, percent=["moved_mean", "moved_sd", "wrong_way"]),
        ]
    return "".join(parts)


def table_file(name: str) -> str:
    """The CSV file a table is written to: dataloop_<name>.csv (the truth: TRUTH_FILE)."""
    return TRUTH_FILE if name == "truth" else f"dataloop_{name}.csv"


def write_study(res: StudyResult, out: Path) -> list[Path]:
    """One CSV per table (DIR/dataloop_<table>.csv), then DIR/dataloop.html; returns
    the page first, then the CSVs."""
    page = html_page(f"DATA loop: {res.study.name}", html_section(res))
    written = [write_csv(out / table_file(name), df) for name, df in res.tables.items()]
    return [write_text(out / "dataloop.html", page), *written]
