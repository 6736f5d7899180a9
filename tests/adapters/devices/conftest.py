"""Fixtures shared by the device adapter tests: a real Mosquitto broker for the MQTT tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.adapters.devices.mqtt_peers import Broker, running_broker


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """A started broker in the test's own folder, stopped after the test."""
    yield from running_broker(tmp_path)
