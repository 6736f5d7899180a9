"""A simulated SunSpec device (the demo's and the device tests'): a pymodbus TCP server, run
as its own process, serving a battery inverter (models 1, 103, 121, 124) or a PV inverter (1,
103, 121, 123), each with the site's meter (203), built with pysunspec2's own model classes
(not the driver's layout code, so a layout mistake in the driver shows). ``--inverter``
serves 101, 102 or 701 in place of 103, ``--battery-802`` adds battery model 802 (its
capacity ``WHRtg``); ``--eastron`` serves an Eastron energy meter's float32 input registers
instead of SunSpec.

Physics: a home with a base load and PV behind one meter. The battery follows model 124 as an
inverter in self-consumption mode does: its power is the home's net surplus (charging) or net
load (discharging), bounded by the window the storage controls set (``InWRte`` / ``OutWRte``
as % of the maximum, a negative rate forcing the other direction), charging from the grid
only with ``ChaGriSet`` = GRID, within SoC 0..1 and the reserve; the window is dropped
(``StorCtl_Mod`` = 0) ``InOutWRte_RvrtTms`` seconds after the last write. The PV inverter
generates what the sky gives, capped by ``WMaxLimPct`` while enabled (reverted the same way).
Energy is integrated ``--speed`` times faster than wall time; timeouts run on wall time.

    python -m hems.simulation.protocols.sunspec_server --port N [--pv] [--inverter 103]
        [--no-storage] [--base 40000]
        [--marker 5375,6e54] [--storage-length L] [--w-sf 1] [--soc 0.5] [--load-w 1000]
        [--pv-w 0] [--speed 1] [--battery-802] [--eastron sdm630 [--garbage-float]]

Prints ``ready`` once listening. Commands on stdin, one a line:
``site LOAD_W PV_W``; ``soc FRACTION``; ``fault exception CODE`` (every request answered
with that Modbus exception); ``fault hang SECONDS`` (every request answered that late);
``fault none``; ``state`` (prints the physics as one JSON line). EOF on stdin stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from pymodbus.client import ModbusTcpClient
from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice
from sunspec2 import device as ss

CAPACITY_WH = 10_000.0
WCHA_MAX_W = 5000.0
WDISCHA_MAX_W = 4600.0  # model 121 WMax of the battery inverter
PV_WMAX_W = 4000.0
MIN_RESERVE_PCT = 10.0

EASTRON_POWER = {"sdm120": 0x000C, "sdm630": 0x0034}
"""Total active power's input register [W, float32] per Eastron model."""
EASTRON_IMPORT = 0x0048
"""Imported kWh (float32); exported kWh follows."""

# scale factors, chosen so the driver has to apply each sign of them
SF = {
    "W_SF": 1,  # inverter W in tens of watts
    "WMax_SF": 0,
    "WChaMax_SF": 1,
    "ChaState_SF": -1,
    "InOutWRte_SF": -2,
    "MinRsvPct_SF": 0,
    "WMaxLimPct_SF": -1,
    "meter_W_SF": 0,
    "TotWh_SF": 0,
}


@dataclass
class Model:
    """One model in the map: pysunspec2's model object and where it starts."""

    model_id: int
    obj: Any
    address: int = 0

    @property
    def length(self) -> int:
        return int(self.obj.points["L"].value)

    def offset(self, point: str) -> int:
        return self.address + int(self.obj.points[point].offset)


def build_model(model_id: int, values: dict[str, Any], length: int | None = None) -> Model:
    obj = ss.Model(model_id=model_id)
    for name, value in values.items():
        obj.points[name].value = round(value) if isinstance(value, float) else value
    if length is not None:
        obj.points["L"].value = length
    return Model(model_id, obj)


def encode_point(model: Model, name: str, raw: int) -> list[int]:
    point = model.obj.points[name]
    point.value = raw
    data: bytes = point.get_mb()
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


def decode_point(model: Model, name: str, registers: list[int], start: int) -> int:
    point = model.obj.points[name]
    i = model.offset(name) - start
    data = b"".join(r.to_bytes(2, "big") for r in registers[i : i + point.len])
    value: int = point.info.data_to(data)
    return value


