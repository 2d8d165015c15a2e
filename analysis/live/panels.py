"""The live view's panels, as Solara components: the chart images, the referral graph
with its click, the buyer's journey and account cards, the source use with IDC's
ranking, the vendor table, the DATA-loop panel, and the sidebar's strategy and DATA-loop
controls.

Each panel reads the model and redraws after each step (SolaraViz's update counter);
what a session keeps (picked buyer, colouring, adaptive vendor, truth file) comes in as
reactive values from the page (page.py).
"""

from __future__ import annotations

import solara
from mesa.visualization.utils import update_counter

from analysis.live.cards import (
    account_markdown,
    idc_ranking_markdown,
    journey_markdown,
    loop_markdown,
    vendor_table_markdown,
)
from analysis.live.groups import last_decision
from analysis.live.images import chart_png, loop_png
from analysis.live.layout import buyer_at
from analysis.live.loop import LoopSetup, loop_beliefs, model_truth, returns_table
from analysis.live.state import Strategies, Strategy, VizModel
from analysis.live.style import COLOUR_BY, short_label
from analysis.live.widgets import ClickableImage, png_widget
from analysis.studies.dataloop.truth import TRUTH_FILE
from sim.channels import CHANNEL_NAMES, CHANNELS

#: The channels a vendor's mix can spend on (one slider each).
PAID_CHANNELS = tuple(i for i, c in enumerate(CHANNELS) if c.paid)


@solara.component
def PngImage(model: VizModel, name: str):
    """A chart image, re-rendered only when the model or its week changed."""
    update_counter.get()  # SolaraViz bumps it after each step: redraw then
    png = solara.use_memo(lambda: chart_png(model, name), dependencies=[model, model.week])
    return png_widget(png)


@solara.component
def GraphView(
    model: VizModel, picked: solara.Reactive[int | None], colour_by: solara.Reactive[str]
):
    """The referral graph; a click on a buyer opens its journey card (`BuyerView`). With
    accounts, the dots can show the buyer's stage, its group's or its account's size."""
    update_counter.get()
    row = picked.value if picked.value is not None and picked.value < model.n_buyers else None
    groups = not model.accounts.singletons
    mode = colour_by.value if groups and colour_by.value in COLOUR_BY else COLOUR_BY[0]
    png = solara.use_memo(
        lambda: chart_png(model, "graph", row, mode),
        dependencies=[model, model.week, row, mode],
    )

    def on_click(fx: float, fy: float) -> None:
        hit = buyer_at(model.layout, fx, fy)
        if hit is not None:
            picked.set(hit)

    who = (
        f"{model.n_buyers:,} buyers in {model.accounts.n:,} accounts"
        if groups
        else f"{model.n_buyers:,} buyers, one-person buying groups"
    )
    with solara.Column(gap="0px") as main:
        solara.Markdown(
            f"**Referral graph** – week {model.week}, {who} "
            "(click a buyer to follow its journey and its group)"
        )
        if groups:  # account-only control
            with solara.Row(gap="8px", style={"align-items": "center", "font-size": "12px"}):
                solara.Text("Colour by:")
                solara.ToggleButtonsSingle(
                    value=mode, values=list(COLOUR_BY), on_value=colour_by.set, dense=True
                )
        ClickableImage.element(image=png_widget(png), callback=on_click)
    return main


@solara.component
def BuyerView(model: VizModel, picked: solara.Reactive[int | None]):
    """The journey card of the buyer clicked on the graph (or typed in: "Buyer #")."""
    update_counter.get()
    row = picked.value if picked.value is not None and picked.value < model.n_buyers else None

    def on_number(value: int | None) -> None:
        if value is None or 0 <= value < model.n_buyers:
            picked.set(value)

    # the grid cell has a fixed height: a long card scrolls inside it
    style = {"font-size": "12px", "height": "100%", "overflow-y": "auto"}
    with solara.Column(gap="4px", style=style) as main:
        solara.Markdown("**Buyer journey**")
        solara.InputInt(
            label=f"Buyer # (0-{model.n_buyers - 1}; or click the graph)",
            value=row,
            on_value=on_number,
            optional=True,
            clearable=True,
            dense=True,
        )
        if row is None:
            solara.Markdown("Click a buyer on the referral graph to see its journey here.")
        else:
            journey = model.buyer(row).journey()
            with solara.Card(margin=0, elevation=1, classes=["bjs-buyer-card", "pa-2"]):
                solara.Markdown(journey_markdown(journey))
            account = journey["account"]
            with solara.Card(margin=0, elevation=1, classes=["bjs-account-card", "pa-2"]):
                solara.Markdown(account_markdown(account, last_decision(model, account["account"])))
    return main


@solara.component
def FunnelView(model: VizModel):
    return PngImage(model, "funnel")


@solara.component
def VendorsView(model: VizModel):
    return PngImage(model, "vendors")


@solara.component
def GroupsView(model: VizModel):
    return PngImage(model, "groups")


@solara.component
def SourceUseView(model: VizModel):
    update_counter.get()
    with solara.Column(gap="0px", style={"font-size": "12px"}) as main:
        PngImage(model, "sources")
        solara.Markdown(
            "**IDC ranking** (Social Buying Study 2014) vs this week's top three\n\n"
            + idc_ranking_markdown(model)
        )
    return main


