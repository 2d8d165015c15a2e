"""The ABC calibration's answer: abc.md and abc.html (generations, prior vs posterior per
parameter, pair plots of the strongest posterior correlations, the posterior predictive
check per target in three sections: fitted emergent targets, held-out validation, input
checks), abc.json (the same as plain data) and the lines the command prints. The posterior
sample itself is DIR/posterior.parquet (written by the study).

A parameter is "pinned" when its posterior 90% interval is under half as wide as its
prior's, "narrowed" under 80%, else "at its prior": the evidence says little about it, and
answers drawn across the posterior carry that uncertainty.

A target's predictive check: the posterior predictive runs (one fresh-seeded run per
posterior draw) give its 90% predictive interval and the share of runs within one
tolerance of the goal; it is "covered" when the goal (its value, band or bound) meets
the 90% predictive interval.
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any

import numpy as np

from analysis.engine.writer import write_json, write_text
from analysis.render.html import fig_to_img, html_page, pyplot
from analysis.studies.calibrate.abc import AbcResult
from analysis.studies.calibrate.posterior import weighted_quantiles

#: posterior / prior width of the 90% interval below which a parameter counts as pinned
PINNED, NARROWED = 0.5, 0.8
SECTIONS = (
    ("fit", "Fitted targets (emergent)"),
    ("validate", "Held-out validation (use = validate, never fitted)"),
    ("input_check", "Reproduced by construction (input checks, not evidence)"),
)


def parameter_rows(result: AbcResult) -> list[dict[str, Any]]:
    """One row per parameter: prior, prior 90% interval, posterior median and 90%
    interval, the width ratio and what the evidence did to it."""
    post = result.posterior
    rows = []
    for p in result.setup.parameters.items:
        lo, hi = p.interval(0.9)
        x = post.draws[p.name].to_numpy(float)
        q05, q50, q95 = weighted_quantiles(x, post.weights, (0.05, 0.5, 0.95))
        ratio = (q95 - q05) / (hi - lo) if hi > lo else math.nan
        verdict = "pinned" if ratio < PINNED else "narrowed" if ratio < NARROWED else "at its prior"
        rows.append(
            {
                "parameter": p.name,
                "changes": ", ".join(p.prior.targets()),
                "prior": p.prior.describe(),
                "prior_90": (lo, hi),
                "median": q50,
                "posterior_90": (q05, q95),
                "width_ratio": ratio,
                "verdict": verdict,
                "source": p.prior.source,
            }
        )
    return rows


def target_rows(result: AbcResult) -> list[dict[str, Any]]:
    """One row per target: its section, goal, predictive mean and 90% interval, the share
    of predictive runs that pass, covered or not."""
    pred = result.predictive
    rows = []
    for t in result.setup.targets.targets:
        x = pred.loc[pred["target"] == t.name, "value"].to_numpy(float)
        x = x[~np.isnan(x)]
        section = "input_check" if t.kind == "input_check" else t.use
        row: dict[str, Any] = {"target": t.name, "section": section, "goal": t.goal(),
                               "tolerance": t.tolerance, "runs": int(x.size), "source": t.source}  # fmt: skip
        if x.size:
            lo, hi = (float(v) for v in np.quantile(x, [0.05, 0.95]))
            passing = float(np.mean([t.passed(v) for v in x]))
            covered = t.low <= hi and lo <= t.high  # the goal meets the 90% interval
            row.update(mean=float(x.mean()), interval=(lo, hi), passing=passing,
                       verdict="covered" if covered else "MISSED")  # fmt: skip
        else:
            row.update(mean=math.nan, interval=(math.nan, math.nan), passing=math.nan,
                       verdict="not measurable")  # fmt: skip
        rows.append(row)
    return rows


def strongest_pairs(result: AbcResult, k: int = 3) -> list[tuple[str, str, float]]:
    """The `k` parameter pairs with the largest weighted posterior correlation (|r|)."""
    post = result.posterior
    names = list(post.names)
    if len(names) < 2:
        return []
    x = post.draws[names].to_numpy(float)
    w = post.weights
    mean = w @ x
    cov = ((x - mean) * w[:, None]).T @ (x - mean)
    sd = np.sqrt(np.clip(np.diag(cov), 1e-300, None))
    corr = cov / np.outer(sd, sd)
    pairs = [(names[i], names[j], float(corr[i, j]))
             for i in range(len(names)) for j in range(i + 1, len(names))]  # fmt: skip
    return sorted(pairs, key=lambda p: -abs(p[2]))[:k]


def _fmt(x: float, digits: int = 3) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}g}"


def _pair(p: tuple[float, float]) -> str:
    return f"[{_fmt(p[0])}, {_fmt(p[1])}]"


def summary_lines(result: AbcResult) -> list[str]:
    """What the command prints."""
    s = result.setup
    rows = target_rows(result)
    params = parameter_rows(result)
    lines = [
        f"abc calibration of {s.scenario.source} ({s.scenario.buyers.count} buyers, "
        f"{s.scenario.weeks} weeks): population {s.population}, "
        f"{len(result.generations)} generations, {result.runs} fit runs",
        f"stopped: {result.stop_reason}; effective sample "
        f"{result.posterior.effective_size:.0f} of {len(result.posterior.weights)} particles",
        "parameters: " + ", ".join(f"{r['parameter']} {r['verdict']}" for r in params),
    ]
    for key, title in SECTIONS:
        part = [r for r in rows if r["section"] == key]
        if part:
            ok = sum(r["verdict"] == "covered" for r in part)
            lines.append(f"{title}: {ok} of {len(part)} covered by the posterior predictive")
    return lines


def markdown(result: AbcResult, figures: dict[str, str] | None = None) -> str:
    """abc.md."""
    s = result.setup
    out = [
        f"# ABC calibration: {s.scenario.name}",
        "",
        f"Scenario `{s.scenario.source}` ({s.scenario.buyers.count} buyers, {s.scenario.weeks}"
        f" weeks), targets `{s.targets.source}`. pyabc, {s.describe()['algorithm']}; "
        f"{s.replications} run(s) per particle, distance sqrt(sum miss^2) in tolerances "
        f"over the {len(s.fitted.targets)} fitted targets. Stopped: {result.stop_reason}. "
        f"{result.runs} fit runs and {len(result.predictive['draw'].unique()) if len(result.predictive) else 0}"
        f" predictive runs ({result.ran} run now), {result.elapsed_s:.0f} s. The final "
        f"population's effective sample (Kish, 1 / sum w^2): "
        f"{result.posterior.effective_size:.0f} of {len(result.posterior.weights)} particles.",
        "",
        "## Generations",
        "",
        "| generation | epsilon | particles | simulations | acceptance |",
        "|---|---|---|---|---|",
    ]
    for g in result.generations:
        eps = "all accepted (prior)" if math.isinf(g.epsilon) else _fmt(g.epsilon)
        out.append(f"| {g.t} | {eps} | {g.particles} | {g.simulations} | {_fmt(g.acceptance, 2)} |")
    out += [
        "",
        "## Parameters: prior vs posterior",
        "",
        f"Pinned: the posterior 90% interval is under {PINNED:g} of the prior's width; "
        f"narrowed: under {NARROWED:g}; at its prior: the evidence says little about it.",
        "",
        "| parameter | changes | prior | prior 90% | posterior median | posterior 90% | width ratio | verdict | source |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in parameter_rows(result):
        out.append(
            f"| {r['parameter']} | `{r['changes']}` | {r['prior']} | {_pair(r['prior_90'])} | "
            f"{_fmt(r['median'])} | {_pair(r['posterior_90'])} | {_fmt(r['width_ratio'], 2)} | "
            f"{r['verdict']} | {r['source']} |"
        )
    pairs = strongest_pairs(result)
    if pairs:
        out += ["", "Strongest posterior correlations: " + "; ".join(
            f"{a} x {b}: r = {r:+.2f}" for a, b, r in pairs) + "."]  # fmt: skip
    for name in figures or {}:
        out += ["", f"![{name}]({name})"]
    out += ["", "## Posterior predictive check", "",
            "One fresh-seeded run per posterior draw; covered: the goal (value, band or "
            "bound) meets the 90% predictive interval; runs passing: the share of runs "
            "within one tolerance of the goal."]  # fmt: skip
    rows = target_rows(result)
    for key, title in SECTIONS:
        part = [r for r in rows if r["section"] == key]
        if not part:
            continue
        out += ["", f"### {title}", "",
                "| target | goal | tolerance | predictive mean | predictive 90% | runs passing | verdict |",
                "|---|---|---|---|---|---|---|"]  # fmt: skip
        for r in part:
            out.append(
                f"| {r['target']} | {r['goal']} | {r['tolerance']:g} | {_fmt(r['mean'])} | "
                f"{_pair(r['interval'])} | {_fmt(r['passing'], 2)} | {r['verdict']} |"
            )
    return "\n".join(out) + "\n"


def pair_figure(result: AbcResult, a: str, b: str, r: float) -> Any:
    """A weighted scatter of two parameters' posterior draws over their prior ranges."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(4.2, 3.6))
    post = result.posterior
    w = post.weights / post.weights.max()
    ax.scatter(post.draws[a], post.draws[b], s=8 + 40 * w, alpha=0.5, color="#1f77b4")
    by = {p.name: p for p in result.setup.parameters.items}
    ax.set_xlim(*by[a].interval(0.98))
    ax.set_ylim(*by[b].interval(0.98))
    ax.set(xlabel=a, ylabel=b, title=f"posterior: r = {r:+.2f} (axes: prior 98%)")
    fig.tight_layout()
    return fig


