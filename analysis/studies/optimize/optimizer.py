"""`optimize(spec, out)`: the channel mix (and optionally the budget) that maximises one
vendor's objective, competitors fixed; the study's Python API.

    spec = load_spec("scenarios/optimize_challenger_mix.toml")
    result = optimize(spec, "results/opt", workers=4)    # -> Result
    write_outputs(result, "results/opt")                 # analysis.studies.optimize.report

**Noise.** Every candidate runs the same R replication seeds (common random numbers:
replication_seed(seed, r)), so two candidates differ by their mix, not their luck. The
top-k candidates by search mean get `top_replications` more (the same seeds for all of
them) and the best mean over all its replications is recommended. A final paired
comparison of the recommended mix, the vendor's current mix and an equal split runs on
fresh seeds never used to choose (so the winner's curse does not inflate the uplift):
paired differences with 95% t intervals, Holm-adjusted over that family of comparisons.
The response curve of each channel varies its spend (others fixed at the recommended
spend) over `curve` multiples and gives the marginal cost per acquisition.

**Execution.** One execution context (analysis.engine.context) serves the whole
optimisation: one pool or Dask cluster for every batch, the progress bar in trials, and
DIR (and DIR/runs) locked until the study ends. The runs live in DIR/runs (the engine's
chunked Parquet, one growing experiment), so a killed optimisation run again with the
same command runs only missing runs, and a finished one runs nothing.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.engine.context import ExecutionContext
from analysis.engine.folders import check_out_dir
from analysis.engine.writer import write_json
from analysis.stats import compare
from analysis.studies.optimize.candidates import Candidate, current, equal_split, make_candidate
from analysis.studies.optimize.evaluators import EngineEvaluator, Evaluator, Values
from analysis.studies.optimize.search import Trial, search
from analysis.studies.optimize.spec import Spec

SETUP_FILE = "optimize_setup.json"


@dataclass
class Result:
    """A finished optimisation."""

    spec: Spec
    trials: list[Trial]
    top: pd.DataFrame  # the re-evaluated top-k
    recommended: Candidate
    comparison: pd.DataFrame  # paired differences, the final family
    final: pd.DataFrame  # final runs: variant, replication, objective
    curves: pd.DataFrame
    asked: int
    ran: int
    already: int
    elapsed_s: float
    overhead_s: float = 0.0


def optimize(
    spec: Spec,
    out: str | Path,
    evaluator: Evaluator | None = None,
    workers: int | None = None,
    dask: str | None = None,
    progress: bool = True,
    curves: bool = True,
) -> Result:
    """Search, re-evaluate the top-k, compare on fresh seeds, trace response curves.

    `evaluator` None runs the model (through one execution context: `workers` processes
    or the `dask` cluster); a FunctionEvaluator replaces the model. Raises Stopped when
    the engine stops (what ran is on disk for the next run)."""
    started = time.perf_counter()
    out = check_out_dir(out)
    with ExecutionContext(
        workers, dask, progress, desc="optimize", unit="trial", total=spec.trials,
        count_runs=False,
    ) as ctx:  # fmt: skip
        ctx.lock(out)
        write_json(out / SETUP_FILE, spec.describe())
        ev = evaluator or EngineEvaluator(spec, out / "runs", ctx)
        trials, asked, overhead = search(spec, ev, out, ctx)
        top_df, rec = re_evaluate_top(spec, ev, trials)
        final = final_runs(spec, ev, rec)
        comparison = final_comparison(spec, final)
        curve_df = response_curves(spec, ev, rec) if curves else pd.DataFrame()
    return Result(
        spec=spec,
        trials=trials,
        top=top_df,
        recommended=rec,
        comparison=comparison,
        final=final,
        curves=curve_df,
        asked=asked,
        ran=ev.ran,
        already=ev.already,
        elapsed_s=time.perf_counter() - started,
        overhead_s=overhead,
    )


def _top_replications(spec: Spec) -> int:
    """Replications of a top-k candidate; the final comparison's seeds start after them."""
    return spec.replications + spec.top_replications


def re_evaluate_top(
    spec: Spec, ev: Evaluator, trials: list[Trial]
) -> tuple[pd.DataFrame, Candidate]:
    """More replications near the optimum: the top-k distinct candidates by search mean,
    each on `replications + top_replications` common seeds; the best mean is recommended.
    Returns (the top-k table, the recommended candidate)."""
    best: dict[str, Trial] = {}
    for t in sorted(trials, key=lambda t: -t.score):
        best.setdefault(t.candidate.key, t)
    top = list(best.values())[: spec.top_k]
    values = ev.evaluate([t.candidate for t in top], range(0, _top_replications(spec)))
    rows = []
    for t in top:
        xs = np.array([v[spec.objective] for v in values[t.candidate.key].values()], float)
        rows.append(
            {
                "candidate": t.candidate.key,
                "trial": t.number,
                "search_mean": t.score,
                "replications": len(xs),
                "mean": float(np.nanmean(xs)),
                "half_width": float(half_width(xs)),
            }
        )
    top_df = (
        pd.DataFrame(rows)
        .sort_values("mean", ascending=False, kind="stable")
        .reset_index(drop=True)
    )
    rec = next(t.candidate for t in top if t.candidate.key == top_df["candidate"].iloc[0])
    return top_df, rec


def final_candidates(spec: Spec, rec: Candidate) -> dict[str, Candidate]:
    """The final comparison's family: the recommended mix, the current one, an equal split."""
    return {
        "recommended": rec,
        "current": current(spec),
        "equal split": equal_split(spec, rec.budget),
    }


