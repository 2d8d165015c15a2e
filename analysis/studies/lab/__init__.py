"""The attribution lab: what measured attribution says a channel did, against what it did.

Measured credit (analysis.stats.credit: first touch, last touch, linear, position-based,
self-report) is compared with the ground truth: a channel's incremental conversions, the
vendor's conversions lost when its spend in that channel is set to zero, from paired
counterfactual runs (common random numbers).

    from analysis.studies.lab.run import run_lab
    lab = run_lab(scenario, "Focal", reps=10, out="lab_runs")   # resumable; lab.table
    print(format_lab(lab.table))                                 # lab.render
    write_lab(lab.table, Path("lab.html")); save_lab(lab, SWEEP_DIR)  # lab.files

Modules: spec (the design as an engine experiment, input checks), run (running and
reading the runs back), result (LabResult, the table: summarize_lab, incremental ROI),
render (terminal, figure, HTML section), files (the page, CSV, Parquet; --save).
"""
