"""Sub-blocks of a section of docs/benchmarks.md that more than one benchmark writes (the planner section carries
``bench_planner``'s own text plus ``<!-- planner-day:... -->`` from ``bench_dispatch`` and ``<!-- planner-scale:... -->``
from ``bench_planner_scale``); each writer replaces only its own block, and ``bench_planner`` keeps the others."""

from __future__ import annotations

import re
from pathlib import Path

PAGE = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
SUBS = ("planner-day", "planner-scale")


def sub_blocks(text: str) -> list[str]:
    return [m.group(0) for m in re.finditer(r"<!-- (planner-[\w-]+):start -->.*?<!-- \1:end -->", text, re.S)
            if m.group(1) in SUBS]


def splice(name: str, text: str, section: str = "planner", page: Path = PAGE) -> None:
    """Put ``text`` as block ``name`` at the end of ``section`` (replacing the block if it is there)."""
    body = page.read_text() if page.exists() else "# Benchmarks\n"
    block = f"<!-- {name}:start -->\n{text.strip()}\n<!-- {name}:end -->"
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    if start in body and end in body:
        body = body[:body.index(start)] + block + body[body.index(end) + len(end):]
    else:
        s_end = f"<!-- {section}:end -->"
        if s_end in body:
            body = body[:body.index(s_end)] + block + "\n" + body[body.index(s_end):]
        else:
            body = body.rstrip() + "\n\n" + block + "\n"
    page.write_text(body)
