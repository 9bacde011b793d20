"""Value types shared by event payloads."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import PlainSerializer

# Money travels as a string ("123.45") so no consumer ever sees a float (R-D8).
Money = Annotated[Decimal, PlainSerializer(lambda v: format(v, "f"), return_type=str, when_used="json")]
