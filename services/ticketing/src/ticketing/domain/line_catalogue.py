"""Issue 15 item 1: the parts catalogue is the source of truth of part numbers, and a product line's component
list the source of truth of component names (pure rules; the service reads the catalogue's read model)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    field: str
    reason: str
    code: str


def parts_outside_catalogue(components: Sequence[tuple[str, Sequence[str]]], known: set[str]) -> list[Problem]:
    """Every part number of a component list that the catalogue has not announced as active, named
    ``components[i].part_nos[j]``."""
    return [Problem(f"components[{i}].part_nos[{j}]",
                    f"part {p} is not in the parts catalogue (unknown or withdrawn)", "part_not_in_catalog")
            for i, (_, part_nos) in enumerate(components) for j, p in enumerate(part_nos) if p not in known]


def names_outside_line(component_months: Mapping[str, int], uncovered: Iterable[str],
                       line_components: Iterable[str]) -> list[Problem]:
    """R-W1 per-component terms name components of the product line's list (compared ignoring case, like the
    list's own names); the whole unit's term is ``months``. An empty list checks nothing (docs/ticketing.md)."""
    names = {c.casefold() for c in line_components}
    if not names:
        return []
    allowed = ", ".join(sorted(line_components))
    return [Problem(field, f"{name!r} is not a component of the product line (its components: {allowed})",
                    "component_not_in_line")
            for field, name in [*((f"component_months.{k}", k) for k in component_months),
                                *((f"uncovered[{i}]", n) for i, n in enumerate(uncovered))]
            if name.casefold() not in names]