def write_abc_outputs(result: AbcResult, out: str | Path) -> list[Path]:
    """Write abc.md, abc.html, abc.json and the pair plots' PNGs into `out`."""
    out = Path(out)
    figures: dict[str, str] = {}
    written = [out / "posterior.parquet"]
    for i, (a, b, r) in enumerate(strongest_pairs(result)):
        fig = pair_figure(result, a, b, r)
        name = f"pair-{i + 1}.png"
        fig.savefig(out / name, dpi=90)
        figures[name] = fig_to_img(fig, f"posterior of {a} and {b}")
        pyplot().close(fig)
        written.append(out / name)
    md = markdown(result, figures)
    write_text(out / "abc.md", md)
    body = "".join(f"<pre>{html.escape(md)}</pre>")
    body += "".join(figures.values())
    write_text(out / "abc.html", html_page(f"ABC calibration: {result.setup.scenario.name}", body))
    write_json(out / "abc.json", plain(result))
    written += [out / "abc.md", out / "abc.html", out / "abc.json"]
    return written


def plain(result: AbcResult) -> dict[str, Any]:
    """The report as plain data."""
    return {
        "setup": result.setup.describe(),
        "stop_reason": result.stop_reason,
        "generations": [vars(g) for g in result.generations],
        "parameters": parameter_rows(result),
        "targets": target_rows(result),
        "correlations": [list(p) for p in strongest_pairs(result)],
        "runs": result.runs,
        "elapsed_s": result.elapsed_s,
    }
