"""A scenario written back as a TOML file that `sim.scenario.load_scenario` reads: the
calibrated scenario of `run.py calibrate`, and the scenario a `run.py simulate --out`
folder records when its file takes a base market (the file alone would not load there).
"""

from __future__ import annotations

import json
import math
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.scenario import Scenario


def _toml_key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else json.dumps(k)


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v if x is not None) + "]"
    if isinstance(v, dict):
        items = [f"{_toml_key(str(k))} = {_toml_value(x)}" for k, x in v.items() if x is not None]
        return "{ " + ", ".join(items) + " }" if items else "{}"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def scenario_toml(scenario: Scenario, header: str = "") -> str:
    """A scenario as a TOML file in the [scenario] / [buyers] / [[vendors]] layout that
    sim.scenario.load_scenario reads (unset optional fields are left out; a relative
    graph path is made absolute, since the file may live elsewhere)."""
    data = scenario.model_dump(exclude={"source", "base_dir"})
    if scenario.network.path is not None:
        data["network"]["path"] = str(scenario.graph_path().resolve())
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    head = {k: v for k, v in data.items() if not isinstance(v, dict | list | tuple)}
    lines += ["", "[scenario]"] + [
        f"{_toml_key(k)} = {_toml_value(v)}" for k, v in head.items() if v is not None
    ]
    for key, v in data.items():
        if key in head or v is None:
            continue
        if isinstance(v, dict):
            if not v:
                continue
            lines += ["", f"[{_toml_key(key)}]"]
            lines += [
                f"{_toml_key(str(k))} = {_toml_value(x)}" for k, x in v.items() if x is not None
            ]
        else:
            for item in v:
                lines += ["", f"[[{_toml_key(key)}]]"]
                lines += [
                    f"{_toml_key(str(k))} = {_toml_value(x)}"
                    for k, x in item.items()
                    if x is not None
                ]
    return "\n".join(lines) + "\n"
