"""Answers across plausible markets (`--posterior FILE` on summary, sweep, report and
optimize): each replication of a study draws one parameter set from a calibration's
posterior, the same set for every strategy of that replication, so strategies stay
paired while the answer carries parameter uncertainty.

    from analysis.studies.across.draws import load_draws

    draws = load_draws("posterior.parquet", scenario, seed)   # one-line ScenarioError
    runs = expand_runs(scenario_hash(scenario), variants, seeds, draws)  # engine.design

The draws enter the run table in analysis.engine.design.run_spec (the one place a run's
changes are put together); the verdicts over them are analysis.stats.verdict.
"""
