"""The JSON the API serves most, built once per change: the latest plan of each home (by plan
id) and other records by the store's version of them (:meth:`hems.storage.store.Store.version`).
Kept by the API (``app.state.json_cache``), emptied for a home the service forgets (its data
deleted)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request

from hems.service import CemService


@dataclass
class JsonCache:
    plans: dict[int, tuple[int, bytes]] = field(default_factory=dict)
    """The latest plan of each home as the API serves it: (plan id, JSON)."""
    records: dict[tuple[str, int], tuple[int, bytes]] = field(default_factory=dict)
    """Other answers by (record kind, home): the store's version they were built from and
    their JSON."""
    valid_until: dict[tuple[str, int], datetime] = field(default_factory=dict)
    """Answers that also change with time (an event's status at its start and end): the
    instant (UTC) they must be built again, whatever the store's version."""

    async def record(
        self,
        service: CemService,
        kind: str,
        home_id: int,
        build: Callable[[], Awaitable[bytes]],
    ) -> bytes:
        """The JSON of a home's ``kind`` of record, rebuilt only when the store changed it."""
        version = service.version(kind, home_id)
        key = (kind, home_id)
        hit = self.records.get(key)
        until = self.valid_until.get(key)
        fresh = until is None or service.clock.now() < until
        if hit is not None and hit[0] == version and fresh:
            return hit[1]
        body = await build()
        self.records[key] = (version, body)
        return body

    async def record_until(
        self,
        service: CemService,
        kind: str,
        home_id: int,
        build: Callable[[], Awaitable[tuple[bytes, datetime | None]]],
    ) -> bytes:
        """:meth:`record` for an answer that also changes with time: ``build`` gives the JSON
        and the instant (UTC) it goes stale, or None when only the store changes it."""
        until: datetime | None = None

        async def build_body() -> bytes:
            nonlocal until
            body, until = await build()
            return body

        key = (kind, home_id)
        built_before = self.records.get(key)
        body = await self.record(service, kind, home_id, build_body)
        if self.records.get(key) is not built_before:  # built now: keep its expiry
            if until is None:
                self.valid_until.pop(key, None)
            else:
                self.valid_until[key] = until
        return body

    def put(self, service: CemService, kind: str, home_id: int, body: bytes) -> None:
        """Keep the JSON of a record just written (the next read need not build it)."""
        self.records[(kind, home_id)] = (service.version(kind, home_id), body)

    def forget(self, home_id: int) -> None:
        """Drop everything built from the home (its data was deleted)."""
        self.plans.pop(home_id, None)
        for key in [k for k in self.records if k[1] == home_id]:
            del self.records[key]
            self.valid_until.pop(key, None)


async def get_json_cache(request: Request) -> JsonCache:
    cache: JsonCache = request.app.state.json_cache
    return cache


Cache = Annotated[JsonCache, Depends(get_json_cache)]
