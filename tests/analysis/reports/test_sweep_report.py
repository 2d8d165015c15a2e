"""The batch report on a hand-made sweep folder: numbers checked against an independent
computation from the Parquet files, a self-contained page, input errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from scipy import stats

from analysis.engine.store import write_parquet
from analysis.reports.sweep import figures, tables
from analysis.reports.sweep.build import build_report
from sim.scenario import ScenarioError
from tests.analysis.reports.fake_sweep import VENDORS, budget_sweep, make_sweep

METRICS = (
    "conversions",
    "win_share",
    "revenue",
    "marketing_spend",
    "roi",
    "cost_per_acquisition",
    "break_even_volume",
    "originated_share",
)
#: URLs a self-contained page must not have in src/href/url()
EXTERNAL = re.compile(
    r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//""", re.I
)


def independent(root: Path, table: str) -> pd.DataFrame:
    files = sorted((root / "sweep=demo" / f"table={table}").glob("*.parquet"))
    return pd.concat([pq.read_table(f).to_pandas() for f in files], ignore_index=True)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = make_sweep(tmp_path_factory.mktemp("sweep"))
    out = root / "out" / "report.html"
    rep = build_report(root, out)
    return root, rep, out.read_text(encoding="utf-8")


def ok_vendor_rows(root):
    """The vendor rows of the runs that finished ok, read independently of the report."""
    runs = independent(root, "runs")
    ok = set(runs.loc[runs.status == "ok", "run_id"])
    v = independent(root, "vendors")
    return v[v.run_id.isin(ok)]


def test_scorecard_numbers_match_an_independent_computation(built):
    root, rep, page = built
    v = ok_vendor_rows(root)
    csv = pd.read_csv(rep.html_path.parent / "report_tables" / "vendor_summary.csv")
    for (variant, vendor), g in v.groupby(["variant", "vendor"]):
        for metric in METRICS:
            x = g[metric].to_numpy(float)
            m, h = x.mean(), stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
            row = csv[(csv.variant == variant) & (csv.vendor == vendor) & (csv.metric == metric)]
            assert len(row) == 1
            assert row["n"].iloc[0] == len(x)
            assert row["mean"].iloc[0] == pytest.approx(m)
            assert row["ci_low"].iloc[0] == pytest.approx(m - h)
            assert row["ci_high"].iloc[0] == pytest.approx(m + h)
        # the page shows the same conversions, mean ± half-width
        x = g["conversions"].to_numpy(float)
        h = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
        assert f"{x.mean():,.1f} ± {h:,.1f}" in page


def test_paired_comparison_matches_an_independent_paired_test(built):
    root, rep, page = built
    v = ok_vendor_rows(root)
    csv = pd.read_csv(rep.html_path.parent / "report_tables" / "comparisons.csv")
    diffs, pvalues = {}, {}
    for vendor in VENDORS:
        a = v[(v.variant == "community-first") & (v.vendor == vendor)].set_index("replication")
        b = v[(v.variant == "microblog-heavy") & (v.vendor == vendor)].set_index("replication")
        common = a.index.intersection(b.index)  # the failed run's pair drops out
        assert len(common) == 5
        diffs[vendor] = b.loc[common, "conversions"] - a.loc[common, "conversions"]
        res = stats.ttest_rel(b.loc[common, "conversions"], a.loc[common, "conversions"])
        pvalues[vendor] = res.pvalue
    # one family per vendor and metric: a single comparison each, so Holm leaves p as is
    holm = dict(pvalues)
    for vendor, d in diffs.items():
        row = csv[(csv.vendor == vendor) & (csv.metric == "conversions")].iloc[0]
        assert row.variant == "microblog-heavy" and row.reference == "community-first"
        assert row.n_pairs == 5
        assert row["diff"] == pytest.approx(d.mean())
        assert row.p_value == pytest.approx(pvalues[vendor])
        assert row.p_holm == pytest.approx(holm[vendor])
        h = stats.t.ppf(0.975, 4) * d.std(ddof=1) / np.sqrt(5)
        assert row.ci_high == pytest.approx(d.mean() + h)
        # the sentence, rebuilt from the Parquet rows (conversions below 10,000: whole numbers)
        assert abs(d.mean()) < 1e4 and h < 1e4
        verdict = "clear" if holm[vendor] < 0.05 else "unclear"
        word = "more" if d.mean() >= 0 else "fewer"
        expected = (
            f"microblog-heavy wins {abs(d.mean()):,.0f} +/- {h:,.0f} {word} conversions than "
            f"community-first; {verdict}"
        )
        assert row.sentence == expected
        # the page words it plainly: the winner first, the interval as 95% CI low to high
        lo, hi = d.mean() - h, d.mean() + h
        if verdict == "clear" and d.mean() > 0:
            plain = (
                f"microblog-heavy wins {d.mean():,.0f} more conversions than community-first "
                f"(95% CI {lo:,.0f} to {hi:,.0f})"
            )
            assert row.plain == plain and plain in page
        elif verdict != "clear":
            assert row.plain.startswith("no clear difference between microblog-heavy and")
    alpha = csv[(csv.vendor == "Alpha") & (csv.metric == "conversions")].iloc[0]
    assert alpha.verdict == "clear"


