"""Bearer-JWT verification and the role dependency every endpoint declares."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .config import AuthSettings
from .errors import Forbidden, Unauthorized


class Role(StrEnum):
    CALL_CENTER = "call_center"
    DISPATCHER = "dispatcher"
    ENGINEER = "engineer"
    DEALER = "dealer"
    PARTS_CLERK = "parts_clerk"
    FINANCE = "finance"
    OPS = "ops"
    ADMIN = "admin"
    NOTIFIER = "notifier"  # the notifications service's own token: reads contacts, records replies, nothing else


@dataclass(frozen=True)
class Principal:
    """Who is calling: subject id (engineer id, dealer id, user id) and roles."""

    sub: str
    roles: frozenset[str]
    dealer_id: str | None = None
    engineer_id: str | None = None
    name: str | None = None
    claims: dict[str, Any] = field(default_factory=dict, compare=False)

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


STAFF_ROLES = frozenset({Role.CALL_CENTER, Role.DISPATCHER, Role.PARTS_CLERK, Role.FINANCE, Role.OPS, Role.ADMIN})
"""The manufacturer's own people: they see every tenant's rows (what they may *do* is still per route)."""


@dataclass(frozen=True)
class Scope:
    """Whose rows a caller may see: staff all of them; a dealer its own; an engineer its own work."""

    kind: Literal["staff", "dealer", "engineer"]
    dealer_id: str | None = None
    engineer_id: str | None = None

    @property
    def is_staff(self) -> bool:
        return self.kind == "staff"


def scope_of(principal: Principal, *, staff_roles: frozenset[str] = STAFF_ROLES) -> Scope:
    """The caller's scope, which each service turns into its WHERE clause once (in its ``access.py``).

    A dealer token without a dealer id, or an engineer token without an engineer id, sees nothing: 403.
    """
    if principal.roles & staff_roles:
        return Scope("staff")
    if Role.ENGINEER in principal.roles:
        if not principal.engineer_id:
            raise Forbidden("an engineer token must carry engineer_id", field="engineer_id")
        return Scope("engineer", dealer_id=principal.dealer_id, engineer_id=principal.engineer_id)
    if Role.DEALER in principal.roles:
        if not principal.dealer_id:
            raise Forbidden("a dealer token must carry dealer_id", field="dealer_id")
        return Scope("dealer", dealer_id=principal.dealer_id)
    raise Forbidden("this role sees no records here")


class TokenVerifier:
    """Verifies RS256 tokens against a JWKS URL or a configured public key."""

    def __init__(self, settings: AuthSettings) -> None:
        self.settings = settings
        self._jwks: jwt.PyJWKClient | None = None
        self._key: Any = None
        self._cache: dict[str, tuple[float, Principal]] = {}
        if settings.jwks_url:
            self._jwks = jwt.PyJWKClient(settings.jwks_url, cache_keys=True, lifespan=300)
        elif settings.public_key_pem:
            self._key = serialization.load_pem_public_key(settings.public_key_pem.encode())
        elif settings.public_key_file and Path(settings.public_key_file).exists():
            self._key = serialization.load_pem_public_key(Path(settings.public_key_file).read_bytes())

    _CACHE_MAX = 10_000

    def verify(self, token: str) -> Principal:
        """The token's principal, or Unauthorized.

        A client sends the same token with every request of its session, and checking an RS256 signature
        costs more than most endpoints; a verified token is therefore remembered until it expires (bounded;
        the cache is dropped when full). Only successful verifications are cached.
        """
        hit = self._cache.get(token)
        if hit is not None and hit[0] > time.time():
            return hit[1]
        principal, exp = self._verify(token)
        if len(self._cache) >= self._CACHE_MAX:
            self._cache.clear()
        self._cache[token] = (exp, principal)
        return principal

    def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            key = self._jwks.get_signing_key_from_jwt(token).key if self._jwks else self._key
            if key is None:
                raise Unauthorized("no token verification key is configured")
            claims = jwt.decode(
                token, key, algorithms=self.settings.algorithms, audience=self.settings.audience,
                issuer=self.settings.issuer, options={"require": ["exp", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"invalid bearer token: {exc}") from exc
        roles = claims.get("roles") or []
        if isinstance(roles, str):
            roles = [roles]
        return Principal(
            sub=str(claims["sub"]), roles=frozenset(roles), dealer_id=claims.get("dealer_id"),
            engineer_id=claims.get("engineer_id"), name=claims.get("name"), claims=claims,
        ), float(claims["exp"])


_bearer = HTTPBearer(auto_error=False)


def _principal(request: Request, scheme: str, token: str) -> Principal:
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("missing bearer token")
    verifier: TokenVerifier = request.app.state.token_verifier
    return verifier.verify(token)


def _check(principal: Principal, allowed: frozenset[str]) -> Principal:
    if not principal.roles.intersection(allowed):
        raise Forbidden(f"requires one of the roles: {', '.join(sorted(allowed))}")
    return principal


async def current_principal(
    request: Request, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    """The authenticated caller, or 401 problem+json."""
    scheme, token = (creds.scheme, creds.credentials) if creds else ("", "")
    return _principal(request, scheme, token)


def require_roles(*roles: Role | str):
    """Dependency factory: the caller must hold one of ``roles`` (admin is not implied)."""
    allowed = frozenset(str(r) for r in roles)

    async def _dep(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        return _check(principal, allowed)

    _dep.allowed_roles = allowed  # type: ignore[attr-defined]
    return _dep


def authorize(request: Request, roles: frozenset[str]) -> Principal:
    """What ``require_roles(*roles)`` answers, for a hot route that reads its request itself instead of
    declaring dependencies (FastAPI's dependency resolution costs more CPU than the check)."""
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    return _check(_principal(request, scheme, token.strip()), roles)


def declares_roles(roles: frozenset[str]):
    """Marks a route that calls ``authorize(request, roles)`` itself, as ``require_roles`` marks its dependency."""
    def mark(endpoint):
        endpoint.allowed_roles = roles
        return endpoint
    return mark


# --- development key pair and token minting (make token, tests) --------------------------------


def generate_keypair() -> tuple[bytes, bytes]:
    """A fresh RSA key pair as (private PEM, public PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


def ensure_dev_keypair(directory: Path) -> tuple[Path, Path]:
    """Create (once) the local development key pair under ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    priv, pub = directory / "dev-private.pem", directory / "dev-public.pem"
    if not priv.exists() or not pub.exists():
        private, public = generate_keypair()
        priv.write_bytes(private)
        priv.chmod(0o600)
        pub.write_bytes(public)
    return priv, pub


def mint_token(
    private_pem: bytes, *, sub: str, roles: list[str], issuer: str = "aftersales-dev",
    audience: str = "aftersales", ttl_seconds: int = 12 * 3600, **claims: Any,
) -> str:
    """Sign a development token."""
    now = int(time.time())
    payload = {"sub": sub, "roles": roles, "iss": issuer, "aud": audience, "iat": now, "exp": now + ttl_seconds}
    payload.update({k: v for k, v in claims.items() if v is not None})
    return jwt.encode(payload, private_pem, algorithm="RS256")
