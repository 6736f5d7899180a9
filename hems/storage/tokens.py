"""API tokens (table ``api_tokens``): only a token's SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from hems.storage.database import NotFoundError, StoreBase, audit_row
from hems.storage.tables import ApiTokenRow, HomeRow

TOKEN_PREFIX = "hems_"


def hash_token(token: str) -> str:
    """SHA-256 of a token. Tokens are 256-bit random strings, so a fast hash is enough (no
    dictionary to guard against); only the hash is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a token belongs to: the admin (``home_id`` None) or one home."""

    token_id: int
    role: str
    home_id: int | None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class TokenRecords(StoreBase):
    """Creating tokens and finding whose a token is."""

    def create_token(self, role: str, home_id: int | None, now: datetime, label: str = "") -> str:
        """A new token, returned once; only its hash is stored."""
        if role not in ("admin", "home") or (role == "home") != (home_id is not None):
            raise ValueError("a home token needs a home; an admin token has none")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.write_transaction() as s:
            if home_id is not None and s.get(HomeRow, home_id) is None:
                raise NotFoundError(f"home {home_id}")
            s.add(
                ApiTokenRow(
                    home_id=home_id,
                    role=role,
                    token_hash=hash_token(token),
                    label=label,
                    created_at=now,
                )
            )
            s.add(audit_row(home_id, now, "system", "token.create", {"role": role, "label": label}))
        return token

    def has_admin_token(self) -> bool:
        with self.session() as s:
            found = s.scalars(
                select(ApiTokenRow.id).where(
                    ApiTokenRow.role == "admin", ApiTokenRow.revoked_at.is_(None)
                )
            ).first()
            return found is not None

    def principal(self, token: str) -> Principal | None:
        with self.session() as s:
            row = s.scalars(
                select(ApiTokenRow).where(
                    ApiTokenRow.token_hash == hash_token(token), ApiTokenRow.revoked_at.is_(None)
                )
            ).first()
            return None if row is None else Principal(row.id, row.role, row.home_id)

    def token_in_force(self, token_id: int) -> bool:
        """Whether a token still works (not revoked, its home not deleted)."""
        with self.session() as s:
            row = s.get(ApiTokenRow, token_id)
            return row is not None and row.revoked_at is None
