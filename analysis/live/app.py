"""The live view as `run.py viz` serves it: sim/viz.py's page, plus what only the analysis
layer knows: how to read a DATA-loop study file (scenarios/data_loop.toml) into its base
scenario and policy variants. sim never imports analysis, so the launcher serves this
page, which registers the reader with the view."""

from __future__ import annotations

from analysis.live import view as viz
from analysis.studies.dataloop.study import load_study

viz.register_study_loader(load_study)
Page = viz.Page
