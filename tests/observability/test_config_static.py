"""Static checks of the Prometheus config, alert rules and Grafana dashboards (no services needed)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from obs_support import (
    DASHBOARDS,
    PROM_CONFIG,
    ROOT,
    RULES_DIR,
    concrete,
    iter_panels,
    load_dashboards,
    load_rules,
    panel_queries,
    render_config,
    runbook_anchors,
    template_vars,
)

PROMTOOL = shutil.which("promtool") or "promtool"

# Alert families the issue asks for; each must exist (names are the runbook anchors).
REQUIRED_ALERTS = {
    "SlaBreachRateRising", "JobsWaitingForAssignmentTooLong", "ShipCommitmentBreaches",
    "OldPartReturnsOverdue", "ConsumerLagHigh", "OutboxRowsStuck", "HighHttp5xxRate", "ServiceDown",
}


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert shutil.which(PROMTOOL), "promtool is missing: `make deps` installs Debian's prometheus package"
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=60)


def test_committed_config_targets_the_compose_services() -> None:
    config = yaml.safe_load(PROM_CONFIG.read_text())
    assert config["global"]["scrape_interval"] == "15s"
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yml"]
    targets = {t for job in config["scrape_configs"] for g in job["static_configs"] for t in g["targets"]}
    assert targets == {"ticketing:8000", "dispatch:8000", "parts:8000", "settlement:8000", "notifications:8000"}


def test_promtool_check_config_on_rendered_copy(tmp_path: Path) -> None:
    rendered = render_config(tmp_path, {s: f"127.0.0.1:{9000 + i}" for i, s in
                                        enumerate(["ticketing", "dispatch", "parts", "settlement", "notifications"])})
    result = _promtool("check", "config", str(rendered))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


def test_promtool_check_rules() -> None:
    files = sorted(str(p) for p in RULES_DIR.glob("*.yml"))
    assert files
    result = _promtool("check", "rules", *files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_alerts_are_complete_and_link_to_the_runbook() -> None:
    rules = load_rules()
    names = {r.alert for r in rules}
    assert REQUIRED_ALERTS <= names, REQUIRED_ALERTS - names
    anchors = runbook_anchors()
    for rule in rules:
        assert rule.labels.get("severity") in {"critical", "warning", "info"}, rule.alert
        for key in ("summary", "description", "runbook_url"):
            assert rule.annotations.get(key), f"{rule.alert} lacks {key}"
        url = rule.annotations["runbook_url"]
        assert url.startswith("docs/runbook.md#"), url
        assert url.split("#", 1)[1] in anchors, f"{rule.alert}: no runbook section #{url.split('#', 1)[1]}"


def test_all_dashboards_exist() -> None:
    assert set(DASHBOARDS) <= set(load_dashboards())


@pytest.mark.parametrize("name", DASHBOARDS)
def test_dashboard_panels_have_title_unit_and_query(name: str) -> None:
    dash = load_dashboards()[name]
    assert dash.get("title") and dash.get("uid")
    assert 36 <= dash.get("schemaVersion", 0) <= 41
    panels = list(iter_panels(dash))
    assert panels, f"{name} has no panels"
    ids = [p.get("id") for p in panels]
    assert len(ids) == len(set(ids)), f"{name}: duplicate panel ids"
    variables = template_vars(dash)
    for panel in panels:
        title = panel.get("title", "")
        assert title.strip(), f"{name}: a panel without a title"
        assert panel.get("fieldConfig", {}).get("defaults", {}).get("unit"), f"{name}/{title}: no unit"
        assert panel.get("datasource", {}).get("uid") == "prometheus", f"{name}/{title}: datasource"
        assert panel.get("gridPos"), f"{name}/{title}: no gridPos"
        targets = panel.get("targets", [])
        assert targets and all(t.get("expr", "").strip() for t in targets), f"{name}/{title}: no query"
        for t in targets:
            assert t.get("datasource", {}).get("uid") == "prometheus", f"{name}/{title}: target datasource"
            # Template variables only inside regex matchers, so "All" (.*) is always valid PromQL.
            for m in re.finditer(r"\$\{?(\w+)", t["expr"]):
                if m.group(1) in variables:
                    assert t["expr"][: m.start()].endswith('=~"'), f"{name}/{title}: ${m.group(1)} outside =~"
            concrete(t["expr"], variables)
            assert "vector(0)" not in " ".join(t["expr"].split()), f"{name}/{title}: hides missing data"


def test_every_query_is_collected() -> None:
    assert len(panel_queries()) >= 5 * len(DASHBOARDS)


def test_runbook_names_real_panels() -> None:
    """Every *italic* panel reference in the runbook ("*Dashboard → Panel*" or "*Panel*") exists."""
    from obs_support import RUNBOOK

    dashboards = load_dashboards()
    titles = {p.get("title") for d in dashboards.values() for p in iter_panels(d)}
    by_board = {d["title"]: {p.get("title") for p in iter_panels(d)} for d in dashboards.values()}
    refs = re.findall(r"(?<!\*)\*([^*\n]+)\*(?!\*)", RUNBOOK.read_text())
    assert refs
    for ref in refs:
        if "→" in ref:
            board, panel = (x.strip() for x in ref.split("→", 1))
            assert panel in by_board.get(board, set()), f"runbook: no panel {panel!r} on {board!r}"
        else:
            assert ref in titles, f"runbook: no panel titled {ref!r}"


def test_promtool_rule_unit_tests() -> None:
    """deploy/prometheus/tests: each alert fires (and stays quiet) on synthetic series as intended."""
    tests = sorted(str(p) for p in (RULES_DIR.parent / "tests").glob("*.yml"))
    assert tests
    result = _promtool("test", "rules", *tests)
    assert result.returncode == 0, result.stdout + result.stderr


def _exported_metric_names() -> set[str]:
    """Series names the code can export (shared platform metrics + each service's metrics.py)."""
    sources = [ROOT / "shared" / "src" / "aftersales_shared" / "metrics.py",
               *sorted((ROOT / "services").glob("*/src/*/metrics.py"))]
    names = {"up"}
    for src in sources:
        for kind, name in re.findall(r"\b(Counter|Gauge|Histogram)\(\s*\"([a-z_:]+)\"", src.read_text(), re.S):
            if kind == "Counter":
                names.add(name if name.endswith("_total") else f"{name}_total")
            elif kind == "Histogram":
                names.update({f"{name}_bucket", f"{name}_sum", f"{name}_count"})
            else:
                names.add(name)
    return names


_PREFIXES = ("http_", "outbox_", "consumer_", "ticketing_", "dispatch_", "parts_", "settlement_")


def test_dashboards_and_alerts_use_metrics_the_code_exports() -> None:
    """Catches a renamed metric before the live check: every series name used must exist in the code."""
    exported = _exported_metric_names()
    exprs = [(f"{q.dashboard}/{q.panel}", q.expr) for q in panel_queries()]
    exprs += [(f"alert {r.alert}", r.expr) for r in load_rules()]
    for where, expr in exprs:
        bare = re.sub(r'"[^"]*"', '""', expr)  # label values are not metric names
        for name in re.findall(r"\b([a-z_][a-z0-9_]*)\b", bare):
            if name.startswith(_PREFIXES) or name == "up":
                assert name in exported, f"{where}: {name} is not exported by any service"
