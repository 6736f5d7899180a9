"""The Mosquitto ACL ``mosquitto_acl`` writes (used by every ``test_mqtt_*`` broker, where the
denials themselves are tested): each user's lines, and names that would break the file."""

from __future__ import annotations

import pytest

from adapters.devices.mqtt import DeviceCredentials, mosquitto_acl


def test_each_user_gets_only_its_own_topics() -> None:
    acl = mosquitto_acl(
        "home1",
        "cem-home1",
        [DeviceCredentials("hp1-user", "hp1")],
        home_assistant_username="ha",
    )
    blocks = {b.splitlines()[0]: b.splitlines()[1:] for b in acl.strip().split("\n\n")}
    assert blocks["user cem-home1"] == [
        "topic readwrite cem/home1/#",
        "topic readwrite homeassistant/#",
    ]
    assert blocks["user hp1-user"] == [
        "topic write cem/home1/hp1/state",
        "topic write cem/home1/hp1/ack",
        "topic write cem/home1/hp1/availability",
        "topic write cem/home1/hp1/capabilities",
        "topic write cem/home1/hp1/meter",
        "topic read cem/home1/hp1/setpoint",
        "topic read cem/home1/hp1/sg_ready",
        "topic read cem/home1/hp1/plan",
        "topic read cem/home1/availability",
    ]
    assert blocks["user ha"] == [
        "topic read cem/home1/#",
        "topic read homeassistant/#",
        "topic write cem/home1/+/setpoint/set",
    ]


@pytest.mark.parametrize("user", ["", "two words", "a:b"])
def test_a_user_name_that_would_break_the_file_is_refused(user: str) -> None:
    with pytest.raises(ValueError, match="MQTT user name"):
        mosquitto_acl("home1", user, [])


def test_a_device_id_that_is_not_a_topic_level_is_refused() -> None:
    with pytest.raises(ValueError, match="not a valid MQTT topic level"):
        mosquitto_acl("home1", "cem", [DeviceCredentials("u", "hp/#")])
