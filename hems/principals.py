"""Who an API token belongs to, remembered a few seconds so a request costs no extra read."""

from __future__ import annotations

import time

from hems.storage.store import Principal, Store, hash_token


class PrincipalCache:
    """Who a token belongs to, remembered for ``ttl_s`` seconds. A deleted home's tokens stop
    working at once (:meth:`CemService.forget` clears the cache); an unknown token is never
    remembered, so a new token works at once too."""

    def __init__(self, store: Store, ttl_s: float = 10.0, max_entries: int = 10_000) -> None:
        self._store = store
        self._ttl_s = ttl_s
        self._max = max_entries
        self._known: dict[str, tuple[Principal, float]] = {}

    def get(self, token: str) -> Principal | None:
        now = time.monotonic()
        key = hash_token(token)  # only hashes are kept, in memory as on disk
        hit = self._known.get(key)
        if hit is not None and hit[1] > now:
            return hit[0]
        principal = self._store.principal(token)
        if principal is not None:
            if len(self._known) >= self._max:
                self._known.clear()
            self._known[key] = (principal, now + self._ttl_s)
        return principal

    def clear(self) -> None:
        self._known.clear()
