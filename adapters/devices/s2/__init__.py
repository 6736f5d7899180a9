"""Batteries and heat pumps over S2 (EN 50491-12-2), the CEM side, with s2-python's messages
(docs/devices.md)."""

from adapters.devices.s2.cem import RmEvent, S2Cem
from adapters.devices.s2.driver import ResourceIdentity, S2FrbcDriver
from adapters.devices.s2.frbc import PlanStep
from adapters.devices.s2.messages import InvalidS2MessageError, parse_message
from adapters.devices.s2.session import SUPPORTED_VERSIONS, RmSession, S2RefusedError
from adapters.devices.s2.settings import (
    CemSettings,
    ResourceManagerSettings,
    TlsServerSettings,
    hash_token,
)

__all__ = [
    "SUPPORTED_VERSIONS",
    "CemSettings",
    "InvalidS2MessageError",
    "PlanStep",
    "ResourceIdentity",
    "ResourceManagerSettings",
    "RmEvent",
    "RmSession",
    "S2Cem",
    "S2FrbcDriver",
    "S2RefusedError",
    "TlsServerSettings",
    "hash_token",
    "parse_message",
]
