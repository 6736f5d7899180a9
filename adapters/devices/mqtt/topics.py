"""The CEM's MQTT topic scheme (docs/devices.md, "MQTT").

Every topic of a home sits under ``<prefix>/<home>/`` so one ACL line per user can confine a
device's credentials to its own topics: ``<prefix>/<home>/<device>/<leaf>`` for a device and
``<prefix>/<home>/availability`` for the CEM itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_PREFIX = "cem"
# Topic levels we build from ids: no '/', no wildcards, nothing a broker or HA would trip on.
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")

ONLINE = "online"
OFFLINE = "offline"


def check_id(kind: str, value: str) -> str:
    """``value`` if it is a usable topic level; a clear ``ValueError`` otherwise."""
    if not _ID.fullmatch(value):
        raise ValueError(
            f"{kind} {value!r} is not a valid MQTT topic level (1-64 of A-Z a-z 0-9 _ -)"
        )
    return value


@dataclass(frozen=True, slots=True)
class DeviceTopics:
    """The topics of one device. The device publishes ``state``, ``ack``, ``availability``,
    ``capabilities`` and (a site meter) ``meter``;
    the CEM publishes ``setpoint``, ``sg_ready`` and ``plan`` (retained) and reads
    ``setpoint_command`` (a manual setpoint from Home Assistant)."""

    root: str

    @property
    def state(self) -> str:
        return f"{self.root}/state"

    @property
    def availability(self) -> str:
        return f"{self.root}/availability"

    @property
    def capabilities(self) -> str:
        return f"{self.root}/capabilities"

    @property
    def meter(self) -> str:
        return f"{self.root}/meter"

    @property
    def ack(self) -> str:
        return f"{self.root}/ack"

    @property
    def setpoint(self) -> str:
        return f"{self.root}/setpoint"

    @property
    def setpoint_command(self) -> str:
        return f"{self.root}/setpoint/set"

    @property
    def sg_ready(self) -> str:
        return f"{self.root}/sg_ready"

    @property
    def plan(self) -> str:
        return f"{self.root}/plan"


def device_topics(home: str, device: str, prefix: str = DEFAULT_PREFIX) -> DeviceTopics:
    """The topics of ``device`` in ``home``."""
    return DeviceTopics(f"{prefix}/{check_id('home', home)}/{check_id('device', device)}")


def cem_availability_topic(home: str, prefix: str = DEFAULT_PREFIX) -> str:
    """Where the CEM publishes ``online`` (retained) and leaves ``offline`` as its last will."""
    return f"{prefix}/{check_id('home', home)}/availability"


def split_device_topic(topic: str, home: str, prefix: str = DEFAULT_PREFIX) -> tuple[str, str]:
    """(device, leaf) of a device topic of ``home``; ``ValueError`` for any other topic."""
    head = f"{prefix}/{home}/"
    if not topic.startswith(head):
        raise ValueError(f"topic {topic!r} is not under {head!r}")
    device, _, leaf = topic[len(head) :].partition("/")
    if not device or not leaf:
        raise ValueError(f"topic {topic!r} is not a device topic")
    return device, leaf
