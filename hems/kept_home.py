"""A home's record as its controller last read it, re-used by the apply job.

The apply job runs every 15 s for every home and its import guard needs the home's record
(its limit, its devices); reading and validating it from the store each tick was the service's
largest cost in the fleet benchmark (docs/performance.md, "Fleet"). A kept record is re-used
while it is younger than :data:`HOME_REUSE_S` of the service's clock and this process changed
nothing of the home since (:meth:`hems.storage.database.StoreBase.version`, kind ``home``);
the control passes (cycle, telemetry) read it afresh, so a change made by another replica is
seen within that age."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from hems.domain.home import HomeSpec

if TYPE_CHECKING:
    from hems.controller import HomeController

HOME_REUSE_S = 60.0
"""How long [s of the service's clock] a home's record read by a control pass is re-used."""


@dataclass(frozen=True, slots=True)
class KeptHome:
    """A home's record, when it was read and the store's version of it before the read."""

    spec: HomeSpec
    read_at: datetime
    version: int

    def fresh(self, now: datetime, version: int) -> bool:
        """Whether the record can stand for the stored one at ``now``."""
        return version == self.version and now - self.read_at < timedelta(seconds=HOME_REUSE_S)


async def recent_home(ctl: HomeController) -> HomeSpec:
    """The home's record as the controller last read it if still fresh, else read now."""
    kept, version = ctl.kept_home, ctl.store.version("home", ctl.home_id)
    if kept is not None and kept.fresh(ctl.clock.now(), version):
        return kept.spec
    return await ctl.home()
