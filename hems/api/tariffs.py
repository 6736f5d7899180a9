"""Which tariff suits this home (:mod:`hems.usecases.tariff_comparison`): computed in the
background, answered 202 while it runs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response, status

from hems.api.auth import HomeId, Service
from hems.api.errors import HOME, responses
from hems.usecases import homes, preferences
from hems.usecases.tariff_comparison import TariffComparisons

router = APIRouter(tags=["tariffs"])


@router.get(
    "/homes/{home_id}/tariff-comparison",
    responses={**responses(HOME), 202: {"description": "computing: ask again in a minute"}},
)
def tariff_comparison(
    home_id: HomeId, service: Service, request: Request, response: Response
) -> dict[str, Any]:
    """The home's bill on each tariff product with the planner and with the tariff's natural
    baseline (rule-based timers), over two days of the bundled sample at hourly slots, cheapest
    planner total first (``tariffs``: energy bills, standing charges, totals [GBP]). The first
    ask starts the computation (about half a minute) and is answered 202 ``computing``; the
    table is kept for a day, or until the home's tariff or preferences change."""
    comparisons: TariffComparisons = request.app.state.tariff_comparisons
    comparison = comparisons.ask(
        home_id, homes.home(service, home_id), preferences.preferences(service, home_id)
    )
    if comparison.status == "computing":
        response.status_code = status.HTTP_202_ACCEPTED
        response.headers["Retry-After"] = "30"
    return comparison.answer()
