"""Scenario discovery (`python run.py discover SWEEP_DIR --when "EXPR"`): under which
market conditions does a condition hold? PRIM boxes of a sweep's uncertainties.

    from analysis.studies.discover.report import write_outputs
    from analysis.studies.discover.run import discover
    from analysis.studies.discover.spec import Question

    found = discover(sweep_dir, Question("roi.A@mix=x > roi.A@mix=y", boxes=2))
    write_outputs(found.describe(), sweep_dir / "discovery.html")

The sweep's uncertainties are its axes (sampled ranges, grids; the `p:<axis>` columns of
the runs table) other than those the condition compares; a *case* is one replication at
one point of the uncertainties. The condition is evaluated per case, and PRIM (the EMA
Workbench's `ema_workbench.analysis.prim.Prim`, Friedman and Fisher's patient rule
induction as used for scenario discovery by Bryant and Lempert 2010) peels the
uncertainty space down to boxes where it holds unusually often. Each box is reported with
its coverage (the share of all cases where the condition holds that fall in the box), its
density (the share of the box's cases where it holds), its mass, the limits of its
restricted dimensions with quasi-p values, and the peeling trajectory (coverage vs
density) from which it was chosen.

The modules, along the study's seams:

    spec         the question: the condition, the number of boxes, a density to reach
    conditions   the condition language: tokenize, parse, refs, evaluate (ExprError)
    cases        a sweep folder read into cases: the uncertainties and the condition
    prim         PRIM via the EMA Workbench: the boxes and the point chosen on each
    run          sweep folder + question -> Discovery
    report       the page, <stem>.json, <stem>_boxes.csv, <stem>_trajectory.csv
    figures      the peeling trajectories
    section      the discovery as a section of a sweep's batch report
"""
