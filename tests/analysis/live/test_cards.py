"""The live view's Markdown cards: a buyer's journey, its account and how its group's
last journey ended (and why, for a no decision)."""

from __future__ import annotations

import re

from analysis.live.cards import account_markdown, decision_text, journey_markdown
from analysis.live.groups import last_decision
from analysis.live.state import VizModel
from sim.scenario import SIZE_CLASSES

from .driver import BUYERS
from .scenarios import scenario_file


def test_journey_markdown_lists_the_last_touches():
    journey = {
        "buyer": 3,
        "seniority": "c_level",
        "stage": "no_decision",
        "journey_id": 7,
        "research_share": 0.5,
        "considered": ["A", "B"],
        "preference": {"A": 0.25},
        "customer_of": None,
        "touches": [(w, "search", "A" if w % 2 else "") for w in range(10)],
    }
    text = journey_markdown(journey, last=3)
    assert "**Buyer #3**: c level, stage **no decision**" in text
    assert "50% of its research done" in text
    assert "A (+0.25), B (+0.00)" in text
    assert "no vendor yet" in text
    assert "Last touches (3 of 10)" in text
    assert "  \nweek 10, Internet search: A" in text and "week 9, Internet search  \n" in text
    assert "week 7," not in text
    closed = dict(journey, journey_id=None, research_share=None, touches=None)
    assert "No open journey." in journey_markdown(closed)


def test_account_card_says_why_a_group_ended_without_a_consensus(tmp_path):
    m = VizModel(scenario_file(tmp_path, accounts=True), BUYERS)
    log = m.recorder("journeys")
    found = None
    while m.running and found is None:
        m.step()
        for c in log.closed[-1:]:
            for a in c.account_id[(c.reason == 2) & (c.group_size >= 2)].tolist():
                found = a
    assert found is not None, "no group ended without a consensus"
    a = found
    decision = last_decision(m, a)
    assert decision["reason"] == "no_consensus" and decision["vendor"] is None
    assert decision["week"] == m.week - 1
    row = int(m.accounts.start[a])
    account = m.buyer(row + 1).journey()["account"]
    text = account_markdown(account, decision)
    size = SIZE_CLASSES[int(m.accounts.size_class[a])].replace("_", " ")
    assert f"**Account #{a}**: {size}, buying group of {m.accounts.size[a]}" in text
    assert "group stage **no decision**" in text
    lead = m.buyer(row).seniority.replace("_", " ")
    assert f"buyer #{row} (lead), {lead}: no decision" in text
    assert f"buyer #{row + 1}, " in text
    assert f"Last decision (week {m.week}): **no decision**: " in text
    assert "no vendor had the backing of 67% of the group's weight: votes were " in text
    # the votes, largest first, name a vendor ahead and sum to the whole group
    votes = re.search(r"votes were (.*)\.$", text).group(1)
    parts = [p.rsplit(" ", 1) for p in votes.split(", ")]
    shares = [float(p[1].rstrip("%")) for p in parts]
    assert shares == sorted(shares, reverse=True) and 97 <= sum(shares) <= 103
    assert parts[0][0] in m.vendor_names and shares[0] < 67  # 66.7 shown as such


def test_decision_text_for_a_purchase_a_status_quo_and_none_yet():
    base = {"week": 4, "group_size": 3, "consensus": 0.5}
    bought = dict(base, vendor="A", reason="", votes={"A": 0.6, "status quo": 0.4})
    assert decision_text(bought) == (
        "Last decision (week 5): bought from **A** (votes were A 60%, status quo 40%)."
    )
    quo = dict(base, vendor=None, reason="status_quo", votes={"status quo": 0.7, "B": 0.3})
    assert decision_text(quo) == (
        "Last decision (week 5): **no decision**: the status quo had the most support "
        "(votes were status quo 70%, B 30%)."
    )
    assert "votes were not kept" in decision_text(dict(quo, votes=None))
    short = dict(base, vendor=None, reason="no_consensus", consensus=0.67)
    short["votes"] = {"A": 2 / 3, "status quo": 1 / 3}
    assert decision_text(short).endswith(
        "no vendor had the backing of 67% of the group's weight: "
        "votes were A 66.7%, status quo 33.3%."
    )
    assert decision_text(None) == "No group decision yet."
