"""The vocabulary the four packages share: the time grid, the DSR vocabulary, the device
state and setpoint, the errors they have in common.

``optimiser``, ``forecasts``, ``adapters`` and ``hems`` all import this package; it imports
none of them (an import-linter contract and ``tests/test_import_rules.py`` check it), only the
standard library and pandas. A type lives here when more than one package needs it, so no
package copies another's type or passes it across as a string.
"""

from kernel.devices import DeviceState, DeviceUnavailableError, Setpoint
from kernel.dsr import SITE, DsrKind, OptType
from kernel.errors import ProblemError
from kernel.timegrid import ALLOWED_STEPS_MINUTES, UK_TIMEZONE, TimeGrid, grid_index

__all__ = [
    "ALLOWED_STEPS_MINUTES",
    "SITE",
    "UK_TIMEZONE",
    "DeviceState",
    "DeviceUnavailableError",
    "DsrKind",
    "OptType",
    "ProblemError",
    "Setpoint",
    "TimeGrid",
    "grid_index",
]
