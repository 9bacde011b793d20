"""Assemble docs/benchmarks.md from the sections each `make bench-*` writes under docs/bench/."""

from __future__ import annotations

import os
import platform
import re
import subprocess
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"
ORDER = ["bus", "ticketing", "dispatch", "sla", "parts", "settlement", "notify"]


def machine() -> str:
    mem = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30)
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor() or "unknown CPU"
    try:
        distro = subprocess.run(["lsb_release", "-ds"], capture_output=True, text=True).stdout.strip()
    except OSError:
        distro = ""
    return f"{os.cpu_count()} cores ({cpu}), {mem} GiB RAM, {distro or platform.platform()}, Python {platform.python_version()}"


def kept_blocks(page: str) -> list[str]:
    """Sections a benchmark spliced into the page itself between ``<!-- name:start -->`` / ``<!-- name:end -->``
    (``bench_planner``), kept as they are when the page is re-assembled."""
    return [m.group(0) for m in re.finditer(r"<!-- ([\w-]+):start -->.*?<!-- \1:end -->", page, re.S)
            if m.group(1) not in ORDER]


def assemble() -> Path:
    sections = [DOCS / "bench" / f"{name}.md" for name in ORDER]
    out = DOCS / "benchmarks.md"
    written = [p.read_text().strip() for p in sections if p.exists()]
    # a block a section file itself carries (the SLA watcher's, in dispatch.md) is not kept a second time
    kept = [b for b in (kept_blocks(out.read_text()) if out.exists() else []) if not any(b in w for w in written)]
    body = "\n\n".join(written + kept)
    out.write_text(
        "# Benchmarks\n\n"
        f"Machine of the latest assembly: {machine()}; PostgreSQL 15 and Kafka 4.2.0 run natively on loopback "
        "(`make stack-up`). Each section below is written by its `make bench-…` target, which also re-assembles this "
        "page; each section names its own run date, sizes and the baseline measured in the same run. No timing "
        "assertions live in the tests.\n\n" + body + "\n"
    )
    return out


if __name__ == "__main__":
    print(f"wrote {assemble()}")