@solara.component
def VendorTableView(model: VizModel):
    update_counter.get()
    with solara.Column(gap="4px", style={"font-size": "12px"}) as main:
        solara.Markdown(f"**Vendors after week {model.week} of {model.horizon}**")
        solara.Markdown(vendor_table_markdown(model))
        if model.notice:
            solara.Warning(model.notice)
    return main


@solara.component
def LoopPanel(
    model: VizModel, vendor: solara.Reactive[str | None], truth_file: solara.Reactive[str]
):
    """The DATA-loop panel: a data-loop vendor (a select if several) with its mix over the
    weeks, its adjustments, and believed vs true returns (`LoopChart`, `loop_markdown`)."""
    update_counter.get()
    adaptive = list(model.loops)
    names = [model.vendor_names[i] for i in adaptive]
    name = vendor.value if vendor.value in names else names[0]
    index = adaptive[names.index(name)]
    truth = model_truth(model, truth_file.value)
    table = truth.table if truth is not None else None
    png = solara.use_memo(
        lambda: loop_png(model, index, table),
        dependencies=[model, model.week, index, id(table)],
    )
    returns = returns_table(loop_beliefs(model), name, table, model.loops[index].loop.cadence_weeks)
    style = {"font-size": "12px", "height": "100%", "overflow-y": "auto"}
    with solara.Column(gap="4px", style=style, classes=["bjs-loop-panel"]) as main:
        solara.Markdown(f"**DATA loop** – week {model.week}: the adaptive vendor's mix and beliefs")
        if len(names) > 1:
            solara.Select(
                label="Adaptive vendor", value=name, values=names, on_value=vendor.set, dense=True
            )
        png_widget(png)
        solara.Markdown(loop_markdown(model, index, returns, truth))
    return main


@solara.component
def LoopView(
    model: VizModel, vendor: solara.Reactive[str | None], truth_file: solara.Reactive[str]
):
    """The DATA-loop panel when the scenario has data-loop vendors; nothing otherwise
    (not redrawn after each step: only the panel follows SolaraViz's step counter)."""
    if model.loops:
        return LoopPanel(model, vendor, truth_file)
    return solara.Column(gap="0px")


@solara.component
def LoopControls(
    model: solara.Reactive[VizModel], setup: LoopSetup, truth_file: solara.Reactive[str]
):
    """The DATA-loop set-up: a study file's policy variant (on Reset) and the truth
    file (at once). Shown only for a study file or a scenario with data-loop vendors."""
    m = model.value
    variant, set_variant = solara.use_state(setup.variant)

    def choose(value: str) -> None:
        setup.variant = value
        set_variant(value)

    with solara.Column(gap="0px") as main:
        if m.study_variants or m.loops:
            with solara.Card("DATA loop"):
                if m.study_variants:
                    solara.Select(
                        label="Policy variant (on Reset)",
                        value=variant if variant in m.study_variants else m.study_variant,
                        values=list(m.study_variants),
                        on_value=choose,
                    )
                    solara.Text(f"running: {m.study_variant}", style={"font-size": "12px"})
                solara.InputText(
                    label="Truth file (run.py dataloop's dataloop_truth.csv)",
                    value=truth_file.value,
                    on_value=truth_file.set,
                )
                solara.Text(
                    f"empty: {TRUTH_FILE} next to the scenario file, if there is one",
                    style={"font-size": "12px"},
                )
    return main


def _budget_max(budget: float) -> float:
    return float(max(50_000.0, 2.0 * budget))


@solara.component
def StrategyControls(model: solara.Reactive[VizModel], strategies: Strategies):
    """Each vendor's weekly budget and channel mix; changes apply from the next week on."""
    m = model.value
    selected, set_selected = solara.use_state(m.vendor_names[0])
    if selected not in m.vendor_names:
        selected = m.vendor_names[0]
    index = m.vendor_names.index(selected)
    current = strategies.get(m, index)

    def set_budget(value: float) -> None:
        s = strategies.get(model.value, index)
        strategies.set(model.value, index, Strategy(float(value), dict(s.mix)))

    def setter(channel: str):
        def set_share(value: float) -> None:
            s = strategies.get(model.value, index)
            mix = dict(s.mix)
            mix[channel] = float(value)
            strategies.set(model.value, index, Strategy(s.weekly_budget, mix))

        return set_share

    with solara.Card("Vendor strategy (applies now)"):
        solara.Select(
            label="Vendor", value=selected, values=list(m.vendor_names), on_value=set_selected
        )
        if index in m.loops and m.vendors[index].policy is m.loops[index]:
            solara.Text(
                "Its DATA loop sets its mix; a change here replaces the loop with a fixed plan.",
                style={"font-size": "12px"},
            )
        # keyed by scenario and vendor so that switching vendor shows its own values
        tag = f"{m.scenario_file}:{selected}"
        solara.SliderFloat(
            label="Weekly budget",
            value=current.weekly_budget,
            on_value=set_budget,
            min=0.0,
            max=_budget_max(current.weekly_budget),
            step=500.0,
        ).key(f"budget:{tag}")
        total = sum(current.mix.values()) or 1.0
        for c in PAID_CHANNELS:
            name = CHANNEL_NAMES[c]
            solara.SliderFloat(
                label=f"Mix: {short_label(CHANNELS[c].label)}",
                value=round(current.mix.get(name, 0.0) / total, 2),
                on_value=setter(name),
                min=0.0,
                max=1.0,
                step=0.05,
            ).key(f"mix:{name}:{tag}")
