"""The batch report of a sweep: one self-contained HTML file, plus a CSV per table.

`build_report(DIR, OUT)` reads a sweep folder (analysis.engine.results) and writes the page;
`python run.py report` (analysis/cli/report.py) is its command line.

The page opens offline: figures are PNGs embedded as data: URIs, the style sheet is
inline, and nothing refers to a server. Next to it, `<stem>_tables/<table>.csv` holds
every table of the report with full-precision numbers.

Contents: the question and set-up (base scenario, fixed changes, axes, replications,
seeds); per variant and vendor the scorecard (conversions, win share, revenue, spend, ROI,
cost per acquisition, break-even volume, marketing-originated share) as means with 95%
t intervals over replications; paired comparisons against a reference variant (common
random numbers: replication r of every variant used the same seed) with a paired t-test
and a verdict per pair; figures (conversions by variant with CI bars, the stage funnel,
source use by stage next to the IDC ranking, win share over weeks); for sampled sweeps,
each parameter's effect (binned means) and a sensitivity ranking; for policy sweeps (the
`mix` and `beliefs` tables, analysis.engine.outcomes) how the adaptive vendor moved its mix and
what it believed each channel returned; any attribution labs saved into the folder
(`run.py attribution ... --save DIR`); and the sections of other studies run near the
sweep (analysis.render.sections).

Only runs with status "ok" enter the statistics; the set-up says how many failed.

Modules, from the folder to the page:
    data.py            reading a sweep folder: SweepData, load, check_sound, check_complete
    tables.py          the set-up, scorecard, funnel, source use, IDC, win share, screen
    answers.py         the answers of grid and sampled sweeps: the ranking, Holm
    figures.py         every matplotlib figure
    policy.py          a policy sweep's section: beliefs against the truth
    attribution.py     saved attribution labs
    study_sections.py  other studies' sections (one contract: analysis.render.sections)
    page.py            the page's HTML, part by part
    build.py           build_report: the parts in order, written all or nothing
"""
