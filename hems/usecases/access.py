"""Who a token belongs to, and how the audit log names the caller."""

from __future__ import annotations

from hems.service import CemService
from hems.storage.store import Principal


def actor(principal: Principal) -> str:
    """How the audit log names the caller (never the token itself)."""
    return "admin" if principal.is_admin else f"home-token-{principal.token_id}"


def principal_of(service: CemService, token: str) -> Principal | None:
    """The token's owner, read from the store (a sign-in: never a remembered answer), or None
    for an unknown or revoked token."""
    return service.store.principal(token) if token else None


def cached_principal(service: CemService, token: str) -> Principal | None:
    """The token's owner, remembered a few seconds (:class:`hems.principals.PrincipalCache`):
    every API request asks."""
    return service.principals.get(token)


def token_in_force(service: CemService, token_id: int) -> bool:
    """The token still works (not revoked, its home not deleted)."""
    return service.store.token_in_force(token_id)
