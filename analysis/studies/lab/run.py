"""Running the attribution lab: the runs its folder does not hold yet, on one worker, a
process pool or Dask (analysis.engine), then every run read back into a LabResult.

The runs are chunked Parquet in the lab's runs folder: a rerun into the same folder runs
only what is missing, and a run that raises is a failure row (the table uses the rest).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd

from analysis.engine.context import ExecutionContext
from analysis.engine.design import replication_seeds, scenario_hash
from analysis.engine.experiment import Experiment
from analysis.engine.parts import load_table
from analysis.stats.credit import METHODS
from analysis.studies.lab.result import LabResult, summarize_lab
from analysis.studies.lab.spec import check_lab, counterfactuals, lab_experiment, lab_variants
from sim.scenario import Scenario


def run_lab(
    scenario: Scenario,
    vendor: str,
    reps: int,
    out: str | Path | None = None,
    workers: int = 1,
    dask: str | None = None,
    retry_failed: bool = False,
    progress: bool = False,
) -> LabResult:
    """Run the runs of the lab that `out` does not hold yet, then read all of them back.

    `out`: the lab's runs folder (chunked Parquet, resumable); None runs into a temporary
    folder removed afterwards. Returns the LabResult with its summary table filled in
    (empty if the runs were interrupted before all finished).
    """
    check_lab(scenario, vendor, reps)
    exp = lab_experiment(scenario, vendor, reps)
    spend = {k: s for k, (_, s) in counterfactuals(scenario, vendor).items()}
    if out is None:
        with tempfile.TemporaryDirectory(prefix="attribution-") as tmp:
            return run_lab(scenario, vendor, reps, tmp, workers, dask, retry_failed, progress)
    with ExecutionContext(workers, dask, progress, desc=exp.name) as ctx:
        outcome = ctx.run(
            exp,
            out,
            retry_failed,
            info=lab_info(scenario, vendor, reps, spend),
            info_file="lab.json",
        )
    lab = read_lab(exp, out, spend)
    lab.outcome = outcome
    if outcome.complete:
        lab.table = summarize_lab(lab)
    return lab


def lab_info(scenario: Scenario, vendor: str, reps: int, spend: dict[str, float]) -> dict:
    """The lab's set-up as plain data (written as lab.json next to its runs)."""
    return {
        "scenario": scenario.name,
        "scenario_hash": scenario_hash(scenario),
        "vendor": vendor,
        "replications": reps,
        "seed": scenario.seed,
        "seeds": replication_seeds(scenario.seed, reps),
        "spend": spend,
        "variants": [v.label for v in lab_variants(scenario, vendor)],
    }


def read_lab(exp: Experiment, out: str | Path, spend: dict[str, float]) -> LabResult:
    """The lab's stored rows (this experiment's run ids only, ok runs only)."""
    ids = {s.run_id for s in exp.runs}
    runs = load_table(out, "runs", ids)
    failed = int((runs["status"] != "ok").sum()) if len(runs) else 0
    ok = runs[runs["status"] == "ok"] if len(runs) else runs
    conversions = pd.DataFrame(
        {
            "counterfactual": ok.get("variant", pd.Series(dtype="string")).astype(str),
            "replication": ok.get("replication", pd.Series(dtype=int)).astype(int),
            "conversions": ok.get("conversions", pd.Series(dtype=int)).astype(int),
            "revenue": ok.get("revenue", pd.Series(dtype=float)).astype(float),
            "paid_spend": ok.get("paid_spend", pd.Series(dtype=float)).astype(float),
        }
    ).reset_index(drop=True)
    credit = load_table(out, "credit", set(ok.get("run_id", ())))
    measured = credit[["replication", "channel", *METHODS]] if len(credit) else credit
    seeds = [s.seed for s in exp.runs if s.variant_id == 0]  # replication order
    return LabResult(
        scenario=exp.scenario.name,
        vendor=str(exp.runs[0].params["vendor"]),
        reps=len(seeds),
        seeds=seeds,
        spend=spend,
        measured=measured,
        conversions=conversions,
        failed=failed,
    )
