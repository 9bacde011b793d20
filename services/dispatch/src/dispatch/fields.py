"""Dispatch's input types, built on the shared boundary types (``aftersales_shared.schemas``), one per kind of
value a client sends: ids, names, reasons, serials, coordinates. Every request schema and every path/query
parameter uses these, so a NUL byte, an over-long text or an impossible coordinate is a 422 naming the field and
never reaches the database (nor the SLA scanner that reads it later)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from aftersales_shared.schemas import Text

Id = Annotated[Text, Field(max_length=40)]
"""A job, engineer, dealer, centre, calendar, contract or reservation id (VARCHAR(40))."""
RegionCode = Annotated[str, Field(pattern=r"^\d{6}$", examples=["310101"])]
"""An administrative region code: six digits (the first two are the province)."""
Name = Annotated[Text, Field(max_length=100)]
"""A person's or a place's name (VARCHAR(100))."""
Reason = Annotated[Text, Field(max_length=300)]
"""A free-text reason or reference (VARCHAR(300))."""
Serial = Annotated[Text, Field(max_length=64)]
"""A serial or part number (VARCHAR(64))."""
Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