def final_runs(spec: Spec, ev: Evaluator, rec: Candidate) -> pd.DataFrame:
    """The final family on `final_replications` fresh seeds (never used to choose): one
    row per variant and replication with the vendor's outcomes."""
    named = final_candidates(spec, rec)
    first = _top_replications(spec)
    uniq = {c.key: c for c in named.values()}
    got = ev.evaluate(list(uniq.values()), range(first, first + spec.final_replications))
    rows = [
        {
            "variant": name,
            "candidate": c.key,
            "replication": r,
            "vendor": spec.vendor,
            **v,
        }
        for name, c in named.items()
        for r, v in got[c.key].items()
    ]
    return pd.DataFrame(rows)


def final_comparison(spec: Spec, df: pd.DataFrame) -> pd.DataFrame:
    """Recommended vs current vs equal split (paired by replication): each pair's mean
    difference with its 95% t interval and p-value, Holm-adjusted over the family."""
    pairs = [("recommended", "current"), ("recommended", "equal split"), ("equal split", "current")]
    present = set(df["variant"])
    rows = []
    for a, b in pairs:
        if a not in present or b not in present:
            continue
        sub = df[df["variant"].isin([a, b])]
        r = compare.paired_differences(sub, b, spec.objective).iloc[0]
        rows.append(r)
    out = pd.DataFrame(rows).reset_index(drop=True)
    out["p_holm"] = compare.holm(out["p_value"].to_numpy(float))
    out["verdict"] = [
        compare.verdict(p, d, n)
        for p, d, n in zip(out["p_holm"], out["diff"], out["n_pairs"], strict=True)
    ]
    out["plain"] = [
        compare.plain_sentence(
            r.variant, r.reference, spec.objective, r.diff, r.ci_low, r.ci_high, r.verdict
        )
        for r in out.itertuples()
    ]
    with np.errstate(invalid="ignore", divide="ignore"):
        out["relative"] = out["diff"] / out["mean_reference"]
    return out.drop(columns=["sentence"])


def curve_candidates(spec: Spec, rec: Candidate) -> list[tuple[str, float, Candidate]]:
    """(channel, weekly spend, candidate) for each channel's response curve: the channel's
    weekly spend at each multiple of its recommended spend (or of an equal share if it
    gets none), the others' spend fixed."""
    spend = {c: s * rec.budget for c, s in rec.mix}
    chans = tuple(dict.fromkeys([*spec.channels, *spend]))
    out = []
    for c in spec.channels:
        ref = spend.get(c, 0.0) or rec.budget / len(spec.channels)
        for m in spec.curve:
            s = dict(spend)
            s[c] = m * ref
            total = sum(s.values())
            if total <= 0:
                continue
            out.append(
                (c, s[c], make_candidate({k: v / total for k, v in s.items()}, total, chans))
            )
    return out


def response_curves(spec: Spec, ev: Evaluator, rec: Candidate) -> pd.DataFrame:
    """Each channel's response curve around the recommended mix, on common seeds (the
    first `curve_replications` of the final comparison's), summarised per spend level."""
    cc = curve_candidates(spec, rec)
    first = _top_replications(spec)
    reps = range(first, first + spec.curve_replications)
    cv: Values = ev.evaluate(list({c.key: c for _, _, c in cc}.values()), reps)
    rows = [
        {"channel": ch, "spend": spend, "budget": c.budget, "replication": r, **v}
        for ch, spend, c in cc
        for r, v in cv[c.key].items()
    ]
    return summarize_curves(pd.DataFrame(rows), spec)


def half_width(xs: np.ndarray) -> float:
    """The 95% t half-width of the mean of `xs` (NaNs left out; NaN below 2 values)."""
    xs = xs[~np.isnan(xs)]
    sd = np.array([xs.std(ddof=1) if len(xs) > 1 else math.nan])
    return float(compare.t_half_width(sd, np.array([len(xs)]))[0])


def summarize_curves(df: pd.DataFrame, spec: Spec) -> pd.DataFrame:
    """Per channel and spend level: mean conversions (95% CI) and the marginal cost per
    acquisition of the step from the level below (extra spend / extra market conversions)."""
    if df.empty:
        return df
    rows = []
    for (ch, spend), g in df.groupby(["channel", "spend"], sort=True):
        rows.append(
            {
                "channel": ch,
                "weekly_spend": spend,
                "weekly_budget": g["budget"].iloc[0],
                "replications": len(g),
                "conversions": g["conversions"].mean(),
                "conversions_half_width": half_width(g["conversions"].to_numpy(float)),
                spec.objective: g[spec.objective].mean(),
                "market_conversions": g["market_conversions"].mean(),
                "marketing_spend": g["marketing_spend"].mean(),
            }
        )
    out = pd.DataFrame(rows)
    out["marginal_cpa"] = [mcpa for _ch, g in out.groupby("channel", sort=False)
                           for mcpa in _marginal_cpa(g)]  # fmt: skip
    return out.replace({np.inf: math.inf})


def _marginal_cpa(g: pd.DataFrame) -> list[float]:
    """Extra spend / extra market conversions of each level over the one below (NaN for
    the first level, inf where there is no gain)."""
    out, prev = [], None
    for r in g.itertuples():
        if prev is None:
            out.append(math.nan)
        else:
            dc = r.market_conversions - prev.market_conversions
            ds = r.marketing_spend - prev.marketing_spend
            out.append(ds / dc if dc > 0 else math.inf)
        prev = r
    return out
