"""Files the live view's tests open: the baseline with or without accounts, the baseline
with a data-loop vendor, and a DATA-loop study file (tests/builders.py)."""

from __future__ import annotations

import re
from pathlib import Path

from analysis.paths import BASELINE
from tests import builders

#: the baseline's vendor that `data_loop_file` puts on the DATA loop
LOOP_VENDOR = "SearchHeavy"


def scenario_file(tmp_path: Path, accounts: bool) -> str:
    """The baseline with accounts on (consensus 67%) or off (one-person accounts), as a
    file the view can load."""
    text = BASELINE.read_text()
    text = re.sub(r"(?ms)^\[(accounts|calibration)\]\n.*?(?=^\[)", "", text)
    if accounts:
        text += "\n[accounts]\nconsensus = 0.67\n"
    path = tmp_path / ("accounts.toml" if accounts else "one_person.toml")
    path.write_text(text)
    return str(path)


def data_loop_file(tmp_path: Path, baseline: int = 4, cadence: int = 4) -> str:
    """The baseline with SearchHeavy on the DATA loop (perfect tracking, short baseline
    and cadence so a small test run sees adjustments)."""
    text = BASELINE.read_text()
    loop = (
        f'policy = "data_loop"\ndata_loop = {{ baseline_weeks = {baseline}, '
        f'cadence_weeks = {cadence}, window_weeks = {baseline}, tracking = {{ method = "perfect" }} }}'
    )
    text = text.replace(f'name = "{LOOP_VENDOR}"', f'name = "{LOOP_VENDOR}"\n{loop}', 1)
    path = tmp_path / "data_loop_scenario.toml"
    path.write_text(text)
    return str(path)


def study_file(tmp_path: Path) -> str:
    """A DATA-loop study file (builders.dataloop_policies_study): Focal static, on three
    data loops or the oracle, at cadences 13 and 52."""
    return str(builders.write(tmp_path, builders.dataloop_policies_study(), "policies.toml"))
