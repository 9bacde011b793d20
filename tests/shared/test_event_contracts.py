"""Event contracts are code: docs/events is current, and no change breaks an existing consumer."""

from __future__ import annotations

import json
from pathlib import Path

from aftersales_shared.events import registry
from aftersales_shared.events.export import platform_events, schema_of

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "events"


def _resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["$defs"][node["$ref"].split("/")[-1]]
    return node


def breaking_changes(old: dict, new: dict, path: str = "", old_root: dict | None = None,
                     new_root: dict | None = None) -> list[str]:
    """What a consumer built against ``old`` would trip over in ``new``."""
    old_root, new_root = old_root or old, new_root or new
    old, new = _resolve(old_root, old), _resolve(new_root, new)
    problems = []
    if old.get("type") and new.get("type") and old["type"] != new["type"]:
        problems.append(f"{path or '<root>'}: type {old['type']} -> {new['type']}")
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    for name, sub in old_props.items():
        if name not in new_props:
            problems.append(f"{path}.{name}: removed")
        else:
            problems += breaking_changes(sub, new_props[name], f"{path}.{name}", old_root, new_root)
    for name in set(new.get("required", [])) - set(old.get("required", [])):
        if name in old_props or name in new_props:
            problems.append(f"{path}.{name}: became required")
    return problems


def test_every_platform_event_has_a_committed_schema_and_it_is_current():
    stale = []
    for cls in platform_events():
        path = DOCS / f"{cls.TYPE}.v{cls.VERSION}.json"
        if not path.exists() or json.loads(path.read_text()) != schema_of(cls):
            stale.append(path.name)
    assert not stale, f"run `make events-schema` and commit docs/events: {stale}"


def test_no_event_change_breaks_a_consumer_of_the_committed_contract():
    problems = []
    for path in sorted(DOCS.glob("*.json")):
        committed = json.loads(path.read_text())
        cls = registry.get(committed["x-type"], committed["x-version"])
        assert cls is not None, f"{path.name}: event type removed (publish a new major version instead)"
        assert cls.TOPIC == committed["x-topic"], f"{path.name}: topic changed"
        problems += [f"{path.name}{p}" for p in breaking_changes(committed, schema_of(cls))]
    assert not problems, problems


def test_breaking_change_detector_flags_removed_retyped_and_newly_required_fields():
    old = {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}, "required": ["a"]}
    new = {"type": "object", "properties": {"a": {"type": "integer"}, "c": {"type": "string"}}, "required": ["a", "c"]}
    found = breaking_changes(old, new)
    assert ".a: type string -> integer" in found
    assert ".b: removed" in found
    assert ".c: became required" in found
    assert breaking_changes(old, old) == []


def test_topics_follow_the_naming_rule():
    for cls in platform_events():
        service, aggregate, version = cls.TOPIC.split(".")
        assert cls.TYPE.startswith(service + ".") and version.startswith("v"), cls.TOPIC
