"""Running a DATA-loop study: every oracle planned, then every variant x replication.

    res = run_study(study, "results/dataloop", reps=10)     # StudyResult, tables made

One execution context (analysis.engine.context) serves the whole study: the pool or Dask
cluster, one progress bar counting every run, and the folders' locks, from the first
oracle's planning runs to the study's last run. Layout under DIR:

    DIR/oracle=<vendor>/cadence=<c>/   one oracle's planning runs (oracle.json, table=runs)
    DIR/study/                         the study's runs (study.json, table=runs, mix, ...)

Everything is resumable: a rerun finds the runs on disk and runs only what is missing.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.engine.context import ExecutionContext
from analysis.engine.design import Variant, expand_runs, replication_seeds, scenario_hash
from analysis.engine.experiment import Experiment
from analysis.engine.folders import check_out_dir
from analysis.engine.parts import load_table
from analysis.errors import raise_if_stopped
from analysis.studies.dataloop.oracle import OraclePlan, plan_oracle
from analysis.studies.dataloop.records import study_plan
from analysis.studies.dataloop.spec import Study
from analysis.studies.dataloop.summary import StudyResult, summarize_study


def run_study(
    study: Study,
    out: str | Path,
    reps: int | None = None,
    oracle_reps: int | None = None,
    workers: int | None = None,
    dask: str | None = None,
    progress: bool = True,
) -> StudyResult:
    """Plan every oracle variant, then run every variant x replication (paired seeds);
    everything under `out` (resumable), which stays locked to this study until it ends.

    `reps`: the study's replications (default: the file's); `oracle_reps`: each oracle
    adjustment's planning replications (default: `reps`). Raises Stopped when the engine
    stops or a planning run fails.
    """
    started = time.perf_counter()
    reps = reps or study.replications
    oracle_reps = oracle_reps or reps
    out = check_out_dir(out)
    desc = f"dataloop {study.name}"
    with ExecutionContext(workers, dask, progress, desc=desc, count_runs=True) as ctx:
        ctx.lock(out)
        plans = plan_oracles(ctx, study, out, oracle_reps)
        schedules = {label: p.schedule for label, p in plans.items()}
        seeds = replication_seeds(study.seed, reps)
        exp = study_experiment(study, seeds, schedules)
        info = {
            "study": study.name,
            "source": study.source,
            "vendor": study.vendor,
            "replications": reps,
            "oracle_replications": oracle_reps,
            "seed": study.seed,
            "seeds": seeds,
            "variants": [v.label for v in study.variants],
            "schedules": schedules,
        }
        outcome = ctx.run(exp, out / "study", info=info, info_file="study.json")
        raise_if_stopped(outcome)
    runs = load_table(out / "study", "runs", {s.run_id for s in exp.runs})
    res = _result(study, out / "study", runs, plans)
    res.ran = sum(p.ran for p in plans.values()) + outcome.ran
    res.already = sum(p.already for p in plans.values()) + outcome.already
    res.failed = int((runs["status"] != "ok").sum())
    res.elapsed_s = time.perf_counter() - started
    res.tables = summarize_study(res)
    return res


def plan_oracles(
    ctx: ExecutionContext, study: Study, out: Path, reps: int
) -> dict[str, OraclePlan]:
    """Each oracle variant's plan (label -> OraclePlan), its runs in
    out/oracle=<vendor>/cadence=<c>/."""
    plans = {}
    for v in study.variants:
        if v.policy != "oracle":
            continue
        settings = study.settings(v)
        sub = out / f"oracle={study.vendor}" / f"cadence={settings.cadence_weeks}"
        scenario = study.scenario.with_changes(study.changes(v))
        plans[v.label] = plan_oracle(ctx, scenario, study.vendor, settings, sub, reps, v.label)
    return plans


def study_experiment(
    study: Study, seeds: list[int], schedules: dict[str, list[dict[str, Any]]]
) -> Experiment:
    """The study's runs: every variant (an oracle with its planned schedule) on the
    same seeds (common random numbers)."""
    variants = [
        Variant(
            i,
            v.label,
            {"policy": v.policy, "strategy": v.strategy, "cadence": v.cadence or 0},
            study.changes(v, schedules.get(v.label)),
        )
        for i, v in enumerate(study.variants)
    ]
    return Experiment(
        name=f"dataloop {study.name}",
        scenario=study.scenario,
        runs=tuple(expand_runs(scenario_hash(study.scenario), variants, seeds)),
        plan=study_plan(study),
        params=(("policy", False), ("strategy", False), ("cadence", True)),
    )


def _result(
    study: Study, folder: Path, runs: pd.DataFrame, plans: dict[str, OraclePlan]
) -> StudyResult:
    """The result of the runs that finished: their rows and tables, and the plans."""
    ok = runs[runs["status"] == "ok"].reset_index(drop=True)
    ids = set(ok["run_id"])
    return StudyResult(
        study=study,
        runs=ok,
        vendors=load_table(folder, "vendors", ids),
        mix=load_table(folder, "mix", ids),
        beliefs=load_table(folder, "beliefs", ids),
        truth={label: p.truth for label, p in plans.items()},
        schedules={label: p.schedule for label, p in plans.items()},
    )
