"""The customer service contract's status machine (issue 16): its statuses and every allowed move, as a table.

Pure data and lookups (no I/O). ``contracts/registry.py`` applies a move from an update's ``status``. A contract
that is not ``active`` (or is outside its valid from/to dates) still names its jobs: work is never dropped, and
its jobs are dispatched on its terms all the same; the status is what the service manager negotiates.
"""

from __future__ import annotations

from typing import Final

ACTIVE: Final = "active"
SUSPENDED: Final = "suspended"
ENDED: Final = "ended"
STATUSES = (ACTIVE, SUSPENDED, ENDED)

MOVES: dict[tuple[str, str], str] = {
    (ACTIVE, SUSPENDED): "suspend",
    (SUSPENDED, ACTIVE): "resume",
    (ACTIVE, ENDED): "end",
    (SUSPENDED, ENDED): "end",
}
"""(from, to) → the move's name; ``ended`` is final."""


def allowed(frm: str, to: str) -> bool:
    return frm == to or (frm, to) in MOVES
