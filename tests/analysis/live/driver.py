"""Driving the live view headless (solara.render, no browser): render the page, press its
buttons, type into its fields, and read what it shows (images, cards, panels, texts).

The page keeps its model private: `MODELS` lists every model it built (filled by the
`track_models` fixture in conftest.py), `model_of(rc)` is the newest.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import ipyvuetify as v
import ipywidgets
import solara

from analysis.live.page import Page
from analysis.live.state import VizModel
from analysis.live.style import GRAPH_PX, LEGEND_PX

#: buyers in the tests' models (small: the tests are about the page, not the market)
BUYERS = 300
#: every model the page built, oldest first
MODELS: list[VizModel] = []


def render():
    """A fresh page (its own session) and its render context."""
    _, rc = solara.render(solara.AppLayout(children=[Page()]), handle_error=False)
    return rc


def model_of(rc) -> VizModel:
    """The model the page runs now (the newest it built)."""
    return MODELS[-1]


def click(rc, label: str) -> None:
    rc.find(v.Btn, children=[label]).widget.click()


def time_text(rc) -> str:
    """SolaraViz's step counter ("Time: 3.0")."""
    texts = [w.children[0] for w in rc.find(v.Html, tag="span").widgets if w.children]
    return next(t for t in texts if isinstance(t, str) and t.startswith("Time:"))


def images(rc) -> list[bytes]:
    return [w.value for w in rc.find(ipywidgets.Image).widgets]


def slider(rc, label: str):
    return rc.find(v.Slider, label=label).widget


def select(rc, label: str):
    return rc.find(v.Select, label=label).widget


def type_text(rc, label: str, text: str) -> None:
    """Type into an InputText and press Enter (it reports on Enter or focus-out)."""
    field = rc.find(v.TextField, label=label).widget
    field.v_model = text
    field.fire_event("keyup.enter", {})


def type_buyer(rc, number: int | str) -> None:
    """Type a buyer's number into the journey card's "Buyer #" field."""
    type_text(rc, f"Buyer # (0-{BUYERS - 1}; or click the graph)", str(number))


def buyer_pixel(m: VizModel, row: int) -> tuple[float, float]:
    """Where buyer `row` is on the graph image, as fractions of its width and height."""
    x, y = m.layout.pos[row]
    return x * GRAPH_PX / (GRAPH_PX + LEGEND_PX), 1.0 - y


# ------------------------------------------------------------------- reading the page
def all_widgets(rc) -> Iterator[ipywidgets.Widget]:
    """Every widget on the page, each once. The main area sits in SolaraViz's grid
    widget, so every widget-valued trait is walked, not only children."""
    seen: set[int] = set()
    todo: list = list(rc.find(ipywidgets.Widget).widgets)
    while todo:
        w = todo.pop(0)
        if isinstance(w, list | tuple):
            todo[:0] = list(w)
            continue
        if not isinstance(w, ipywidgets.Widget) or id(w) in seen:
            continue
        seen.add(id(w))
        yield w
        todo[:0] = [
            getattr(w, name, None) for name in w.keys if name not in ("template", "layout", "style")
        ]


def markdown_of(template: str, tag: str = "") -> str:
    """A solara.Markdown's text: its rendered HTML with the tags replaced by `tag`."""
    return html.unescape(re.sub(r"<[^>]+>", tag, template.split("<script")[0]))


def texts_under(w, tag: str = "") -> list[str]:
    """The texts of a widget and its children, in order: strings and Markdown."""
    if isinstance(w, str):
        return [w]
    out: list[str] = []
    template = getattr(w, "template", None)
    if isinstance(template, str):
        out.append(markdown_of(template, tag))
    for c in getattr(w, "children", None) or ():
        out += texts_under(c, tag)
    return out


def markdown_texts(rc) -> list[str]:
    """The plain text of every Markdown on the page."""
    templates = (getattr(w, "template", None) for w in all_widgets(rc))
    return [markdown_of(t) for t in templates if isinstance(t, str)]


def card_text(rc, css: str) -> str:
    """The plain text of the card with class `css` ("" if there is none)."""
    cards = [w for w in rc.find(v.Card).widgets if css in (w.class_ or "")]
    return "\n".join(texts_under(cards[0])) if cards else ""


def journey_card(rc) -> str:
    """The plain text of the open journey card ("" if no card is open)."""
    return card_text(rc, "bjs-buyer-card")


def account_card(rc) -> str:
    """The plain text of the open account card ("" if none)."""
    return card_text(rc, "bjs-account-card")


def find_panel(rc):
    """The DATA-loop panel's widget (None if there is none)."""
    css = "bjs-loop-panel"
    return next((w for w in all_widgets(rc) if css in (getattr(w, "class_", None) or "")), None)


def loop_panel(rc) -> str:
    """The plain text of the DATA-loop panel, spaces normalised ("" if there is none)."""
    panel = find_panel(rc)
    return "" if panel is None else " ".join(" ".join(texts_under(panel, " ")).split())


def loop_image(rc) -> bytes:
    """The DATA-loop chart's PNG (the panel's one image)."""

    def found(w) -> list[bytes]:
        own = [w.value] if isinstance(w, ipywidgets.Image) else []
        return own + [x for c in getattr(w, "children", None) or () for x in found(c)]

    pngs = found(find_panel(rc))
    assert len(pngs) == 1
    return bytes(pngs[0])
