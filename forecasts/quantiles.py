"""The shape of a probabilistic forecast: P10 / P50 / P90 series on the grid."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd


@dataclass(frozen=True, slots=True)
class QuantileForecast:
    """P10, P50 and P90 of one quantity on the grid, issued at ``issued_at_utc``.

    The three series share the grid's tz-aware UTC index and carry the quantity's name with its
    unit and the quantile (``base_load_kw_p50``). ``p10 <= p50 <= p90`` slot by slot.

    Attributes:
        p10: the value exceeded with 90 % probability.
        p50: the median; what the planner plans on.
        p90: the value exceeded with 10 % probability.
        issued_at_utc: the latest information the forecast could use.
        method: a short description for logs and reports.
    """

    p10: pd.Series
    p50: pd.Series
    p90: pd.Series
    issued_at_utc: datetime
    method: str

    def __post_init__(self) -> None:
        if not (self.p10.index.equals(self.p50.index) and self.p50.index.equals(self.p90.index)):
            raise ValueError("p10, p50 and p90 must share one index")
        tol = 1e-9
        ok = (self.p10.to_numpy() <= self.p50.to_numpy() + tol) & (
            self.p50.to_numpy() <= self.p90.to_numpy() + tol
        )
        if not np.all(ok):
            raise ValueError("quantiles must satisfy p10 <= p50 <= p90")

    def frame(self) -> pd.DataFrame:
        """The three quantiles as columns."""
        return pd.concat([self.p10, self.p50, self.p90], axis=1)


def named_quantiles(
    name: str, index: pd.DatetimeIndex, p10: np.ndarray, p50: np.ndarray, p90: np.ndarray
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Three series ``{name}_p10/_p50/_p90``, sorted so that p10 <= p50 <= p90."""
    stacked = np.sort(np.vstack([p10, p50, p90]), axis=0)
    return (
        pd.Series(stacked[0], index=index, name=f"{name}_p10"),
        pd.Series(stacked[1], index=index, name=f"{name}_p50"),
        pd.Series(stacked[2], index=index, name=f"{name}_p90"),
    )


def column_quantiles(samples: np.ndarray, qs: tuple[float, ...]) -> np.ndarray:
    """Quantiles ``qs`` of each column of ``samples`` ignoring NaN (linear interpolation, as
    ``numpy.nanquantile``, but vectorised: that one loops in Python over columns).

    Returns an array of shape ``(len(qs), n_columns)``; NaN for a column with no sample.
    """
    ordered = np.sort(samples, axis=0)  # NaN sort last
    count = np.sum(~np.isnan(samples), axis=0)
    out = np.full((len(qs), samples.shape[1]), np.nan)
    has = count > 0
    for i, q in enumerate(qs):
        position = q * (count[has] - 1)
        lo = np.floor(position).astype(np.int64)
        hi = np.minimum(lo + 1, count[has] - 1)
        columns = np.flatnonzero(has)
        low = ordered[lo, columns]
        high = ordered[hi, columns]
        out[i, has] = low + (high - low) * (position - lo)
    return out