def test_failed_runs_are_counted_and_left_out(built):
    root, rep, page = built
    assert "11 ok, 1 failed" in page
    s = rep.tables["vendor_summary"]
    assert s.loc[s.metric == "conversions", "mean"].max() < 10_000
    assert s.loc[s.metric == "conversions", "n"].tolist() == [6, 6, 5, 5]


def test_page_is_self_contained(built):
    _root, rep, page = built
    assert not EXTERNAL.search(page)
    assert "http://" not in page and "https://" not in page
    imgs = re.findall(r'<img[^>]*src="([^"]+)"', page)
    assert len(imgs) >= 4 and all(s.startswith("data:image/png;base64,") for s in imgs)
    assert "<script" not in page.lower() and "<link" not in page.lower()
    assert "@import" not in page and "@font-face" not in page


def test_every_table_has_a_csv(built):
    _root, rep, page = built
    names = {p.stem for p in rep.csv_paths}
    assert {
        "setup",
        "vendor_summary",
        "comparisons",
        "funnel",
        "source_use",
        "idc_ranking",
        "win_share_weeks",
    } <= names
    for p in rep.csv_paths:
        assert p.exists() and p.parent.name == "report_tables"
        assert f"report_tables/{p.name}" in page
    idc = rep.tables["idc_ranking"].set_index("stage")
    # the fixture's early-stage use ranks channels in table order
    assert idc.loc["early", "simulated top three"] == "industry_media > search > microblogs"
    assert bool(idc.loc["early", "same order"])


def test_set_up_is_described(built):
    _root, _rep, page = built
    for text in (
        "Which mix wins?",
        "scenarios/baseline.toml",
        "buyers.count = 300",
        "100, 101, 102",
    ):
        assert text in page


def test_sampled_sweep_gets_sensitivity(tmp_path):
    variants = [f"a={i}" for i in range(12)]
    root = make_sweep(tmp_path, variants=variants, reps=2, sampled=True)
    rep = build_report(root, tmp_path / "r.html", vendor="Beta")
    sens = rep.tables["sensitivity"]
    assert set(sens.outcome) == {"Beta conversions", "all purchases"}
    assert sens.parameter.tolist() == ["p:a", "p:a"]
    assert "Parameter effects and a quick sensitivity screen" in (tmp_path / "r.html").read_text()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"reference": "nope"}, "--reference"), ({"vendor": "Nobody"}, "--vendor")],
)
def test_bad_choices_are_input_errors(built, tmp_path, kwargs, field):
    root, _rep, _page = built
    with pytest.raises(ScenarioError) as exc:
        build_report(root, tmp_path / "x.html", **kwargs)
    assert exc.value.field == field


def test_missing_or_empty_folder_is_an_input_error(tmp_path):
    with pytest.raises(ScenarioError, match="no such folder"):
        build_report(tmp_path / "nothing", tmp_path / "x.html")
    with pytest.raises(ScenarioError, match="no sweep results"):
        build_report(tmp_path, tmp_path / "x.html")


# ------------------------------------------------------------------ answers first
@pytest.fixture(scope="module")
def answered(tmp_path_factory):
    root = budget_sweep(tmp_path_factory.mktemp("budget"))
    out = root / "out" / "report.html"
    rep = build_report(root, out)
    return root, rep, out.read_text(encoding="utf-8")


def test_the_page_opens_with_the_answers_then_figures_then_scorecard(answered):
    _root, rep, page = answered
    a, f, s = page.index(">Answers<"), page.index(">Figures<"), page.index(">Scorecard per variant")
    assert a < f < s < page.index(">Set-up<")
    ans = rep.tables["answers"]
    assert list(ans.vendor.unique()) == ["Alpha"]  # only Alpha's choices are swept
    assert ans.equal_budget.all() and sorted(ans.budget) == [15000.0, 30000.0]
    # the fixture makes each later variant win about 40 more conversions for Alpha
    best = dict(zip(ans.budget, ans.best, strict=True))
    assert best == {15000.0: "mix=B,budget=15000", 30000.0: "mix=B,budget=30000"}
    assert (ans.p_best > 0.95).all() and (ans.best_share_of_replications > 0.95).all()
    assert "at equal budget, 15,000 a week" in page.lower()
    assert "probability of being best 1.00" in page


