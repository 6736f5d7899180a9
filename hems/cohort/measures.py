"""How the cohort's plans add up on the network: its import per slot, its peak, and how much
of its flexible load lands in the same slot (docs/cohort.md).

* **Flexible power** of a home: what its flexible devices draw per slot (EVs, heat pumps,
  deferrable appliances and batteries while charging; PV and the base load are not flexible),
  each device's ``<name>.power_kw`` column of the plan clipped at 0.
* **Herding index**: the cohort's flexible power in its busiest slot over its mean over the
  horizon, ``H = max_t F_t / mean_t F_t`` where ``F_t`` is the sum over homes. 1 is an even
  spread; ``T`` (the number of slots) is every kWh in one slot. Equivalently ``T`` times the
  share of the flexible energy in the busiest slot (``busiest_slot_share``).
* **Coincidence factor**: the cohort's peak import over the sum of each home's own peak
  import (the distribution planner's diversity measure, 1 / diversity factor): 1 when every
  home peaks in the same slot.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from optimiser import Problem, PvArray

FloatArray = npt.NDArray[np.float64]

IMPORT_COLUMN = "grid_import_kw"


@dataclass(frozen=True, slots=True, kw_only=True)
class CohortMeasures:
    """The cohort's planned import and herding over one horizon (powers [kW], slot averages)."""

    homes: int
    import_kw: FloatArray
    """The cohort's import per slot (sum over homes)."""
    flexible_kw: FloatArray
    """The cohort's flexible power per slot (sum over homes)."""
    peak_import_kw: float
    peak_slot: int | None
    """The slot of the peak import (None for an empty cohort or horizon)."""
    herding_index: float | None
    """``max_t F_t / mean_t F_t`` (None without flexible energy)."""
    busiest_slot_share: float | None
    """The share of the flexible energy in the busiest slot (None without flexible energy)."""
    coincidence_factor: float | None
    """Cohort peak import / sum of the homes' own peaks (None when no home imports)."""

    def as_json(self) -> dict[str, object]:
        return {
            "homes": self.homes,
            "import_kw": [round(float(x), 3) for x in self.import_kw],
            "flexible_kw": [round(float(x), 3) for x in self.flexible_kw],
            "peak_import_kw": round(self.peak_import_kw, 3),
            "peak_slot": self.peak_slot,
            "herding_index": _rounded(self.herding_index),
            "busiest_slot_share": _rounded(self.busiest_slot_share),
            "coincidence_factor": _rounded(self.coincidence_factor),
        }


def _rounded(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def flexible_names(problem: Problem) -> tuple[str, ...]:
    """The names of a problem's flexible assets (every asset but PV)."""
    return tuple(a.name for a in problem.assets if not isinstance(a, PvArray))


def flexible_kw(schedule: pd.DataFrame, devices: Iterable[str]) -> FloatArray:
    """A plan's flexible power per slot [kW]: its flexible devices' draws, clipped at 0 (a
    battery discharging or a V2G car supplying the home is not flexible load; an unknown
    value, NaN, counts as no draw: JSON, where plans are stored, has no NaN)."""
    out = np.zeros(len(schedule))
    for name in devices:
        column = f"{name}.power_kw"
        if column in schedule:
            draw = np.nan_to_num(schedule[column].to_numpy(dtype=np.float64), nan=0.0)
            out += np.clip(draw, 0.0, None)
    return out


def device_draws_kw(schedule: pd.DataFrame) -> FloatArray:
    """Every device's draw per slot, summed, each clipped at 0 [kW]: a plan's flexible power
    when its device names are not at hand (PV's negative power clips to nothing, so only
    its flexible devices count)."""
    columns = [c for c in schedule.columns if c.endswith(".power_kw")]
    return flexible_kw(schedule, [c.removesuffix(".power_kw") for c in columns])


def import_kw(schedule: pd.DataFrame) -> FloatArray:
    """A plan's grid import per slot [kW] (an unknown value counts as none)."""
    return np.asarray(
        np.nan_to_num(schedule[IMPORT_COLUMN].to_numpy(dtype=np.float64), nan=0.0), dtype=np.float64
    )


def cohort_measures(
    imports_kw: Sequence[FloatArray] | FloatArray, flexibles_kw: Sequence[FloatArray] | FloatArray
) -> CohortMeasures:
    """The measures of a cohort from each home's import and flexible power per slot (one row
    per home, every row on the same slots)."""
    imports = _matrix(imports_kw)
    flexible = _matrix(flexibles_kw)
    if imports.shape != flexible.shape:
        raise ValueError(
            f"import {imports.shape} and flexible power {flexible.shape} differ in shape"
        )
    total = imports.sum(axis=0)
    flex = flexible.sum(axis=0)
    n_slots = total.size
    peak = float(total.max()) if n_slots else 0.0
    flex_energy = float(flex.sum())
    herding = share = None
    if n_slots and flex_energy > 1e-9:
        share = float(flex.max()) / flex_energy
        herding = share * n_slots
    own_peaks = float(imports.max(axis=1).clip(min=0).sum()) if n_slots else 0.0
    return CohortMeasures(
        homes=imports.shape[0],
        import_kw=total,
        flexible_kw=flex,
        peak_import_kw=peak,
        peak_slot=int(np.argmax(total)) if n_slots else None,
        herding_index=herding,
        busiest_slot_share=share,
        coincidence_factor=peak / own_peaks if own_peaks > 1e-9 else None,
    )


def _matrix(rows: Sequence[FloatArray] | FloatArray) -> FloatArray:
    """Rows of equal length as a (homes, slots) array; no rows: a (0, 0) array."""
    if len(rows) == 0:
        return np.zeros((0, 0))
    return np.asarray(np.vstack([np.asarray(r, dtype=np.float64) for r in rows]))


def aligned(series: Sequence[pd.Series]) -> list[FloatArray]:
    """Per-slot series of several homes (index: slot starts) on their common slots: plans made
    at different moments overlap only on the later ones' slots. Slots any home lacks are
    dropped, so every row has the same length (empty when they share none)."""
    if not series:
        return []
    common = series[0].index
    for s in series[1:]:
        common = common.intersection(s.index)
    return [s.reindex(common).to_numpy(dtype=np.float64) for s in series]
