"""How the live view looks: its colours, its image sizes, and the short names it shows.

One place for what the charts, the cards and the controls share, so a colour or a
label is the same wherever a stage, a vendor, a channel or an account size appears.
"""

from __future__ import annotations

from sim.channels import CHANNEL_NAMES, CHANNELS, Stage
from sim.processes.decision import NO_CONSENSUS, STATUS_QUO

#: Stage colours: greys and blues for the journey, dark grey for no decision.
STAGE_COLOURS = {
    Stage.IDLE: "#d9d9d9",
    Stage.EARLY: "#9ecae1",
    Stage.MIDDLE: "#4292c6",
    Stage.FINAL: "#08306b",
    Stage.BOUGHT: "#a6761d",  # used in the funnel; on the graph a purchase shows its vendor
    Stage.NO_DECISION: "#636363",
}
#: Vendor colours (purchases on the graph, vendor lines): warm, distinct from the stages.
VENDOR_COLOURS = (
    "#ff7f0e",
    "#2ca02c",
    "#9467bd",
    "#e7298a",
    "#bcbd22",
    "#8c564b",
    "#17becf",
    "#d62728",
)
GRAPH_PX = 480  # the referral graph's plot area is GRAPH_PX x GRAPH_PX pixels
LEGEND_PX = 152  # the graph image's legend, right of the plot area
DPI = 80
#: What the graph's dots are coloured by (the group options only with accounts).
COLOUR_BY = ("buyer stage", "group stage", "size class")
#: Account size classes on the graph ("size class" colouring); one-person accounts grey.
SIZE_COLOURS = {
    "small": "#c7e9c0",
    "mid_market": "#41ab5d",
    "enterprise": "#00441b",
}
SINGLE_COLOUR = "#bdbdbd"
#: No-decision reasons in the groups chart: REASONS code, label, colour.
REASON_LINES = (
    (STATUS_QUO, "status quo had most support", "#636363"),
    (NO_CONSENSUS, "no vendor had the consensus", "#d62728"),
)
#: Channel colours in the DATA-loop panel (by channel table order).
CHANNEL_COLOURS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#393b79",
    "#637939",
)
TRUE_COLOUR = "#404040"


def vendor_colour(i: int) -> str:
    """Vendor `i`'s colour (the palette repeats beyond eight vendors)."""
    return VENDOR_COLOURS[i % len(VENDOR_COLOURS)]


def channel_colour(c: int) -> str:
    """Channel `c`'s colour in the DATA-loop panel (by channel table order)."""
    return CHANNEL_COLOURS[c % len(CHANNEL_COLOURS)]


def words(name: str) -> str:
    """A snake_case name as words ("mid_market" -> "mid market")."""
    return name.replace("_", " ")


def stage_label(s: Stage) -> str:
    """A stage's label as the legends show it."""
    return words(s.label)


def short_label(label: str) -> str:
    """A channel label without its parenthesised detail."""
    return label.split(" (")[0]


def channel_label(channel: str) -> str:
    """The short label of the channel named `channel` ("search" -> "Internet search")."""
    return short_label(CHANNELS[CHANNEL_NAMES.index(channel)].label)