@dataclass
class Site:
    """The home behind the meter and the device's state."""

    args: argparse.Namespace
    models: dict[int, Model]
    load_w: float = 1000.0
    pv_w: float = 0.0
    soc: float = 0.5
    import_wh: float = 0.0
    export_wh: float = 0.0
    t_last: float = field(default_factory=time.monotonic)
    # model 124 controls
    stor_ctl_mod: int = 0
    in_wrte_pct: float = 100.0
    out_wrte_pct: float = 100.0
    rvrt_s: int = 0
    grid_charging: bool = False
    storage_written_at: float | None = None
    # model 123 controls
    wmaxlim_ena: int = 0
    wmaxlim_pct: float = 100.0
    wmaxlim_rvrt_s: int = 0
    controls_written_at: float | None = None
    fault_code: int | None = None
    hang_s: float = 0.0

    @property
    def has_storage(self) -> bool:
        return 124 in self.models

    def battery_w(self) -> float:
        """Battery power, positive charging [W]."""
        if not self.has_storage:
            return 0.0
        rest = self.load_w - self.pv_gen_w()
        hi = WCHA_MAX_W * (self.in_wrte_pct / 100 if self.stor_ctl_mod & 1 else 1.0)
        lo = -WDISCHA_MAX_W * (self.out_wrte_pct / 100 if self.stor_ctl_mod & 2 else 1.0)
        lo = min(lo, hi)
        p = min(max(-rest, lo), hi)
        if p > 0 and not self.grid_charging:
            p = min(p, max(-rest, 0.0))  # from the PV only
        p = min(max(p, -WDISCHA_MAX_W), WCHA_MAX_W)
        if (p > 0 and self.soc >= 1.0) or (p < 0 and self.soc <= MIN_RESERVE_PCT / 100):
            return 0.0
        return p

    def pv_gen_w(self) -> float:
        if self.args.pv:
            cap = PV_WMAX_W * (self.wmaxlim_pct / 100 if self.wmaxlim_ena else 1.0)
            return min(self.pv_w, cap)
        return self.pv_w

    def meter_w(self) -> float:
        """Site import, positive importing [W]."""
        return self.load_w - self.pv_gen_w() + self.battery_w()

    def step(self, now: float) -> None:
        """Integrate energy to ``now``, dropping controls whose revert timeout passes."""
        while self.t_last < now:
            t_next = now
            deadlines = [d for d in (self._storage_deadline(), self._controls_deadline()) if d]
            for d in deadlines:
                if self.t_last < d <= t_next:
                    t_next = d
            hours = (t_next - self.t_last) * self.args.speed / 3600
            p = self.battery_w()
            m = self.meter_w()
            soc = self.soc + p * hours / CAPACITY_WH
            floor = min(self.soc, MIN_RESERVE_PCT / 100)  # a discharge stops at the reserve
            self.soc = min(max(soc, floor), 1.0)
            self.import_wh += max(m, 0.0) * hours
            self.export_wh += max(-m, 0.0) * hours
            self.t_last = t_next
            if (self._storage_deadline() or float("inf")) <= t_next:
                self.stor_ctl_mod = 0
                self.storage_written_at = None
            if (self._controls_deadline() or float("inf")) <= t_next:
                self.wmaxlim_ena = 0
                self.controls_written_at = None

    def _storage_deadline(self) -> float | None:
        if self.storage_written_at is None or not self.rvrt_s or not self.stor_ctl_mod:
            return None
        return self.storage_written_at + self.rvrt_s

    def _controls_deadline(self) -> float | None:
        if self.controls_written_at is None or not self.wmaxlim_rvrt_s or not self.wmaxlim_ena:
            return None
        return self.controls_written_at + self.wmaxlim_rvrt_s

    def render(self, registers: list[int], start: int) -> None:
        """Write the measured points into the register block."""
        if self.args.eastron:
            self.render_eastron(registers)
            return

        def put(model_id: int, name: str, raw: float) -> None:
            model = self.models.get(model_id)
            if model is None:
                return
            i = model.offset(name) - start
            regs = encode_point(model, name, round(raw))
            registers[i : i + len(regs)] = regs

        p = self.battery_w()
        inverter_w = -p if self.has_storage else self.pv_gen_w()
        if -10 <= self.args.w_sf <= 10:
            put(self.args.inverter, "W", inverter_w / 10**self.args.w_sf)
        put(124, "ChaState", self.soc * 100 / 10 ** SF["ChaState_SF"])
        cha_st = 4 if p > 0 else 3 if p < 0 else 5 if self.soc >= 1 else 6
        put(124, "ChaSt", cha_st)
        put(124, "StorCtl_Mod", self.stor_ctl_mod)
        put(123, "WMaxLim_Ena", self.wmaxlim_ena)
        put(203, "W", self.meter_w())
        put(203, "TotWhImp", max(self.import_wh, 1))
        put(203, "TotWhExp", max(self.export_wh, 1))

    def render_eastron(self, registers: list[int]) -> None:
        """An Eastron meter's float32 input registers: power, imported and exported kWh."""
        power_register = EASTRON_POWER[self.args.eastron]
        power = float("nan") if self.args.garbage_float else self.meter_w()
        for register, value in (
            (power_register, power),
            (EASTRON_IMPORT, self.import_wh / 1000),
            (EASTRON_IMPORT + 2, self.export_wh / 1000),
        ):
            registers[register : register + 2] = ModbusTcpClient.convert_to_registers(
                value, ModbusTcpClient.DATATYPE.FLOAT32
            )

    def take_writes(
        self, registers: list[int], start: int, address: int, values: list[int]
    ) -> ExcCodes | None:
        """Check and apply a write (before pymodbus stores it)."""
        for i, v in enumerate(values):
            if not self._writable(address + i):
                return ExcCodes.ILLEGAL_ADDRESS
            registers[address + i - start] = v
        now = time.monotonic()
        storage = self.models.get(124)
        if storage is not None and self._touches(storage, address, len(values)):
            mod = decode_point(storage, "StorCtl_Mod", registers, start)
            in_raw = decode_point(storage, "InWRte", registers, start)
            out_raw = decode_point(storage, "OutWRte", registers, start)
            scale = 10 ** SF["InOutWRte_SF"]
            if mod > 3 or abs(in_raw * scale) > 100 or abs(out_raw * scale) > 100:
                return ExcCodes.ILLEGAL_VALUE
            self.stor_ctl_mod = mod
            self.in_wrte_pct = in_raw * scale
            self.out_wrte_pct = out_raw * scale
            self.rvrt_s = decode_point(storage, "InOutWRte_RvrtTms", registers, start)
            self.grid_charging = decode_point(storage, "ChaGriSet", registers, start) == 1
            self.storage_written_at = now
        controls = self.models.get(123)
        if controls is not None and self._touches(controls, address, len(values)):
            pct = decode_point(controls, "WMaxLimPct", registers, start) * 10 ** SF["WMaxLimPct_SF"]
            if pct > 100:
                return ExcCodes.ILLEGAL_VALUE
            self.wmaxlim_pct = pct
            self.wmaxlim_ena = decode_point(controls, "WMaxLim_Ena", registers, start)
            self.wmaxlim_rvrt_s = decode_point(controls, "WMaxLimPct_RvrtTms", registers, start)
            self.controls_written_at = now
        return None

    def _touches(self, model: Model, address: int, count: int) -> bool:
        return address < model.address + 2 + model.length and address + count > model.address

    def _writable(self, address: int) -> bool:
        for model in self.models.values():
            for point in model.obj.points.values():
                start = model.address + int(point.offset)
                if start <= address < start + int(point.len):
                    return bool(point.pdef.get("access") == "RW")
        return False

    async def action(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        if self.hang_s:
            await asyncio.sleep(self.hang_s)
        if self.fault_code is not None:
            return ExcCodes(self.fault_code)
        self.step(time.monotonic())
        if set_values:
            result = self.take_writes(
                registers, start_address, address, [int(v) for v in set_values]
            )
            if result is not None:
                return result
        self.render(registers, start_address)
        return None

    def state(self) -> dict[str, Any]:
        self.step(time.monotonic())
        return {
            "soc": self.soc,
            "battery_w": self.battery_w(),
            "pv_gen_w": self.pv_gen_w(),
            "meter_w": self.meter_w(),
            "import_wh": self.import_wh,
            "export_wh": self.export_wh,
            "stor_ctl_mod": self.stor_ctl_mod,
            "in_wrte_pct": self.in_wrte_pct,
            "out_wrte_pct": self.out_wrte_pct,
            "rvrt_s": self.rvrt_s,
            "grid_charging": self.grid_charging,
            "wmaxlim_ena": self.wmaxlim_ena,
            "wmaxlim_pct": self.wmaxlim_pct,
        }


def storage_model(args: argparse.Namespace) -> Model:
    """Storage model 124 of the battery inverter (its WChaMax as ``--wcha-max-w`` gives)."""
    return build_model(
        124,
        {
            "WChaMax": round(args.wcha_max_w / 10 ** SF["WChaMax_SF"]),
            "WChaMax_SF": SF["WChaMax_SF"],
            "StorCtl_Mod": 0,
            "MinRsvPct": round(MIN_RESERVE_PCT),
            "MinRsvPct_SF": SF["MinRsvPct_SF"],
            "ChaState": 0,
            "ChaState_SF": SF["ChaState_SF"],
            "ChaSt": 6,
            "OutWRte": 10000,
            "InWRte": 10000,
            "InOutWRte_WinTms": 0,
            "InOutWRte_RvrtTms": 0,
            "InOutWRte_RmpTms": 0,
            "ChaGriSet": 0,
            "InOutWRte_SF": SF["InOutWRte_SF"],
        },
        length=args.storage_length,
    )


def build_map(args: argparse.Namespace) -> tuple[list[int], dict[int, Model]]:
    """The registers from ``args.base`` and the models in them (an Eastron meter: 80 input
    registers from 0, no models)."""
    if args.eastron:
        return [0] * 80, {}
    common = build_model(
        1,
        {
            "Mn": "Acme Energy",
            "Md": "SimBattery 10" if not args.pv else "SimPV 4",
            "SN": "SIM-0001",
            "Vr": "1.2.3",
            "DA": 1,
        },
    )
    inverter = build_model(args.inverter, {"W_SF": args.w_sf, "W": 0})
    settings = build_model(
        121, {"WMax": PV_WMAX_W if args.pv else WDISCHA_MAX_W, "WMax_SF": args.wmax_sf}
    )
    chain = [common, inverter, settings]
    if args.pv:
        chain.append(
            build_model(
                123,
                {
                    "WMaxLimPct": 1000,
                    "WMaxLim_Ena": 0,
                    "WMaxLimPct_SF": SF["WMaxLimPct_SF"],
                    "WMaxLimPct_WinTms": 0,
                    "WMaxLimPct_RvrtTms": 0,
                    "WMaxLimPct_RmpTms": 0,
                },
            )
        )
    elif not args.no_storage:
        chain.append(storage_model(args))
    if args.battery_802:
        chain.append(build_model(802, {"WHRtg": round(CAPACITY_WH / 10), "WHRtg_SF": 1}))
    chain.append(
        build_model(
            203,
            {
                "W_SF": SF["meter_W_SF"],
                "TotWh_SF": SF["TotWh_SF"],
                "W": 0,
                "TotWhImp": 1,
                "TotWhExp": 1,
            },
        )
    )
    marker = [int(x, 16) for x in args.marker.split(",")]
    registers = list(marker)
    models: dict[int, Model] = {}
    for model in chain:
        model.address = args.base + len(registers)
        models[model.model_id] = model
        data: bytes = model.obj.get_mb()
        regs = [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]
        registers.extend(regs)
        if model.length + 2 > len(regs):  # a declared length past what is there
            break
    else:
        registers.extend([0xFFFF, 0])
    return registers, models


async def serve(args: argparse.Namespace) -> None:
    registers, models = build_map(args)
    site = Site(args, models, load_w=args.load_w, pv_w=args.pv_w, soc=args.soc)
    device = SimDevice(
        id=1,
        simdata=[
            SimData(0 if args.eastron else args.base, values=registers, datatype=DataType.REGISTERS)
        ],
        action=site.action,
    )
    server = ModbusTcpServer(device, address=("127.0.0.1", args.port))
    await server.serve_forever(background=True)  # listening when it returns
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        words = line.split()
        if not words:
            continue
        if words[0] == "site":
            site.step(time.monotonic())
            site.load_w, site.pv_w = float(words[1]), float(words[2])
        elif words[0] == "soc":
            site.step(time.monotonic())
            site.soc = float(words[1])
        elif words[0] == "fault":
            site.fault_code = int(words[2]) if words[1] == "exception" else None
            site.hang_s = float(words[2]) if words[1] == "hang" else 0.0
        elif words[0] == "state":
            print(json.dumps(site.state()), flush=True)
    await server.shutdown()  # type: ignore[no-untyped-call]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--base", type=int, default=40000)
    parser.add_argument("--marker", default="5375,6e53")
    parser.add_argument("--pv", action="store_true")
    parser.add_argument("--w-sf", type=int, default=SF["W_SF"])
    parser.add_argument("--battery-802", action="store_true")
    # nonsense nameplates: WChaMax as given (0: none), model 121's WMax scaled by 10^N
    parser.add_argument("--wcha-max-w", type=float, default=WCHA_MAX_W)
    parser.add_argument("--wmax-sf", type=int, default=SF["WMax_SF"])
    parser.add_argument("--eastron", choices=sorted(EASTRON_POWER), default=None)
    parser.add_argument("--garbage-float", action="store_true")
    parser.add_argument("--inverter", type=int, choices=(101, 102, 103, 701), default=103)
    parser.add_argument("--no-storage", action="store_true")
    parser.add_argument("--storage-length", type=int, default=None)
    parser.add_argument("--soc", type=float, default=0.5)
    parser.add_argument("--load-w", type=float, default=1000.0)
    parser.add_argument("--pv-w", type=float, default=0.0)
    parser.add_argument("--speed", type=float, default=1.0)
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
