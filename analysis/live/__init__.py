"""The live view: watch buyers move through their journeys, change a strategy while it runs.

Built on Mesa's SolaraViz. Serve it with `python run.py viz [SCENARIO]` (or
`solara run analysis/live/app.py`); the scenario comes from the BJS_SCENARIO environment
variable, default scenarios/baseline.toml, and BJS_BUYERS optionally overrides its buyer
count. The scenario may also be a DATA-loop study file (scenarios/data_loop.toml): the
view runs its base scenario with the focal vendor on one of its policy variants.

What is on the page:
- the sidebar: SolaraViz's play / step / reset and speed (play interval) controls; the run
  set-up (scenario file, number of buyers, graph type, seed), applied on Reset; each
  vendor's weekly budget and channel mix, applied at once to the running model through
  the vendor's own agent (`Vendor.set_plan`: the core books the spend week by week);
  with a study file or a data-loop vendor, the policy variant (on Reset) and the truth file;
- the main area: the referral graph (buyers coloured by stage, purchases marked by
  vendor; with accounts, "Colour by" also shows each buyer's group stage, its furthest
  colleague's, or its account's size class, and the layout keeps an account's members
  together, their links drawn darker); next to it the journey card of the buyer clicked
  on the graph (or typed in as "Buyer #"): seniority, stage, research done, vendors
  considered with preferences, whose customer, the last touches; under it the account
  card: size class, group size, the group's stage, each member's stage and research,
  and how the group's last journey ended, with the reason and the votes when it ended
  in no decision (a scenario without accounts says "one-person buying group"); the
  stage funnel over weeks, conversions and win share per vendor over weeks, the buying
  groups chart (no decisions by reason over weeks, purchase rate by group size), this
  week's source use by stage next to the IDC ranking, the vendor table, and the DATA-loop
  panel of a data-loop vendor (its mix over the weeks, its believed vs true returns).

The modules, from the page down:
    app.py          the file `solara run` serves (Page)
    page.py         Page: one model per session, SolaraViz, the set-up controls
    panels.py       the Solara components of the main area and the sidebar
    widgets.py      the clickable graph image, PNG image elements
    cards.py        the Markdown cards (IDC ranking, vendors, journey, account, loop)
    images.py       chart PNGs by name, one chart per model
    charts.py       Chart (built once, blitted per frame) and the charts
    graph_chart.py  the referral graph chart
    state.py        VizModel, the vendors' live strategies
    groups.py       buying groups: group stage, the vote recorder, decision read-outs
    loop.py         the DATA loop: study files, loop set-up and read-outs, truth files
    layout.py       the graph layout, its session cache, the buyer under a click
    inputs.py       the launcher's environment, study-file test, seed control (light)
    style.py        colours, image sizes, short names

Votes: the core's Decision hands on its members' picks (`Week.ballots`); a
`VoteRecorder` keeps each account's last vote shares in `GroupVotes` (one row per account).

Speed: the graph layout is computed once per graph (a small numpy force layout) and kept
in the session's `LayoutCache`, found by the graph's content, so a Reset with the same
set-up reuses it; its edges are drawn once into a background image, so a frame only
draws the buyers' dots. Every chart is a PNG rendered with the Agg backend and cached by
(model, week), so a redraw costs only what changed. Nothing here writes files; the files
read are the scenario or study file and the truth file the user names.
"""
