"""Heat pump coefficient of performance (COP) as a function of outdoor temperature.

Two forms:

* :class:`CopCurve`: points ``(outdoor temperature [°C], COP)`` interpolated linearly and held
  flat beyond the ends (a manufacturer's table);
* :class:`HplibCop`: the hplib fitted model for air/water heat pumps,
  ``COP = p1·T_source + p2·T_flow + p3 + p4·T_ambient`` with temperatures in °C, where for an air
  source ``T_source = T_ambient = T_outdoor``. The parameters of 511 models (Heat Pump Keymark,
  hplib database, CC BY 4.0) are columns ``p1_COP [-]`` ... ``p4_COP [-]``.

COPs are floored at 1.0 (a heat pump is never worse than a resistive heater in this model).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from kernel.errors import ProblemError
from optimiser.checks import FloatArray, number

MIN_COP = 1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class CopCurve:
    """COP by outdoor temperature, interpolated linearly.

    Attributes:
        outdoor_temperature_c: increasing temperatures [°C].
        cop: COP at each temperature [-], > 0.
    """

    outdoor_temperature_c: tuple[float, ...]
    cop: tuple[float, ...]

    def check(self, where: str) -> None:
        if len(self.outdoor_temperature_c) != len(self.cop) or not self.cop:
            raise ProblemError(
                where, "outdoor_temperature_c and cop need the same, non-zero length"
            )
        if any(
            b <= a
            for a, b in zip(
                self.outdoor_temperature_c, self.outdoor_temperature_c[1:], strict=False
            )
        ):
            raise ProblemError(where, "outdoor_temperature_c must be strictly increasing")
        for c in self.cop:
            number(f"{where}.cop", c, minimum=0, strict_minimum=True)

    def cop_at(self, outdoor_temperature_c: FloatArray) -> FloatArray:
        """COP [-] at each outdoor temperature [°C]."""
        cop = np.interp(outdoor_temperature_c, self.outdoor_temperature_c, self.cop)
        return np.maximum(cop, MIN_COP)


@dataclass(frozen=True, slots=True, kw_only=True)
class HplibCop:
    """hplib's fitted COP model for an air/water heat pump at a given flow temperature.

    Attributes:
        p1, p2, p3, p4: fitted parameters (hplib columns ``p1_COP [-]`` ... ``p4_COP [-]``).
        flow_temperature_c: supply (flow) temperature [°C]: ~35 for underfloor, ~50-55 for
            radiators and hot water.
    """

    p1: float
    p2: float
    p3: float
    p4: float
    flow_temperature_c: float = 35.0

    @classmethod
    def from_hplib_row(
        cls, row: Mapping[str, object], flow_temperature_c: float = 35.0
    ) -> HplibCop:
        """From one row of the hplib database (a mapping of its column names)."""
        try:
            return cls(
                p1=float(row["p1_COP [-]"]),  # type: ignore[arg-type]
                p2=float(row["p2_COP [-]"]),  # type: ignore[arg-type]
                p3=float(row["p3_COP [-]"]),  # type: ignore[arg-type]
                p4=float(row["p4_COP [-]"]),  # type: ignore[arg-type]
                flow_temperature_c=flow_temperature_c,
            )
        except KeyError as exc:
            raise ProblemError("hplib row", f"missing column {exc}") from exc

    def with_flow_temperature(self, flow_temperature_c: float) -> HplibCop:
        return HplibCop(
            p1=self.p1, p2=self.p2, p3=self.p3, p4=self.p4, flow_temperature_c=flow_temperature_c
        )

    def check(self, where: str) -> None:
        for name in ("p1", "p2", "p3", "p4", "flow_temperature_c"):
            number(f"{where}.{name}", getattr(self, name))

    def cop_at(self, outdoor_temperature_c: FloatArray) -> FloatArray:
        """COP [-] at each outdoor temperature [°C]."""
        t = np.asarray(outdoor_temperature_c, dtype=np.float64)
        cop = self.p1 * t + self.p2 * self.flow_temperature_c + self.p3 + self.p4 * t
        return np.maximum(cop, MIN_COP)


CopModel = CopCurve | HplibCop
