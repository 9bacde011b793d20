"""Write the JSON Schema of every platform event to docs/events (``make events-schema``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from . import registry

PRODUCERS = ("ticketing", "dispatch", "parts", "settlement")


def platform_events() -> list[Any]:
    """Events of the four services (test-only event types are left out)."""
    return [c for c in registry.all() if c.TYPE.split(".", 1)[0] in PRODUCERS]


def schema_of(cls: Any) -> dict[str, Any]:
    schema = cls.model_json_schema(mode="serialization")
    schema.update({"x-topic": cls.TOPIC, "x-type": cls.TYPE, "x-version": cls.VERSION})
    return schema


def render(cls: Any) -> str:
    return json.dumps(schema_of(cls), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def export(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for cls in platform_events():
        path = directory / f"{cls.TYPE}.v{cls.VERSION}.json"
        path.write_text(render(cls))
        written.append(path)
    return written


if __name__ == "__main__":
    out = export(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/events"))
    print(f"wrote {len(out)} event schemas")
