"""``make token ROLE=… SUB=…``: mint a development bearer token with the local key pair."""

from __future__ import annotations

import argparse

from ..auth import Role, ensure_dev_keypair, mint_token
from .devstack import state_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--role", required=True, choices=[r.value for r in Role], action="append")
    parser.add_argument("--sub", required=True)
    parser.add_argument("--dealer-id")
    parser.add_argument("--engineer-id")
    parser.add_argument("--ttl", type=int, default=12 * 3600)
    args = parser.parse_args()
    private, _public = ensure_dev_keypair(state_dir() / "jwt")
    print(mint_token(private.read_bytes(), sub=args.sub, roles=args.role, ttl_seconds=args.ttl,
                     dealer_id=args.dealer_id, engineer_id=args.engineer_id))


if __name__ == "__main__":
    main()
