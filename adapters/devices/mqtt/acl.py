"""A Mosquitto ACL that confines each device's credentials to its own topics (docs/devices.md,
"MQTT", Security): a device that is taken over can neither read another device's setpoints
nor pose as it, nor touch the CEM's availability or Home Assistant's discovery."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from adapters.devices.mqtt.topics import cem_availability_topic, check_id, device_topics


@dataclass(frozen=True, slots=True)
class DeviceCredentials:
    """A device's MQTT user name (its own, never shared) and its id in the topic scheme."""

    username: str
    device_id: str


def mosquitto_acl(
    home: str,
    cem_username: str,
    devices: Sequence[DeviceCredentials],
    *,
    prefix: str = "cem",
    discovery_prefix: str = "homeassistant",
    home_assistant_username: str | None = None,
) -> str:
    """The ``acl_file`` text for one home: the CEM reads and writes the home's topics and
    Home Assistant's discovery topics; each device writes its ``state``, ``ack``,
    ``availability``, ``capabilities`` and ``meter`` and reads its ``setpoint``,
    ``sg_ready``, ``plan`` and the CEM's availability. Home Assistant's user, if given, reads
    the home's topics and the discovery topics and writes only the setpoint numbers' command
    topics."""
    lines = [
        f"user {_user(cem_username)}",
        f"topic readwrite {prefix}/{check_id('home', home)}/#",
        f"topic readwrite {discovery_prefix}/#",
        "",
    ]
    for device in devices:
        topics = device_topics(home, device.device_id, prefix)
        lines += [f"user {_user(device.username)}"]
        written = (topics.state, topics.ack, topics.availability, topics.capabilities, topics.meter)
        lines += [f"topic write {t}" for t in written]
        lines += [f"topic read {t}" for t in (topics.setpoint, topics.sg_ready, topics.plan)]
        lines += [f"topic read {cem_availability_topic(home, prefix)}", ""]
    if home_assistant_username is not None:
        lines += [
            f"user {_user(home_assistant_username)}",
            f"topic read {prefix}/{home}/#",
            f"topic read {discovery_prefix}/#",
            f"topic write {prefix}/{home}/+/setpoint/set",
            "",
        ]
    return "\n".join(lines)


def _user(name: str) -> str:
    if not name or any(c.isspace() for c in name) or ":" in name:
        raise ValueError(f"MQTT user name {name!r} must be non-empty, without spaces or ':'")
    return name
