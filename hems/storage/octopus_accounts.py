"""A home's link to the consumer's own Octopus account (table ``octopus_accounts``): stored
with the API key already encrypted (:mod:`hems.account_secrets` does it; this module never sees
the plain key), linking and unlinking audited without the key, and the tariff the account
gave written into the home's record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from hems.storage.database import NotFoundError, StoreBase, audit_row
from hems.storage.tables import HomeRow, OctopusAccountRow

LINKS = "octopus_accounts"
"""The version (``Store.version(LINKS, 0)``) bumped by every link and unlink of this process."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredAccountLink:
    """A home's link as stored; ``api_key_encrypted`` is only for
    :meth:`hems.account_secrets.AccountSecrets.decrypt`."""

    home_id: int
    account_number: str
    api_key_encrypted: str
    api_key_last4: str
    follow_tariff: bool
    linked_at: datetime
    refreshed_at: datetime | None
    refresh_status: str | None
    import_tariff_code: str | None
    export_tariff_code: str | None


def _stored(row: OctopusAccountRow) -> StoredAccountLink:
    return StoredAccountLink(
        home_id=row.home_id,
        account_number=row.account_number,
        api_key_encrypted=row.api_key_encrypted,
        api_key_last4=row.api_key_last4,
        follow_tariff=row.follow_tariff,
        linked_at=row.linked_at,
        refreshed_at=row.refreshed_at,
        refresh_status=row.refresh_status,
        import_tariff_code=row.import_tariff_code,
        export_tariff_code=row.export_tariff_code,
    )


class OctopusAccountRecords(StoreBase):
    """Link, read, refresh and unlink a home's Octopus account."""

    def link_octopus_account(self, link: StoredAccountLink, actor: str) -> None:
        """Store (or replace) the home's link.

        Raises:
            NotFoundError: no such home.
        """
        with self.write_transaction() as s:
            if s.get(HomeRow, link.home_id) is None:
                raise NotFoundError(f"home {link.home_id}")
            row = s.get(OctopusAccountRow, link.home_id)
            if row is None:
                row = OctopusAccountRow(home_id=link.home_id)
                s.add(row)
            for name in link.__slots__:
                setattr(row, name, getattr(link, name))
            detail = {
                "account_number": link.account_number,
                "api_key_last4": link.api_key_last4,
                "follow_tariff": link.follow_tariff,
            }
            s.add(audit_row(link.home_id, link.linked_at, actor, "octopus_account.link", detail))
        self.changed(LINKS, 0)

    def octopus_account(self, home_id: int) -> StoredAccountLink | None:
        """The home's link, or None."""
        with self.session() as s:
            row = s.get(OctopusAccountRow, home_id)
            return None if row is None else _stored(row)

    def octopus_account_homes(self) -> list[int]:
        """The homes with a linked account."""
        with self.session() as s:
            query = select(OctopusAccountRow.home_id).order_by(OctopusAccountRow.home_id)
            return list(s.scalars(query))

    def unlink_octopus_account(self, home_id: int, now: datetime, actor: str) -> bool:
        """Delete the home's link (the key with it); False when there was none."""
        with self.write_transaction() as s:
            row = s.get(OctopusAccountRow, home_id)
            if row is None:
                return False
            s.delete(row)
            s.add(audit_row(home_id, now, actor, "octopus_account.unlink", {}))
        self.changed(LINKS, 0)
        return True

    def note_octopus_refresh(
        self,
        home_id: int,
        at: datetime,
        status: str,
        tariff_codes: tuple[str | None, str | None],
    ) -> None:
        """What a refresh found: its status line and the import and export tariff codes in
        force (a link deleted meanwhile is left deleted)."""
        with self.write_transaction() as s:
            row = s.get(OctopusAccountRow, home_id)
            if row is None:
                return
            row.refreshed_at, row.refresh_status = at, status[:500]
            row.import_tariff_code, row.export_tariff_code = tariff_codes

    def set_home_tariff(
        self, home_id: int, tariff: dict[str, Any], now: datetime, actor: str
    ) -> None:
        """Write the home's tariff (a :data:`hems.domain.tariffs.Tariff` as JSON, validated by
        the caller) into its record, audited with the product it was and is.

        Raises:
            NotFoundError: no such home.
        """
        with self.write_transaction() as s:
            row = s.get(HomeRow, home_id, with_for_update=True)
            if row is None:
                raise NotFoundError(f"home {home_id}")
            before = row.spec.get("tariff", {})
            row.spec = {**row.spec, "tariff": tariff}
            detail = {
                "from": before.get("product") if isinstance(before, dict) else before,
                "to": tariff.get("product"),
            }
            s.add(audit_row(home_id, now, actor, "home.tariff", detail))
        self.changed("home", home_id)