def test_the_answers_difference_to_the_runner_up_is_paired_and_holm_is_per_vendor(answered):
    root, rep, page = answered
    ans = rep.tables["answers"]
    v = ok_vendor_rows(root)
    v = v[v.vendor == "Alpha"]
    pvals = []
    for r in ans.itertuples():
        w = v.pivot(index="replication", columns="variant", values="conversions")[
            [r.best, r.runner_up]
        ].dropna()
        d = w[r.best] - w[r.runner_up]
        lo, hi = stats.t.interval(0.95, len(d) - 1, loc=d.mean(), scale=stats.sem(d))
        assert (r.diff, r.ci_low, r.ci_high) == pytest.approx((d.mean(), lo, hi))
        pvals.append(stats.ttest_rel(w[r.best], w[r.runner_up]).pvalue)
        assert r.plain == (
            f"{r.best} wins {d.mean():,.0f} more conversions than {r.runner_up} "
            f"(95% CI {lo:,.0f} to {hi:,.0f})"
        )
        assert r.plain in page
    lo_p, hi_p = sorted(pvals)
    assert sorted(ans.p_holm) == pytest.approx([min(1, 2 * lo_p), min(1, max(2 * lo_p, hi_p))])
    assert "one family per vendor and metric" in page
    assert "within Alpha's conversions family of 2 comparisons" in page
    assert "wins 0" not in page and "+/-" not in page.split(">Figures<")[0]
    assert re.search(r"about [\d,]+ replications would bring it to ±", page)


def test_the_answers_rank_by_a_chosen_metric_lowest_first_for_costs(answered):
    """`--metric cost_per_acquisition`: the best variant of each budget group is the one
    with the lowest mean cost per acquisition, and the sentence says 'lower'."""
    root, _rep, _page = answered
    out = root / "out_cpa" / "report.html"
    rep = build_report(root, out, metric="cost_per_acquisition")
    page = out.read_text(encoding="utf-8")
    ans = rep.tables["answers"]
    assert (ans.metric == "cost_per_acquisition").all() and len(ans) == 2
    v = ok_vendor_rows(root)
    v = v[v.vendor == "Alpha"]
    for r in ans.itertuples():
        means = v[v.variant.isin([r.best, r.runner_up])].groupby("variant")["cost_per_acquisition"]
        means = means.mean()
        assert means[r.best] < means[r.runner_up]
        assert r.mean_best == pytest.approx(means[r.best])
        assert r.diff < 0
        if r.verdict == "clear":
            assert (
                r.plain.startswith(f"{r.best} has ") and " lower cost per acquisition " in r.plain
            )
    assert "Best by mean cost per acquisition (lowest is best)" in page
    assert "cost per acquisition family of 2 comparisons" in page


def test_no_clear_difference_is_worded_plainly(tmp_path):
    root = make_sweep(tmp_path, variants=("a", "b"), reps=6, seed=3)
    sdir = root / "sweep=demo"
    v = pq.read_table(sdir / "table=vendors" / "part-a.parquet").to_pandas()
    rng = np.random.default_rng(0)
    v.loc[v.vendor == "Beta", "conversions"] = 80 + rng.integers(-5, 6, (v.vendor == "Beta").sum())
    write_parquet(v, sdir / "table=vendors" / "part-a.parquet")
    info = json.loads((sdir / "sweep.json").read_text())
    info["axes"][0]["vendor"] = "Beta"
    (sdir / "sweep.json").write_text(json.dumps(info))
    rep = build_report(root, tmp_path / "r.html")
    row = rep.tables["answers"].iloc[0]
    assert row.vendor == "Beta"
    if row.verdict != "clear":
        assert row.plain.startswith("no clear difference between") and "wins" not in row.plain


def test_legends_never_cover_data_and_labels_name_the_whole_variant(answered):
    _root, rep, _page = answered
    variants = [
        "mix=community_first,vendors.Challenger.weekly_budget=15000",
        "mix=analyst_led,vendors.Challenger.weekly_budget=15000",
    ]
    s = rep.tables["vendor_summary"].copy()
    s = s[s.variant.isin(["mix=A,budget=15000", "mix=B,budget=15000"])]
    s["variant"] = s["variant"].map(
        dict(zip(["mix=A,budget=15000", "mix=B,budget=15000"], variants, strict=True))
    )
    for fig in (
        figures.fig_conversions(s, variants),
        figures.fig_funnel(tables.funnel_table(pd.DataFrame()), []) if False else None,
    ):
        if fig is None:
            continue
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        ax = fig.axes[0]
        legend = ax.get_legend() or fig.legends[0]
        lb = legend.get_window_extent(renderer)
        data = [p.get_window_extent(renderer) for p in ax.patches]
        data += [ln.get_window_extent(renderer) for ln in ax.lines]
        data += [c.get_window_extent(renderer) for c in ax.collections]
        assert data and not any(lb.overlaps(b) for b in data if b.width > 0 and b.height > 0)
        assert not lb.overlaps(ax.get_window_extent(renderer))  # outside the plot area
        fb = fig.bbox
        assert fb.x0 <= lb.x0 and lb.x1 <= fb.x1  # and inside the picture
        labels = [t.get_text().replace("\n", "") for t in ax.get_xticklabels()]
        assert labels == variants
        for t in ax.get_xticklabels():
            tb = t.get_window_extent(renderer)
            assert fb.x0 <= tb.x0 and tb.x1 <= fb.x1 and fb.y0 <= tb.y0
        import matplotlib.pyplot as plt

        plt.close(fig)


