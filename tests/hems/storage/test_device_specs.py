"""Device specs stored before a field was added are read with the field's default: a heat
pump stored without ``min_power_kw``, ``modulating``, ``min_run_minutes`` and
``min_off_minutes`` is a modulating unit down to off, as it was planned when stored."""

from __future__ import annotations

from sqlalchemy import update

from hems.demo import demo_home_spec
from hems.domain.devices import HeatPumpSpec
from hems.storage.tables import DeviceRow

from ..conftest import MONDAY_5PM

# a heat pump's spec as the service stored it before the on/off fields
OLD_HEAT_PUMP_SPEC = {
    "name": "Heat pump",
    "kind": "heat_pump",
    "max_power_kw": 3.0,
    "heat_loss_kw_per_k": 0.18,
    "thermal_capacity_kwh_per_k": 9.0,
    "internal_gain_kw": 0.3,
    "hplib_p1": -40.3607005486704,
    "hplib_p2": -0.042594098129816,
    "hplib_p3": 4.862191860731595,
    "hplib_p4": 40.502337728959205,
}


def test_a_heat_pump_stored_without_the_on_off_fields_reads_as_a_modulating_unit(store):
    home_id = store.create_home(demo_home_spec("OLD-1"), MONDAY_5PM, "test")
    with store.engine.begin() as conn:
        row = (DeviceRow.home_id == home_id) & (DeviceRow.kind == "heat_pump")
        updated = conn.execute(update(DeviceRow).where(row).values(spec=OLD_HEAT_PUMP_SPEC))
        assert updated.rowcount == 1
    (heat_pump,) = [d for d in store.home(home_id).devices if isinstance(d, HeatPumpSpec)]
    assert heat_pump.max_power_kw == 3.0
    assert (heat_pump.min_power_kw, heat_pump.modulating) == (0.0, True)
    assert (heat_pump.min_run_minutes, heat_pump.min_off_minutes) == (0.0, 0.0)
