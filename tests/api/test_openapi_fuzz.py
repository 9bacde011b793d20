"""schemathesis over every service's OpenAPI, as an admin and as each narrow role (issue 13).

Each service runs out of process (uvicorn, as deployed) against the test session's real Postgres and Kafka. Every
generated request must get an answer that is not a server error, whose status the OpenAPI documents, with the
documented content type and schema. Bounded so it fits in the suite; the seed is fixed (derandomized) unless
``FUZZ_RANDOM=1`` (``make fuzz`` runs longer with a random seed).
"""

from __future__ import annotations

import os
from collections import defaultdict

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from aftersales_shared.auth import mint_token
from aftersales_shared.testing.processes import ROLES, SERVICES

pytestmark = pytest.mark.integration

ADMIN_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))
NARROW_EXAMPLES = int(os.environ.get("FUZZ_NARROW_EXAMPLES", "3"))
RANDOM = os.environ.get("FUZZ_RANDOM") == "1"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _fuzz(base_url: str, role: str, examples: int, private_pem: bytes) -> dict[str, list[str]]:
    token = mint_token(private_pem, sub=f"fuzz-{role}", roles=[role], **ROLES[role])
    headers = {"Authorization": f"Bearer {token}"}
    spec = requests.get(f"{base_url}/openapi.json", timeout=30).json()
    schema = schemathesis.openapi.from_dict(spec)
    session = requests.Session()
    failures: dict[str, list[str]] = defaultdict(list)
    for result in schema.get_all_operations():
        operation = result.ok()

        @hypothesis.settings(max_examples=examples, deadline=None, derandomize=not RANDOM, database=None,
                             suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate],
                             print_blob=False)
        @hypothesis.given(case=operation.as_strategy())
        def run(case: schemathesis.Case) -> None:
            response = case.call(base_url=base_url, headers=headers, session=session, timeout=30)
            case.validate_response(response, checks=CHECKS, headers=headers)

        try:
            run()
        except BaseException as exc:  # noqa: BLE001 - every distinct failure is reported below
            if isinstance(exc, KeyboardInterrupt):
                raise
            lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
            failures[operation.label].append(" | ".join(lines[:8])[:700])
    return failures


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("who", ["admin", "narrow roles"])
def test_fuzzing_finds_no_server_error_undocumented_status_or_schema_violation(servers, jwt_keys, service, who):
    roles = ["admin"] if who == "admin" else [r for r in ROLES if r != "admin"]
    examples = ADMIN_EXAMPLES if who == "admin" else NARROW_EXAMPLES
    report: list[str] = []
    for role in roles:
        found = _fuzz(servers[service], role, examples, jwt_keys[0])
        report += [f"[{role}] {op}: {msg}" for op, msgs in found.items() for msg in msgs]
    assert not report, f"{service}: {len(report)} failing operations\n" + "\n".join(report)
