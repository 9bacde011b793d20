"""Ticketing's input types, built from the shared boundary types (``aftersales_shared.schemas``), once.

Every text is NUL-free, trimmed and bounded; the bounds are those of every consumer of ticketing's events
(dispatch keeps a dealer id, a contract code, a product line and a skill in 40 characters, a customer name in
100, an address in 300), so a unit or ticket ticketing accepts is one dispatch, parts and settlement can always
book. Dates are ``BusinessDate`` (2000-01-01 … 2199-12-31), used directly by the schemas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import Field

from aftersales_shared.schemas import text

SERIAL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{3,63}$"
Serial = Annotated[str, Field(pattern=SERIAL_PATTERN)]
RegionCode = Annotated[str, Field(pattern=r"^\d{6}$", description="GB/T 2260 administrative code")]
LINE_CODE_PATTERN = r"^[A-Za-z0-9_.-]{1,40}$"
LineCode = Annotated[str, Field(pattern=LINE_CODE_PATTERN)]

if TYPE_CHECKING:  # ``text()`` builds an Annotated[str, ...] at run time; to a type checker each is a str
    DealerId = str
    ContractCode = str
    ProductLine = str
    Skill = str
    Name = str
    CustomerName = str
    Address = str
    Phone = str
    Component = str
    Exclusion = str
    Note = str
    Reason = str
    Description = str
    Comment = str
    Photo = str
    Proof = str
    TicketRef = str
    SearchText = str
else:
    DealerId = text(40)
    ContractCode = text(40)
    ProductLine = text(40)
    Skill = text(40)
    Name = text(80)
    CustomerName = text(100)
    Address = text(300)
    Phone = text(40, min_length=3)
    Component = text(80)
    Exclusion = text(40)
    Note = text(400)
    Reason = text(400, min_length=3)
    Description = text(4000, min_length=3)
    Comment = text(2000)
    Photo = text(500)
    Proof = text(200)
    TicketRef = text(64)
    SearchText = text(200)
