"""Helpers for the observability tests: load dashboards and rules, render a local Prometheus config."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
PROM_DIR = ROOT / "deploy" / "prometheus"
PROM_CONFIG = PROM_DIR / "prometheus.yml"
RULES_DIR = PROM_DIR / "rules"
DASHBOARD_DIR = ROOT / "deploy" / "grafana" / "dashboards"
RUNBOOK = ROOT / "docs" / "runbook.md"
DASHBOARDS = ["operations-overview", "sla", "parts", "dealers-settlement", "platform-health"]

# Grafana's built-in interval variables, pinned to values that suit a 1 s scrape in the live test.
BUILTIN_VARS = {
    "__rate_interval": "1m",
    "__interval": "15s",
    "__range": "10m",
    "__range_s": "600",
}


@dataclass(frozen=True)
class PanelQuery:
    dashboard: str
    panel: str
    ref: str
    expr: str


@dataclass(frozen=True)
class AlertRule:
    group: str
    alert: str
    expr: str
    labels: dict[str, str]
    annotations: dict[str, str]


def load_dashboards() -> dict[str, dict[str, Any]]:
    """Every dashboard JSON under deploy/grafana/dashboards, by file stem."""
    return {p.stem: json.loads(p.read_text()) for p in sorted(DASHBOARD_DIR.glob("*.json"))}


def iter_panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """All panels, including those nested in collapsed rows; rows themselves are left out."""
    for panel in dashboard.get("panels", []):
        if panel.get("type") == "row":
            yield from panel.get("panels", [])
        else:
            yield panel


def panel_queries(dashboards: dict[str, dict[str, Any]] | None = None) -> list[PanelQuery]:
    """Every target expression of every panel."""
    out = []
    for name, dash in (dashboards or load_dashboards()).items():
        for panel in iter_panels(dash):
            for target in panel.get("targets", []):
                out.append(PanelQuery(name, panel.get("title", "?"), target.get("refId", "?"), target.get("expr", "")))
    return out


def load_rules() -> list[AlertRule]:
    """Every alerting rule in deploy/prometheus/rules/*.yml."""
    out = []
    for path in sorted(RULES_DIR.glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    out.append(AlertRule(group["name"], rule["alert"], rule["expr"], rule.get("labels", {}),
                                         rule.get("annotations", {})))
    return out


def template_vars(dashboard: dict[str, Any]) -> list[str]:
    """Names of the dashboard's template variables."""
    return [v["name"] for v in dashboard.get("templating", {}).get("list", [])]


_VAR = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)")


def concrete(expr: str, variables: list[str]) -> str:
    """Replace Grafana's interval variables by fixed ranges and template variables by match-all regexes."""

    def sub(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2)
        if name in BUILTIN_VARS:
            return BUILTIN_VARS[name]
        if name in variables:
            return ".*"
        raise ValueError(f"unknown variable ${name} in {expr!r}")

    return _VAR.sub(sub, expr)


def render_config(dest_dir: Path, targets: dict[str, str], *, interval: str = "1s") -> Path:
    """A copy of the committed prometheus.yml for a native run: local targets, the repo's rules, fast scrapes."""
    config = yaml.safe_load(PROM_CONFIG.read_text())
    config["global"]["scrape_interval"] = interval
    config["global"]["evaluation_interval"] = interval
    config["rule_files"] = [str(RULES_DIR / "*.yml")]
    for job in config["scrape_configs"]:
        # only the apps this run starts (a group without a target would be scraped as down)
        job["static_configs"] = [g for g in job["static_configs"] if g["labels"]["app"] in targets]
        for group in job["static_configs"]:
            group["targets"] = [targets[group["labels"]["app"]]]
    dest_dir.mkdir(parents=True, exist_ok=True)
    path = dest_dir / "prometheus.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def runbook_anchors() -> set[str]:
    """GitHub-style anchors of the runbook's headings."""
    anchors = set()
    for line in RUNBOOK.read_text().splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            slug = re.sub(r"[^\w\- ]", "", title).replace(" ", "-")
            anchors.add(slug)
    return anchors
