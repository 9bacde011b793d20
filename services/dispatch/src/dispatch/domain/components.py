"""The engineer's diagnosed components checked against the product line's component list (issue 15 item 1).

The list is ticketing's catalogue (each component with the catalogue part numbers linked to it), kept in dispatch
as a read model from ``ticketing.product_line.components_changed``. Pure: no I/O, no clock.

- a component the list does not name is refused (``components[i].component``), the answer lists what is allowed;
- a part number not linked to its component is refused (``components[i].part_no``), the answer lists the
  component's part numbers;
- names match ignoring case and surrounding space; the diagnosis keeps the list's spelling;
- a newer list replaces an older one; an older or equal version changes nothing (``newer``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Named:
    """A failed component as the engineer names it."""

    component: str
    part_no: str | None = None


@dataclass(frozen=True)
class Problem:
    field: str
    code: str
    reason: str


@dataclass(frozen=True)
class Checked:
    """The components in the list's spelling, and what is wrong with them (empty: all known and linked)."""

    components: tuple[Named, ...]
    problems: tuple[Problem, ...]


def check(named: Sequence[Named], line: Mapping[str, Sequence[str]]) -> Checked:
    """Check each named component (and its part number) against ``line`` (component -> linked part numbers)."""
    by_key = {c.strip().casefold(): c for c in line}
    out: list[Named] = []
    problems: list[Problem] = []
    for i, n in enumerate(named):
        known = by_key.get(n.component.strip().casefold())
        if known is None:
            problems.append(Problem(f"components[{i}].component", "unknown_component",
                                    f"{n.component!r} is not a component of this product line; allowed: "
                                    f"{', '.join(sorted(line)) or '(none)'}"))
            out.append(n)
            continue
        if n.part_no is not None and n.part_no not in line[known]:
            linked = ", ".join(line[known]) or "(none)"
            problems.append(Problem(f"components[{i}].part_no", "part_not_of_component",
                                    f"part {n.part_no!r} is not linked to component {known!r}; linked: {linked}"))
        out.append(Named(known, n.part_no))
    return Checked(tuple(out), tuple(problems))


def newer(incoming_version: int, held_version: int | None) -> bool:
    """Whether an announced list replaces the one held (a redelivered or late, older list never does)."""
    return held_version is None or incoming_version > held_version
