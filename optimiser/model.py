"""Build the Pyomo model of a :class:`Problem`: one block per asset, the site, the objective.

``build_model`` never solves. Site maths (slot t, step Δ [h]):

* balance: ``i_t - x_t = L_t + Σ consumption_t - Σ supply_t`` (import, export, base load,
  devices' consumption and supply, each >= 0 [kW]);
* limits: ``0 <= i_t <= Ī``, ``0 <= x_t <= X̄``; in the planner's binary slots
  ``i_t <= Ī y_t``, ``x_t <= X̄ (1 - y_t)`` (no simultaneous import and export), with the
  cover rows ``i_t <= L_t y_t + Σ consumption_t`` and ``x_t <= Σ supply_t - L_t (1 - y_t)``:
  valid for every plan without simultaneous import and export (with ``y_t = 1``, ``x_t = 0``
  and ``i_t = L_t + Σ consumption_t - Σ supply_t``; with ``y_t = 0`` the mirror image; all
  terms and ``L_t`` >= 0), they cut off the relaxation's buy-and-sell in one slot, which made
  the LP bound of a June night plan (export paying more than Agile) ~6 % loose; with them it
  is within ~0.05 % (docs/performance.md);
* if an asset may not export: ``x_t <= Σ PV_t + Σ exportable discharge_t``;
* objective [GBP]: ``Σ_t Δ (π^i_t i_t - π^x_t x_t + w·c_t/1000·i_t)`` + asset terms + penalties
  + extension terms, where ``w`` is the carbon weight [GBP/kg] and ``c_t`` the intensity [g/kWh].
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pyomo.environ as pyo

from optimiser.context import BinarySlots, ModelContext, ModelExtension
from optimiser.dsr import add_dsr_constraints
from optimiser.problem import Problem
from optimiser.registry import ASSET_KINDS

GRID_BINARY_KEY = "grid"
COVER_MAX_PAID_SHARE = 0.1
"""Largest share of slots paying to import for which the grid's cover rows are added."""


@dataclass(slots=True)
class BuiltModel:
    """A built model and its build context."""

    model: pyo.ConcreteModel
    context: ModelContext

    @property
    def blocks(self) -> dict[str, pyo.Block]:
        """Each asset's block by the asset's name."""
        return self.context.blocks


def build_model(
    problem: Problem,
    binary_slots: BinarySlots | None = None,
    extensions: Sequence[ModelExtension] = (),
    *,
    dense_evs: bool = False,
) -> BuiltModel:
    """Build (not solve) the model. ``binary_slots`` chooses where no-simultaneity and
    minimum-power binaries exist; ``extensions`` run after the assets, before the objective;
    ``dense_evs`` lays EVs over every slot (:mod:`optimiser.components.ev_dense`, a persistent
    model's form)."""
    model = pyo.ConcreteModel(name="home")
    ctx = ModelContext.empty(model, problem, binary_slots or BinarySlots())
    ctx.dense_evs = dense_evs
    built = BuiltModel(model=model, context=ctx)
    for kind in ASSET_KINDS:
        for i, asset in enumerate(kind.assets(problem)):
            ctx.blocks[asset.name] = kind.build(ctx, asset, f"{kind.block_prefix}_{i}")
    _add_site(ctx)
    for extension in extensions:
        extension(ctx)
    model.objective = pyo.Objective(expr=pyo.quicksum(ctx.cost_terms), sense=pyo.minimize)
    return built


def _add_site(ctx: ModelContext) -> None:
    m, p = ctx.model, ctx.problem
    n, dt = ctx.n_steps, ctx.step_h
    slots = range(n)
    m.import_kw = pyo.Var(ctx.time_set, bounds=(0.0, p.import_limit_kw), doc="grid import [kW]")
    m.export_kw = pyo.Var(ctx.time_set, bounds=(0.0, p.export_limit_kw), doc="grid export [kW]")
    load = p.base_load
    consumption, supply = ctx.consumption_terms_kw, ctx.supply_terms_kw
    # No cover rows when over COVER_MAX_PAID_SHARE of the slots pay to import (days of negative
    # prices): the batteries' binaries in those slots leave the relaxation loose anyway (it
    # burns energy), the dive cannot close, and the rows made those ~90-binary MIPs ~40 %
    # slower in HiGHS (docs/performance.md). A few negative slots keep them.
    price_in = p.effective_import_price
    cover = float((price_in <= 0).mean()) <= COVER_MAX_PAID_SHARE
    m.balance = pyo.Constraint(
        ctx.time_set,
        rule=lambda _m, t: (
            m.import_kw[t] - m.export_kw[t] - sum(consumption[t]) + sum(supply[t]) == float(load[t])
        ),
        doc="site power balance [kW]",
    )
    m.importing = pyo.Var(ctx.time_set, domain=pyo.Binary, dense=False, doc="1 = may import")
    m.import_mode = pyo.Constraint(ctx.time_set)
    m.export_mode = pyo.Constraint(ctx.time_set)
    m.import_cover = pyo.Constraint(ctx.time_set, doc="import <= base load + consumption")
    m.export_cover = pyo.Constraint(ctx.time_set, doc="export <= supply")

    def add_grid_binaries(new: list[int]) -> None:
        # the problem's data and limits as they are when the binaries are added: a persistent
        # model (optimiser.model_cache) adds them for each new problem of the same shape
        now = ctx.problem
        load = now.base_load
        for t in new:
            y = m.importing[t]
            ctx.add_mode_binary(y, m.import_kw[t], m.export_kw[t])
            m.import_mode[t] = m.import_kw[t] <= now.import_limit_kw * y
            m.export_mode[t] = m.export_kw[t] <= now.export_limit_kw * (1 - y)
            if cover:
                m.import_cover[t] = m.import_kw[t] <= float(load[t]) * y + sum(consumption[t])
                m.export_cover[t] = m.export_kw[t] <= sum(supply[t]) - float(load[t]) * (1 - y)

    ctx.register_binaries(GRID_BINARY_KEY, add_grid_binaries)
    if ctx.export_restricted:
        m.export_sources = pyo.Constraint(
            ctx.time_set,
            rule=lambda _m, t: (
                m.export_kw[t]
                <= sum(ctx.generation_terms_kw[t]) + sum(ctx.export_source_terms_kw[t])
            ),
            doc="only PV and exporting assets feed export",
        )
    price_out = p.export_price
    ctx.cost_terms.append(
        pyo.quicksum(dt * float(price_in[t]) * m.import_kw[t] for t in slots)
        - pyo.quicksum(dt * float(price_out[t]) * m.export_kw[t] for t in slots)
    )
    ctx.cost_terms.extend(add_dsr_constraints(m, p.dsr_requests, p.grid, m.import_kw, m.export_kw))