def test_vendor_filters_everything(tmp_path):
    root = budget_sweep(tmp_path)
    out = tmp_path / "alpha" / "report.html"
    rep = build_report(root, out, vendor="Beta")
    page = out.read_text(encoding="utf-8")
    # only the set-up (the sweep's design: its axes) names the other vendor
    assert (
        "Alpha" not in page.split(">Set-up<")[0] + page.split(">Set-up<")[1].split("</table>", 1)[1]
    )
    assert "Beta" in page
    for p in rep.csv_paths:
        df = pd.read_csv(p)
        if "vendor" in df:
            assert set(df["vendor"].dropna()) <= {"Beta"}, p.name
    assert set(rep.tables["answers"].vendor) == {"Beta"}


def test_optimisation_results_in_the_folder_appear_as_a_section(tmp_path):
    """The optimisation study's own section (analysis/studies/optimize/section.py)."""
    pytest.importorskip("analysis.studies.optimize.section")
    root = budget_sweep(tmp_path)
    opt = root / "opt"
    opt.mkdir()
    summary = {
        "vendor": "Alpha",
        "headline": "Alpha at 30,000 a week: search 100%",
        "comparisons": ["x wins 3 more conversions than y (95% CI 1 to 5)"],
        "setup": "8 trials",
    }
    (opt / "optimize.json").write_text(json.dumps(summary))
    page = build_report(root, tmp_path / "r.html").html_path.read_text()
    assert "Mix optimisation: Alpha" in page and "search 100%" in page
    page = build_report(root, tmp_path / "b.html", vendor="Beta").html_path.read_text()
    assert "Mix optimisation" not in page


def test_a_sampled_sweep_answers_over_its_sampled_conditions(tmp_path):
    """Choices crossed with sampled points: the answer ranks them by the mean over the
    points (each point's replications averaged), pairs them by point, and says so; the
    numbers match an independent computation from the Parquet files."""
    from analysis.engine.design import load_sweep_file
    from analysis.studies.sweep.study import run_sweep
    from tests.conftest import sampled_sweep

    f = tmp_path / "sampled.toml"
    f.write_text(sampled_sweep("sampled", replications=2, buyers=1000, weeks=78))
    out = tmp_path / "sweeps"
    run_sweep(load_sweep_file(f), out, workers=1, progress=False)
    rep = build_report(out, tmp_path / "report.html")
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    ans = rep.tables["answers"]
    assert len(ans) == 1 and ans.sampled.all() and ans.points.iloc[0] == 8
    r = ans.iloc[0]
    sdir = out / "sweep=sampled"
    runs = pd.concat(pq.read_table(p).to_pandas() for p in (sdir / "table=runs").glob("*.parquet"))
    v = pd.concat(pq.read_table(p).to_pandas() for p in (sdir / "table=vendors").glob("*.parquet"))
    v = v[v.vendor == "CommunityFirst"].merge(runs[["run_id", "p:mix", "p:status_quo"]])
    per_point = v.pivot_table(
        index="p:status_quo", columns="p:mix", values="conversions", aggfunc="mean"
    )
    assert per_point.shape == (8, 2)
    best = per_point.mean().idxmax()
    other = per_point.mean().idxmin()
    assert r.best == f"mix={best}" and r.runner_up == f"mix={other}"
    d = per_point[best] - per_point[other]
    lo, hi = stats.t.interval(0.95, len(d) - 1, loc=d.mean(), scale=stats.sem(d))
    assert (r["diff"], r.ci_low, r.ci_high) == pytest.approx((d.mean(), lo, hi))
    assert r.mean_best == pytest.approx(per_point[best].mean())
    wins = (per_point[best] > per_point[other]) + 0.5 * (per_point[best] == per_point[other])
    assert r.best_share_of_replications == pytest.approx(wins.mean())  # ties count half
    assert "Over 8 sampled conditions (status_quo" in page
    assert "a sweep of about" in page and "sampled points would bring it to" in page
