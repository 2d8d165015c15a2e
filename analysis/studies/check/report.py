"""A check for people and for programs: the text table `run.py check` prints (a row per
target: goal, tolerance, simulated mean, its 95% interval, the verdict) and the JSON list
`run.py check --json` prints (CheckResult.to_json; NaN written as null).

Verdicts are the calibration's words (analysis.studies.calibrate.report): "pass",
"FAIL", "not measurable in this scenario (why)".
"""

from __future__ import annotations

import json
import math

from analysis.render.terminal import format_table
from analysis.studies.check.result import CheckResult, Row

#: how a verdict is decided, said under the table
RULE = (
    "a target passes when its mean is within one tolerance of its value or band "
    "(the rule of run.py calibrate's fit report)"
)


def _fmt(x: float, digits: int = 3) -> str:
    """A number in `digits` significant digits; "-" for a missing one."""
    return "-" if not math.isfinite(x) else f"{x:.{digits}g}"


def verdict(row: Row) -> str:
    """ "pass", "FAIL" or "not measurable in this scenario (why)"; a note on a target
    measured in some replications only is added in brackets."""
    if not row.measurable:
        why = row.note.removeprefix("not measurable: ") or "no replication measured it"
        return f"not measurable in this scenario ({why})"
    word = "pass" if row.passed else "FAIL"
    return f"{word} ({row.note})" if row.note else word


def table_rows(result: CheckResult) -> list[list[str]]:
    """The table's cells: target, measure, goal, tolerance, simulated, interval, verdict."""
    rows = []
    for r in result.rows:
        interval = "-" if math.isnan(r.ci_low) else f"[{_fmt(r.ci_low)}, {_fmt(r.ci_high)}]"
        rows.append(
            [
                r.name,
                r.measure,
                r.target.goal(),
                _fmt(r.target.tolerance, 2),
                _fmt(r.simulated),
                interval,
                verdict(r),
            ]
        )
    return rows


def summary_line(result: CheckResult) -> str:
    """How many measurable targets pass, which fail, how many were not measurable."""
    measurable = len(result.rows) - len(result.unmeasurable)
    line = f"{len(result.passed)} of {measurable} measurable targets pass"
    if result.failed:
        line += f"; {len(result.failed)} fail ({', '.join(r.name for r in result.failed)})"
    if result.unmeasurable:
        line += f"; {len(result.unmeasurable)} not measurable in this scenario (not failures)"
    return line


def format_check(result: CheckResult) -> str:
    """The whole text: a header, the table, the tally and the rule."""
    sc = result.scenario
    head = (
        f"{sc.name}: {sc.buyers.count:,} buyers, {len(sc.vendors)} vendors, {sc.weeks} weeks, "
        f"{result.reps} replications (seeds from {sc.seed}); targets: {result.targets.source}"
        f"  ({result.elapsed_s:.1f} s)"
    )
    headers = ["target", "measure", "goal", "tolerance", "simulated", "95% interval", "verdict"]
    table = format_table(headers, table_rows(result), right={3, 4, 5})
    table = "\n".join(line.rstrip() for line in table.splitlines())
    return "\n".join(
        [
            head,
            "",
            "means over the replications, 95% t-interval; nothing was fitted:",
            "",
            table,
            "",
            summary_line(result) + ".",
            RULE[0].upper() + RULE[1:] + ".",
        ]
    )


def json_text(result: CheckResult) -> str:
    """The JSON list of `run.py check --json` (strict JSON: no NaN, missing is null)."""
    return json.dumps(result.to_json(), indent=2, allow_nan=False)
