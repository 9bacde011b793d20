"""The developer tooling's own promises: separate stacks for tests and `make run`, loop-safe stack calls,
and dev tooling kept out of the runtime package."""

from __future__ import annotations

import ast
from pathlib import Path

from aftersales_shared.dev import devstack
from aftersales_shared.testing.plugin import session_state_dir

SHARED = Path(devstack.__file__).resolve().parents[1]


def test_the_session_uses_the_tests_stack_never_the_make_run_one(stack) -> None:
    assert devstack.state_dir() == Path(session_state_dir())
    assert devstack.state_dir() != devstack.default_state_dir("run")
    assert devstack.load_info() == stack, "the session's stack is the one recorded under the test state dir"


async def test_stack_calls_work_inside_a_running_event_loop(stack) -> None:
    """Benchmarks and async tools call these from their event loop: no nested asyncio.run crash."""
    assert devstack._kafka_answers(stack.bootstrap)
    info, started = devstack.up()  # already running: reused, nothing started
    assert started == {"postgres": False, "kafka": False} and info.kafka_port == stack.kafka_port


def test_runtime_modules_never_import_dev_tooling() -> None:
    offenders = []
    for path in sorted(SHARED.rglob("*.py")):
        rel = path.relative_to(SHARED)
        if rel.parts[0] in ("dev", "testing"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom):
                mod = node.module or ""
                names = [mod] if node.level == 0 else [("." * node.level) + mod]
                names += [f"{mod}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            if any(n.startswith(("aftersales_shared.dev", ".dev", "..dev")) or n.endswith(".dev") for n in names):
                offenders.append(str(rel))
    for path in sorted((SHARED.parents[2] / "services").glob("*/src/**/*.py")):  # the services' runtime code
        if "aftersales_shared.dev" in path.read_text():
            offenders.append(str(path))
    assert offenders == []


def test_devstack_and_runner_do_not_import_each_other() -> None:
    source = (SHARED / "dev" / "devstack.py").read_text()
    assert "runner" not in {a.name for n in ast.walk(ast.parse(source)) if isinstance(n, ast.ImportFrom)
                            for a in n.names} and "from .runner" not in source
