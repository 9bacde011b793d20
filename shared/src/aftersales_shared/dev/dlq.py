"""``python -m aftersales_shared.dev.dlq list|replay SERVICE``: a service's dead letters, against the broker of
``KAFKA_BOOTSTRAP_SERVERS`` or, when unset, the local ``make run`` stack (``make dlq-list`` / ``make dlq-replay``).

In a deployment the same is ``GET``/``POST /v1/admin/dead-letters[/replay]`` on the service (admin role).
"""

from __future__ import annotations

import asyncio
import os
import sys

from ..config import KafkaSettings
from ..deadletters import list_dead_letters, replay_dead_letters
from . import devstack


def _bootstrap() -> tuple[str, str]:
    kafka = KafkaSettings()
    if "KAFKA_BOOTSTRAP_SERVERS" not in os.environ:
        info = devstack.load_info()
        if info is not None:
            return info.bootstrap, kafka.group_prefix
    return kafka.bootstrap_servers, kafka.group_prefix


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in {"list", "replay"}:
        print("usage: python -m aftersales_shared.dev.dlq list|replay SERVICE", file=sys.stderr)
        return 2
    command, service = argv
    bootstrap, prefix = _bootstrap()
    if command == "list":
        page = asyncio.run(list_dead_letters(bootstrap, service, group_prefix=prefix, limit=1000))
        print(page.model_dump_json(indent=2))
    else:
        result = asyncio.run(replay_dead_letters(bootstrap, service, group_prefix=prefix))
        print(result.model_dump_json(indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
