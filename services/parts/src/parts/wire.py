"""What the parts API puts on the wire: JSON-ready data and the Idempotency-Key fingerprint of a body."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

from fastapi.encoders import jsonable_encoder


def out(value: Any) -> Any:
    """JSON-ready data with money as exact strings ("33.50"), never floats (R-D8)."""
    return jsonable_encoder(value, custom_encoder={Decimal: lambda d: format(d, "f")})


def body_hash(body: Any) -> str:
    """The fingerprint stored with an Idempotency-Key: the same body (key order aside) gives the same digest."""
    return hashlib.sha256(json.dumps(out(body), sort_keys=True).encode()).hexdigest()
