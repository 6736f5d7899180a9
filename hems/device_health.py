"""What the service knows of a device's communications (the controller's ``health``, by
device): reported by the API and the operator's view, kept up by the reads and the sends."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass
class DeviceHealth:
    """What the service knows of a device's communications."""

    online: bool = True
    failures: int = 0
    last_error: str = ""
    last_seen_utc: datetime | None = None

    def failed(self, error: str, retry_max: int) -> None:
        """Count a failed exchange; the device is offline after ``retry_max`` in a row."""
        self.failures += 1
        self.last_error = error
        if self.failures >= retry_max:
            self.online = False
