"""The week as an ordered pipeline of processes, one module per rule of the model.

    installed_base  InstalledBase   (set-up) week-0 customers of each vendor's installed base
    rest            EndOfRest       after the rest that follows a decision, a buyer is idle
    memory_decay    MemoryDecay     preference fades between weeks (adstock)
    needs           NeedArrival     a need arrives and starts a journey (early stage)
    memory_recall   MemoryRecall    a new journey starts with the buyer's brand memory
    in_market       InMarket        who researches this week
    research        Research        consultations, paid exposures, progress, sales contact
    organic         OrganicDiscovery  vendors found without paid media (when the scenario says)
    memory_channels MemoryChannels  exposures of channels with their own half-life, pooled
    referrals       Referrals       contacts recommend or warn (referral sources)
    reviews         Reviews         spectators read critics' reviews (topic communities)
    social_selling  SocialSelling   vendors' salespeople reach joiners through contacts
    sales           SalesPipeline   ready buyers get quotes from the vendors they consider
    stages          StageProgress   enough research moves a buyer to the next stage
    decision        Decision        finishers choose a vendor or the status quo
    word_of_mouth   WordOfMouth     customers' satisfaction and what they tell contacts
    memory_brand    BrandBuilding   buyers not in market take in paid presence (brand memory)
    tracking        Tracking        data-loop vendors observe the week by their tracking method

Market v3 (each off unless the scenario switches it on; docs/model.md §12a, §16a):

    deal_scope      DealScope       (after memory_recall) a new journey's deal scope and research
    day_one_list    DayOneList      (after memory_recall) the group's day-one list
    shortlist       Shortlist       (before sales) a group ready for sales shortlists

The tracking process (docs/model.md §5a) does nothing, and spawns no stream, unless a
vendor's policy is data_loop.

The memory processes (docs/model.md §11a) do nothing unless the scenario's [memory] is on.

Each process reads and writes the state (sim/state.py) and hands what later rules need
on in the `Week`; it declares the random streams it draws from. Adding a rule is adding
a process (a new module) to the list: `BuyerJourneyModel(scenario, processes=[...])` or
`model.add_process(MyRule(), after="needs")`; no other process changes.

Read the PAIRED-DRAW RULE in sim/processes/base.py before writing one: the shape of a
process's draws must never depend on a vendor's strategy.
"""

from __future__ import annotations

from collections.abc import Mapping

from sim.processes.base import Process, Week
from sim.processes.deals import DealScope
from sim.processes.decision import Decision
from sim.processes.installed_base import InstalledBase
from sim.processes.memory import memory_processes
from sim.processes.needs import NeedArrival
from sim.processes.organic import OrganicDiscovery
from sim.processes.referrals import Referrals, Reviews
from sim.processes.research import Research
from sim.processes.rest import EndOfRest, InMarket
from sim.processes.sales import SalesPipeline
from sim.processes.shortlist import DayOneList, Shortlist
from sim.processes.social_selling import SocialSelling
from sim.processes.stages import StageProgress
from sim.processes.tracking import Tracking
from sim.processes.word_of_mouth import WordOfMouth

#: The random streams of the default week, in the order the run's Generator spawns them.
CORE_STREAMS = ("population", "need", "source", "exposure", "social_selling", "decision")


def default_processes(memory_half_lives: Mapping[str, float | None] | None = None) -> list[Process]:
    """A fresh list of the default week's processes, in order.

    `memory_half_lives` (channel name -> weeks) gives channels their own memory
    half-life; the others use the scenario's memory.half_life_weeks (§11a)."""
    recall, decay, channels, brand = memory_processes(memory_half_lives)
    return [
        InstalledBase(),
        EndOfRest(),
        decay,
        NeedArrival(),
        recall,
        DealScope(),
        DayOneList(),
        InMarket(),
        Research(),
        OrganicDiscovery(),
        channels,
        Referrals(),
        Reviews(),
        SocialSelling(),
        Shortlist(),
        SalesPipeline(),
        StageProgress(),
        Decision(),
        WordOfMouth(),
        brand,  # its "memory" stream (when on) is spawned after every core stream
        Tracking(),  # last: its "tracking" stream (when on) is spawned after every other
    ]


__all__ = ["CORE_STREAMS", "Process", "Week", "default_processes"]
