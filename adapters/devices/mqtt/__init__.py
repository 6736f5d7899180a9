"""Heat pumps and any other device over MQTT (aiomqtt): the CEM's topic scheme for state,
setpoints, acknowledgements, availability (last wills), SG-Ready states and plans, and Home
Assistant discovery (docs/devices.md, "MQTT")."""

from adapters.devices.mqtt.acl import DeviceCredentials, mosquitto_acl
from adapters.devices.mqtt.connection import MqttAccessDeniedError, MqttAuthError, MqttCem
from adapters.devices.mqtt.discovery import (
    DeviceDescription,
    cem_discovery_message,
    discovery_messages,
)
from adapters.devices.mqtt.driver import MqttDeviceDriver
from adapters.devices.mqtt.meter import MqttMeterDriver
from adapters.devices.mqtt.payloads import InvalidPayloadError, PlanStep, ReportedState
from adapters.devices.mqtt.settings import BrokerSettings
from adapters.devices.mqtt.sg_ready import SgReadyState, SgReadyThresholds, sg_ready_state
from adapters.devices.mqtt.topics import DeviceTopics, cem_availability_topic, device_topics

__all__ = [
    "BrokerSettings",
    "DeviceCredentials",
    "DeviceDescription",
    "DeviceTopics",
    "InvalidPayloadError",
    "MqttAccessDeniedError",
    "MqttAuthError",
    "MqttCem",
    "MqttDeviceDriver",
    "MqttMeterDriver",
    "PlanStep",
    "ReportedState",
    "SgReadyState",
    "SgReadyThresholds",
    "cem_availability_topic",
    "cem_discovery_message",
    "device_topics",
    "discovery_messages",
    "mosquitto_acl",
    "sg_ready_state",
]
