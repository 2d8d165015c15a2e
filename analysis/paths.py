"""Where the project's own files are: the checkout's root and its shipped scenarios."""

from __future__ import annotations

from pathlib import Path

#: the project's root folder (run.py, scenarios/, docs/)
ROOT = Path(__file__).resolve().parent.parent
#: the shipped scenario, sweep and study files
SCENARIOS = ROOT / "scenarios"
#: the scenario every command runs when none is named
BASELINE = SCENARIOS / "baseline.toml"
#: the shipped baseline's posterior (`run.py calibrate --method abc`,
#: docs/calibration/baseline-abc/): the default summary answers across it
BASELINE_POSTERIOR = SCENARIOS / "baseline_posterior.parquet"
