"""The 三包 remedy's status machine (R-W4, R-W5; issue 15) and what it does to the unit. Pure.

    move       from    to         event
    carry_out  (none)  completed  ticketing.unit.remedy_completed

A remedy is carried out in the request that asks for it (``remedies/service.py``): the rights are checked on that
day, under the unit's row lock, and the remedy row, the unit changes and the event are one unit of work.

What each kind does to the unit (the unit's own statuses: ``active`` → ``retired``, never back):

    kind                   rule   old unit                   new unit
    return                 R-W4   retired, reason returned   -
    exchange               R-W4   retired, reason exchanged  new serial, warranty inherited or fresh (setting)
    unit_replacement       R-W5   retired, reason replaced   new serial, warranty inherited or fresh (setting)
    component_replacement  R-W5   stays active               -   (the component's repair count starts again)
"""

from __future__ import annotations

from typing import Literal, get_args

from .ticket_lifecycle import Move

RemedyKind = Literal["return", "exchange", "unit_replacement", "component_replacement"]
KINDS: tuple[str, ...] = get_args(RemedyKind)
REMEDY_STATUSES = ("completed",)
UNIT_STATUSES = ("active", "retired")
REMEDY_COMPLETED = "ticketing.unit.remedy_completed"

MOVES: dict[str, Move] = {
    "carry_out": Move((), "completed", (REMEDY_COMPLETED,)),
}

RULE: dict[str, Literal["R-W4", "R-W5"]] = {
    "return": "R-W4", "exchange": "R-W4", "unit_replacement": "R-W5", "component_replacement": "R-W5"}
"""The rule that grants each kind."""

RETIRES_UNIT: dict[str, str | None] = {
    "return": "returned", "exchange": "exchanged", "unit_replacement": "replaced", "component_replacement": None}
"""The old unit's retirement reason per kind (None: the unit stays in service)."""

SHIPS_NEW_UNIT = frozenset({"exchange", "unit_replacement"})
"""The kinds that ship a new unit in the old one's place (a new serial is given, parts ships it under R-P1)."""

assert set(RULE) == set(RETIRES_UNIT) == set(KINDS)
