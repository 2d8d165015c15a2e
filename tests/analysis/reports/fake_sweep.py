"""Hand-made sweep folders for the report's tests, in the layout `run.py sweep` writes
(analysis.engine.results): known numbers, one failed run, no simulation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from analysis.engine.store import write_parquet
from sim.channels import CHANNEL_NAMES

VENDORS = ("Alpha", "Beta")


def make_sweep(
    root: Path, variants=("community-first", "microblog-heavy"), reps=6, sampled=False, seed=1
) -> Path:
    """A sweep folder in the layout of analysis/studies/sweep/study.py, with one failed run."""
    rng = np.random.default_rng(seed)
    sdir = root / "sweep=demo"
    runs, vendors, source, weekly = [], [], [], []
    for vid, variant in enumerate(variants):
        a = rng.uniform(0, 1)
        for r in range(reps):
            rid = f"{vid}-{r}"
            failed = vid == 1 and r == reps - 1
            row = {
                "run_id": rid,
                "variant": variant,
                "variant_id": vid,
                "replication": r,
                "seed": 100 + r,
                "status": "error" if failed else "ok",
                "error": "ValueError: boom" if failed else None,
                "elapsed_s": 0.1,
                "p:a": a,
                "journeys": 500 + r,
                "reached_early": 500 + r,
                "reached_middle": 450 + r,
                "reached_final": 400 + r,
                "decided": 350 + r,
                "purchases": 200 + 10 * vid + r,
                "no_decisions": 150,
                "open": 150,
            }
            runs.append(row)
            conv = np.array([100 + 40 * vid + 3 * r, 80 + r]) + rng.integers(0, 5, 2)
            if failed:
                conv = np.array([10_000, 10_000])  # must never enter the statistics
            spend = np.array([50_000.0, 40_000.0])
            revenue = conv * rng.uniform(900, 1100, 2)
            for i, v in enumerate(VENDORS):
                vendors.append(
                    {
                        "run_id": rid,
                        "variant": variant,
                        "variant_id": vid,
                        "replication": r,
                        "seed": 100 + r,
                        "vendor": v,
                        "conversions": int(conv[i]),
                        "win_share": conv[i] / conv.sum(),
                        "revenue": revenue[i],
                        "marketing_spend": spend[i],
                        "roi": (revenue[i] - spend[i]) / spend[i],
                        "cost_per_acquisition": spend[i] / conv[i],
                        "break_even_volume": rng.uniform(10, 20),
                        "originated_share": rng.uniform(0.3, 0.7),
                    }
                )
            if failed:
                continue
            for s, stage in enumerate(("early", "middle", "final")):
                for c, ch in enumerate(CHANNEL_NAMES):
                    source.append(
                        {
                            "run_id": rid,
                            "variant": variant,
                            "variant_id": vid,
                            "replication": r,
                            "stage": stage,
                            "channel": ch,
                            "touches": int(100 * (9 - c) if s == 0 else 10 + c),
                        }
                    )
            for w in range(5):
                for v in VENDORS:
                    weekly.append(
                        {
                            "run_id": rid,
                            "variant": variant,
                            "variant_id": vid,
                            "replication": r,
                            "week": w,
                            "vendor": v,
                            "conversions": int(rng.integers(0, 5)),
                        }
                    )
    runs_df = pd.DataFrame(runs)
    if not sampled:
        runs_df = runs_df.drop(columns="p:a")
    write_parquet(pd.DataFrame(vendors), sdir / "table=vendors" / "part-a.parquet")
    write_parquet(pd.DataFrame(source), sdir / "table=source_use" / "part-a.parquet")
    write_parquet(pd.DataFrame(weekly), sdir / "table=weekly_vendors" / "part-a.parquet")
    # two parts for runs, as a chunked sweep writes them
    half = len(runs_df) // 2
    write_parquet(runs_df.iloc[:half], sdir / "table=runs" / "part-a.parquet")
    write_parquet(runs_df.iloc[half:], sdir / "table=runs" / "part-b.parquet")
    axes = (
        [{"name": "a", "kind": "range", "column": "p:a", "paths": ["x.a"], "low": 0, "high": 1}]
        if sampled
        else [
            {
                "name": "mix",
                "kind": "strategy",
                "column": "p:mix",
                "vendor": "Alpha",
                "values": list(variants),
            }
        ]
    )
    info = {
        "name": "demo",
        "description": "Which mix wins?",
        "scenario": "scenarios/baseline.toml",
        "scenario_name": "baseline",
        "set": {"buyers.count": 300},
        "axes": axes,
        "replications": reps,
        "seed": 100,
        "seeds": [100 + r for r in range(reps)],
        "sampler": "lhs" if sampled else None,
        "samples": len(variants) if sampled else None,
        "vendors": list(VENDORS),
        "variants": [{"variant_id": i, "variant": v, "params": {}} for i, v in enumerate(variants)],
    }
    (sdir / "sweep.json").write_text(json.dumps(info))
    return root


def budget_sweep(root: Path) -> Path:
    """Two mixes of Alpha at two of Alpha's budgets (a strategy axis x a budget axis)."""
    variants = (
        "mix=A,budget=15000",
        "mix=B,budget=15000",
        "mix=A,budget=30000",
        "mix=B,budget=30000",
    )
    make_sweep(root, variants=variants, reps=8)
    sdir = root / "sweep=demo"
    for f in sorted((sdir / "table=runs").glob("*.parquet")):
        df = pq.read_table(f).to_pandas()
        df["p:mix"] = df["variant"].str.extract(r"mix=(\w)")[0]
        df["p:budget"] = df["variant"].str.extract(r"budget=(\d+)")[0].astype(float)
        write_parquet(df, f)
    info = json.loads((sdir / "sweep.json").read_text())
    info["axes"] = [
        {
            "name": "mix",
            "kind": "strategy",
            "column": "p:mix",
            "vendor": "Alpha",
            "values": ["A", "B"],
        },
        {
            "name": "budget",
            "kind": "grid",
            "column": "p:budget",
            "paths": ["vendors.Alpha.weekly_budget"],
            "values": [15000.0, 30000.0],
        },
    ]
    info["strategies"] = {
        "A": {"channel_mix": {"search": 1.0}},
        "B": {"channel_mix": {"industry_media": 1.0}},
    }
    (sdir / "sweep.json").write_text(json.dumps(info))
    return root
