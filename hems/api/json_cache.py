"""The JSON the API serves most, built once per change: the latest plan of each home (by plan
id) and other records by the store's version of them (:meth:`hems.storage.store.Store.version`).
Kept by the API (``app.state.json_cache``), emptied for a home the service forgets (its data
deleted)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
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

    async def record(
        self,
        service: CemService,
        kind: str,
        home_id: int,
        build: Callable[[], Awaitable[bytes]],
    ) -> bytes:
        """The JSON of a home's ``kind`` of record, rebuilt only when the store changed it."""
        version = service.version(kind, home_id)
        hit = self.records.get((kind, home_id))
        if hit is not None and hit[0] == version:
            return hit[1]
        body = await build()
        self.records[(kind, home_id)] = (version, body)
        return body

    def put(self, service: CemService, kind: str, home_id: int, body: bytes) -> None:
        """Keep the JSON of a record just written (the next read need not build it)."""
        self.records[(kind, home_id)] = (service.version(kind, home_id), body)

    def forget(self, home_id: int) -> None:
        """Drop everything built from the home (its data was deleted)."""
        self.plans.pop(home_id, None)
        for key in [k for k in self.records if k[1] == home_id]:
            del self.records[key]


async def get_json_cache(request: Request) -> JsonCache:
    cache: JsonCache = request.app.state.json_cache
    return cache


Cache = Annotated[JsonCache, Depends(get_json_cache)]
