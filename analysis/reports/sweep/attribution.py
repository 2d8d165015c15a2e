"""Attribution labs saved into a sweep folder (`run.py attribution ... --save DIR`) as a
section of the batch report: each lab's table and figure (analysis.studies.lab.render),
and all labs' rows as the report's `attribution` table."""

from __future__ import annotations

import pandas as pd

from analysis.studies.lab.render import lab_html_section

#: the columns `save_lab` adds to a lab's table: its set-up, one value per lab
META = ("vendor", "scenario", "reps", "mean_conversions")


def attribution_section(labs: list[pd.DataFrame]) -> tuple[list[str], pd.DataFrame]:
    """The section's HTML pieces (a heading, then one piece per lab) and the labs' rows
    in one table."""
    parts = ["<h2>Attribution lab</h2>"]
    frames = []
    for t in labs:
        t = t.copy()
        meta = {k: t[k].iloc[0] for k in META if k in t}
        body = t.drop(columns=[k for k in meta if k in t])
        body.attrs.update(meta)
        parts.append(lab_html_section(body))
        frames.append(t)
    return parts, pd.concat(frames, ignore_index=True)
