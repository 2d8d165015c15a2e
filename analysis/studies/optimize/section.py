"""The optimisation as a section of a sweep's batch report (analysis.render.sections): the
answer an optimisation folder near the sweep holds (its optimize.json and optimize.csv),
for the report's vendor.

Light at import: the batch report imports every study's section module.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from analysis.render.html import html_table
from analysis.render.sections import Section

#: the answer in one file: set-up, recommended mix, headline, comparisons
SUMMARY_FILE = "optimize.json"
#: shares and weekly spend per channel: recommended, current, equal split
MIX_FILE = "optimize.csv"


def share_columns(columns: list[str]) -> list[str]:
    """The columns of a mix table shown as percentages."""
    return [c for c in columns if c.endswith("share")]


def html_section(folder: Path, vendor: str | None = None, heading: str = "h2") -> str | None:
    """The optimisation stored in `folder` (its optimize.json and CSVs) as an HTML
    section for the sweep report; None if there is none (or it is another vendor's)."""
    import pandas as pd  # here: the report imports every section module, most unused

    f = Path(folder) / SUMMARY_FILE
    if not f.is_file():
        return None
    try:
        s = json.loads(f.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if vendor is not None and s.get("vendor") != vendor:
        return None
    parts = [f"<{heading}>Mix optimisation: {html.escape(str(s.get('vendor')))}</{heading}>"]
    parts.append("<p><b>" + html.escape(s.get("headline", "")) + "</b></p>")
    parts.append(
        "<ul>" + "".join(f"<li>{html.escape(x)}</li>" for x in s.get("comparisons", [])) + "</ul>"
    )
    mix = Path(folder) / MIX_FILE
    if mix.is_file():
        table = pd.read_csv(mix)
        parts.append(html_table(table, percent=share_columns(list(table.columns))))
    parts.append(
        f'<p class="note">From {html.escape(str(folder))}/optimize.html '
        f"({html.escape(s.get('setup', ''))}).</p>"
    )
    return "\n".join(parts)


SECTION = Section(
    kind="optimisation", marker=SUMMARY_FILE, render=html_section, by_vendor=True, order=2
)
