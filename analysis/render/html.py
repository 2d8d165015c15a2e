"""HTML pieces of the self-contained pages (batch report, attribution lab).

A page opens offline: figures are PNGs embedded as data: URIs (`fig_to_img`), the style
sheet is inline (`html_page`), tables are escaped HTML (`html_table`, `cell`). Nothing
heavy is imported at module level; matplotlib is loaded only when a figure is built.
"""

from __future__ import annotations

import base64
import html
import io
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:2em auto;
max-width:1200px;padding:0 1em;color:#222;line-height:1.4}
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ccc;padding-bottom:.2em}
table{border-collapse:collapse;margin:.5em 0 1em;font-size:.85em}
th,td{border:1px solid #ddd;padding:.25em .5em;text-align:right;vertical-align:top}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
td.l{text-align:left}.note{color:#555;font-size:.9em}.row{display:flex;gap:2em;
flex-wrap:wrap;align-items:flex-start}img{max-width:100%}
.clear{color:#060;font-weight:600}.unclear{color:#a60}.small{font-size:.8em;color:#666}
"""


def fig_to_img(fig, alt: str) -> str:
    """A matplotlib figure as an <img> with an embedded PNG (data: URI); closes it."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=fig.dpi)
    plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def cell(x: Any, percent: bool = False) -> str:
    """One value as table text: '-' for missing, yes/no, thousands separators, 3
    significant digits for small floats, or a percentage."""
    import numpy as np
    import pandas as pd

    if x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA:
        return "-"
    if isinstance(x, bool | np.bool_):
        return "yes" if x else "no"
    if isinstance(x, int | np.integer):
        return f"{x:,}"
    if isinstance(x, float | np.floating):
        if percent:
            return f"{100 * x:.1f}%"
        return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:,.3g}"
    return str(x)


def html_table(
    df: pd.DataFrame, percent: list[str] | tuple[str, ...] = (), raw: set[str] = frozenset()
) -> str:
    """A DataFrame as an HTML table (values escaped; `raw` columns hold trusted HTML)."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = []
    for row in df.itertuples(index=False):
        cells = []
        for c, v in zip(df.columns, row, strict=True):
            text = str(v) if c in raw else html.escape(cell(v, c in percent))
            cls = ' class="l"' if isinstance(v, str) else ""
            cells.append(f"<td{cls}>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def html_page(title: str, body: str) -> str:
    """A complete, self-contained HTML page."""
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head>"
        f"<body>{body}</body></html>\n"
    )


def pyplot():
    """matplotlib.pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
