"""The service's MQTT broker settings for a test broker (tests/adapters/devices/mqtt_peers)."""

from __future__ import annotations

from hems.domain.connections import MqttBroker
from tests.adapters.devices.mqtt_peers import CEM_PASSWORD, CEM_USER, HOME, Broker


def cem_broker(broker: Broker) -> MqttBroker:
    """The CEM's connection to ``broker``: on 127.0.0.1, as the test home's CEM (its own
    credentials), trusting the broker's test CA."""
    return MqttBroker(
        host="127.0.0.1",
        port=broker.port,
        home=HOME,
        username=CEM_USER,
        password=CEM_PASSWORD,
        ca_file=broker.pki.ca_file,
    )
