"""Readers for the public VRPTW benchmarks (Solomon text format, VRPLIB) and their best-known solutions.

Our own small reader, so the planner's adaptor is fed from the files without going through PyVRP's reader (the
raw-PyVRP baseline in bench_planner uses PyVRP's reader). Coordinates stay floats; rounding is the travel
model's job (DIMACS: distances and times x10, truncated).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Instance:
    name: str
    vehicles: int
    capacity: int
    coords: list[tuple[float, float]]  # index 0 = depot
    demand: list[int]
    ready: list[float]
    due: list[float]
    service: list[float]

    @property
    def num_customers(self) -> int:
        return len(self.coords) - 1


def read_solomon(path: str | Path) -> Instance:
    """Solomon text format: a VEHICLE block (NUMBER CAPACITY) and one line per customer, customer 0 the depot."""
    lines = Path(path).read_text().splitlines()
    name = lines[0].strip()
    vehicles = capacity = 0
    rows: list[list[float]] = []
    for i, line in enumerate(lines):
        if line.strip().upper().startswith("NUMBER"):
            vehicles, capacity = (int(x) for x in lines[i + 1].split()[:2])
        parts = line.split()
        if len(parts) == 7 and all(re.fullmatch(r"-?\d+(\.\d+)?", p) for p in parts):
            rows.append([float(p) for p in parts])
    rows.sort(key=lambda r: r[0])
    return Instance(name=name, vehicles=vehicles, capacity=capacity, coords=[(r[1], r[2]) for r in rows],
                    demand=[int(r[3]) for r in rows], ready=[r[4] for r in rows], due=[r[5] for r in rows],
                    service=[r[6] for r in rows])


def read_vrplib(path: str | Path) -> Instance:
    """VRPLIB (VRPTW flavour): header KEY : VALUE, NODE_COORD / DEMAND / TIME_WINDOW / SERVICE_TIME sections."""
    header: dict[str, str] = {}
    sections: dict[str, list[list[float]]] = {}
    current = None
    for raw in Path(path).read_text().splitlines():
        line = raw.strip()
        if not line or line == "EOF":
            continue
        if ":" in line and not line[0].isdigit():
            k, v = line.split(":", 1)
            header[k.strip().upper()] = v.strip()
            current = None
            continue
        if line.endswith("_SECTION"):
            current = line
            sections[current] = []
            continue
        if current is not None:
            sections[current].append([float(x) for x in line.split()])
    n = int(header["DIMENSION"])
    depot = int(sections.get("DEPOT_SECTION", [[1]])[0][0])
    if depot != 1:
        raise ValueError("only depot 1 (the first node) is supported")

    def column(section: str, default: float, width: int = 1) -> list[list[float]]:
        rows = {int(r[0]): r[1:1 + width] for r in sections.get(section, [])}
        return [rows.get(i + 1, [default] * width) for i in range(n)]

    coords = [(c[0], c[1]) for c in column("NODE_COORD_SECTION", 0.0, 2)]
    demand = [int(d[0]) for d in column("DEMAND_SECTION", 0)]
    tw = column("TIME_WINDOW_SECTION", 0.0, 2)
    default_service = float(header.get("SERVICE_TIME", 0))
    service = [s[0] for s in column("SERVICE_TIME_SECTION", default_service)]
    service[0] = 0.0
    return Instance(name=header.get("NAME", Path(path).stem), vehicles=int(header.get("VEHICLES", n)),
                    capacity=int(header["CAPACITY"]), coords=coords, demand=demand, ready=[t[0] for t in tw],
                    due=[t[1] for t in tw], service=service)


def read_instance(path: str | Path) -> Instance:
    return read_vrplib(path) if str(path).endswith(".vrp") else read_solomon(path)


def read_bks_solomon(path: str | Path) -> dict[str, float]:
    """``NAME = cost`` lines of the BKS_solomon-*.sol files (the minDistance file is distance-only)."""
    out: dict[str, float] = {}
    for line in Path(path).read_text().splitlines():
        m = re.fullmatch(r"\s*([A-Z]+\d+)\s*=\s*([\d.]+)\s*", line)
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


def read_bks_vrplib(path: str | Path) -> float:
    """The ``Cost`` line of a VRPLIB .sol file."""
    m = re.search(r"^Cost\s+([\d.]+)", Path(path).read_text(), re.MULTILINE)
    if not m:
        raise ValueError(f"no Cost line in {path}")
    return float(m.group(1))


def read_bks_json(path: str | Path, key: str) -> float:
    return float(json.loads(Path(path).read_text())[key])
