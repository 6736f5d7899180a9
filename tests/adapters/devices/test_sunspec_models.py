"""SunSpec layouts from pysunspec2's definitions, point decoding and encoding, and the model 124
window each battery setpoint becomes. Offsets are checked against the published register
tables (a SunSpec inverter at 40000: model 103's ``W`` at 40084 1-based with ``ID`` at 40070;
a meter's ``TotWhExp`` 20 registers after its ``W``)."""

from __future__ import annotations

import pytest

from adapters.devices.driver import Setpoint
from adapters.devices.sunspec import storage_command
from adapters.devices.sunspec.models import (
    GarbageValueError,
    ModelBlock,
    UnknownModelError,
    encode,
    model_def,
)


def test_layouts_match_the_published_register_tables() -> None:
    inverter = model_def(103)
    assert inverter.length == 50
    assert (inverter.point("W").offset, inverter.point("W_SF").offset) == (14, 15)
    storage = model_def(124)
    assert storage.length == 24
    offsets = {n: storage.point(n).offset for n in ("WChaMax", "StorCtl_Mod", "ChaState")}
    assert offsets == {"WChaMax": 2, "StorCtl_Mod": 5, "ChaState": 8}
    assert [storage.point(n).offset for n in ("OutWRte", "InWRte", "InOutWRte_RvrtTms")] == [
        12,
        13,
        15,
    ]
    assert storage.point("ChaGriSet").offset == 17
    assert storage.point("InWRte").writable
    assert not storage.point("ChaState").writable
    meter = model_def(203)
    assert meter.point("W").offset == 18
    assert meter.point("TotWhExp").offset == 38
    assert meter.point("TotWhExp").size == 2
    assert model_def(1).length == 66


def test_an_unknown_model_is_named() -> None:
    with pytest.raises(UnknownModelError, match="model 9999"):
        model_def(9999)
    with pytest.raises(KeyError, match="model 124 has no point 'Nope'"):
        model_def(124).point("Nope")


def _block(model_id: int, values: dict[str, list[int]]) -> ModelBlock:
    definition = model_def(model_id)
    registers = [0] * (definition.length + 2)
    for name, regs in values.items():
        offset = definition.point(name).offset
        registers[offset : offset + len(regs)] = regs
    return ModelBlock(definition, registers)


def test_points_decode_with_sign_and_scale_factor() -> None:
    block = _block(103, {"W": [0xFF38], "W_SF": [1], "WH": [0x0001, 0x0000], "WH_SF": [0]})
    assert block.integer("W") == -200
    assert block.value("W") == -2000.0
    assert block.value("WH") == 65536.0
    storage = _block(124, {"ChaState": [505], "ChaState_SF": [0xFFFF]})  # SF -1
    assert storage.value("ChaState") == pytest.approx(50.5)


def test_not_implemented_points_read_as_none() -> None:
    block = _block(103, {"W": [0x8000], "W_SF": [0], "Hz": [0xFFFF], "Hz_SF": [0]})
    assert block.value("W") is None
    assert block.value("Hz") is None
    unscaled = _block(103, {"W": [100], "W_SF": [0x8000]})
    assert unscaled.value("W") is None  # no scale factor: no value
    assert _block(203, {"TotWhImp": [0, 0], "TotWh_SF": [0]}).value("TotWhImp") is None


def test_strings_decode_without_padding() -> None:
    text = [int.from_bytes(b"Ac", "big"), int.from_bytes(b"me", "big")]
    assert _block(1, {"Mn": text}).text("Mn") == "Acme"


def test_encode_scales_and_refuses_what_does_not_fit() -> None:
    storage = _block(124, {"InOutWRte_SF": [0xFFFE]})  # SF -2
    assert encode(storage, "InWRte", 40.0) == [4000]
    assert encode(storage, "OutWRte", -43.48) == [(-4348) & 0xFFFF]
    with pytest.raises(ValueError, match="does not fit"):
        encode(storage, "InWRte", 400.0)
    with pytest.raises(ValueError, match="does not fit"):
        encode(storage, "InWRte", -327.68)  # the int16 "not implemented" value


@pytest.mark.parametrize(
    ("setpoint", "window"),
    [
        # a power held: the window [p, p], from the grid when charging
        (Setpoint(power_kw=2.0), (40.0, -2 / 4.6 * 100, True)),
        (Setpoint(power_kw=-2.3), (-46.0, 50.0, False)),
        (Setpoint(power_kw=0.0), (0.0, 0.0, False)),
        (Setpoint(power_kw=9.0), (100.0, -100.0, True)),  # clipped to the limits
        # following the site: a discharge cap, no charge unless storing a surplus
        (Setpoint(power_kw=-1.0, follow_site=True), (0.0, 1 / 4.6 * 100, False)),
        (
            Setpoint(power_kw=-1.0, follow_site=True, store_surplus=True),
            (100.0, 1 / 4.6 * 100, False),
        ),
        # following the site with a charge: store up to p, cover a deficit up to the limit
        (Setpoint(power_kw=1.5, follow_site=True), (30.0, 100.0, False)),
    ],
)
def test_each_setpoint_becomes_a_storage_window(
    setpoint: Setpoint, window: tuple[float, float, bool]
) -> None:
    cmd = storage_command(setpoint, max_charge_kw=5.0, max_discharge_kw=4.6)
    assert (cmd.in_pct, cmd.out_pct, cmd.grid_charging) == pytest.approx(window)


def test_a_scale_factor_outside_minus_ten_to_ten_is_garbage() -> None:
    with pytest.raises(GarbageValueError, match="W_SF = 11 is outside"):
        _block(103, {"W": [100], "W_SF": [11]}).value("W")
    assert _block(103, {"W": [1], "W_SF": [10]}).value("W") == 1e10


@pytest.mark.parametrize("seconds", [0, 0xFFFF, -5])
def test_both_drivers_refuse_a_revert_timeout_the_register_cannot_hold(seconds):
    """0 and 0xFFFF mean "never revert" to a SunSpec *_RvrtTms register: refused by both."""
    from adapters.devices.sunspec.battery import SunSpecBatteryDriver
    from adapters.devices.sunspec.pv import SunSpecPvDriver

    for driver in (SunSpecBatteryDriver, SunSpecPvDriver):
        with pytest.raises(ValueError, match="outside 1-65534 s"):
            driver("x", "127.0.0.1", revert_timeout_s=seconds)
    assert SunSpecPvDriver("pv", "127.0.0.1", revert_timeout_s=65534).revert_timeout_s == 65534
