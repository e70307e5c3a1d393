"""A whole tree's rollup by columns: every node's stored series in one bottom-up pass.

``goals.rollup.engine.TreeRollup`` answers one node over one window, and a rebuild asks it for every
node and every window: tens of Python calls and objects per node-period, half a minute for a
10,000-node tree of 60 months. This module computes the same documents (``TreeRollup.series``)
as matrices of nodes × windows with numpy, level by level from the deepest nodes up: each rule of
goals.rollup.engine is applied to a whole column of nodes at once, with the same floating-point
operations in the same order, so the stored numbers are identical (tests/goals/test_rollup_columns.py
compares every document with the engine's).

It applies to a tree whose active nodes share one period grid — the same frequency, start and
deadline, as a tree built for one fiscal year has — with every actual on that grid; any other
tree is evaluated node by node by ``TreeRollup`` (:func:`tree_documents` chooses).

The same pass recomputes only some nodes (:meth:`ColumnarRollup.documents` with ``only``): the
ancestors of a changed actual, with their other children's columns read from their stored
documents — which hold unrounded numbers for that reason.
"""

from __future__ import annotations

import json
import logging
import math
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from datetime import date

import numpy as np
import orjson

from goals import formula as formulas
from goals.periods import period_anchor, period_end, period_is_open, period_start, window_is_shorter
from goals.rollup.document import (
    COLUMNS,
    REASON_CODES,
    REASON_INDEX,
    STATUS_CODES,
    STATUS_NAMES,
    WINDOWS,
    computed_on,
    encode,
    window_columns,
)
from goals.rollup.engine import MAX_SCORE, NodeSpec, TreeRollup, judged_on_complete_periods, shown_attainment

logger = logging.getLogger(__name__)

GRIDS = tuple(WINDOWS)


class Grid:
    """Windows over the tree's periods: each a run ``lo:hi`` of period indices."""

    def __init__(self, labels: Sequence[date], bounds: Sequence[tuple[int, int]], *, not_due: bool = False) -> None:
        self.labels = [d.isoformat() for d in labels]
        self.bounds = list(bounds)
        self.width = len(self.bounds)
        self.unit = all(hi - lo == 1 for lo, hi in self.bounds)
        # Windows shorter than the tree's period (a yearly tree's quarters): every node is
        # "not due" there (goals.periods.window_is_shorter).
        self.not_due = not_due


class Columns:
    """One grid's results for every node: rows are nodes (tree order), columns are windows."""

    def __init__(self, count: int, width: int) -> None:
        shape = (count, width)
        self.actual = np.full(shape, np.nan)
        self.target = np.full(shape, np.nan)
        self.low = np.full(shape, np.nan)
        self.high = np.full(shape, np.nan)
        self.attainment = np.full(shape, np.nan)
        self.gap = np.full(shape, np.nan)
        self.status = np.full(shape, -1, dtype=np.int8)
        self.missing = np.zeros(shape, dtype=np.int64)
        self.reason = np.zeros(shape, dtype=np.int8)


def grid_of(engine: TreeRollup, specs: Sequence[NodeSpec]) -> tuple[str, date, date] | None:
    """The (frequency, start, deadline) every node shares, or None if they do not share one."""
    shapes = {(s.frequency, s.start, s.deadline) for s in specs}
    if len(shapes) != 1:
        return None
    shape = shapes.pop()
    return shape if shape[1] is not None and shape[2] is not None else None


class ColumnarRollup:
    """The rollup of one tree (``order``: its active node ids, parents before children)."""

    def __init__(self, engine: TreeRollup, order: Sequence[int]) -> None:
        self.engine = engine
        self.ids = list(order)
        self.index = {node_id: i for i, node_id in enumerate(self.ids)}
        self.specs = [engine.specs[node_id] for node_id in self.ids]
        count = len(self.ids)
        self.children: list[list[int]] = [[] for _ in range(count)]
        self.depth = np.zeros(count, dtype=np.int64)
        for i, spec in enumerate(self.specs):
            parent = self.index.get(spec.parent_id)
            if parent is not None:
                self.children[parent].append(i)
                self.depth[i] = self.depth[parent] + 1
        self.shape = grid_of(engine, self.specs)
        # Nodes the engine reports as errors (a child in error, goals.rollup.engine._withhold):
        # no data for their parents, and their own document is the engine's, which says why.
        self.errored = np.array([node_id in engine.errors for node_id in self.ids], dtype=bool)

    # --- can the tree be computed by columns? ------------------------------------------------

    def applies(self) -> bool:
        if self.shape is None:
            return False
        frequency, start, deadline = self.shape
        periods = self.engine.periods(self.specs[0])
        on_grid = set(periods)
        for node_id in self.ids:
            if not on_grid.issuperset(self.engine.points.get(node_id, ())):
                return False
        for spec in self.specs:
            # A period's override on a node without a target mixes known and unknown targets:
            # a case the columns do not model (TreeRollup does).
            if self.engine.overrides.get(spec.id) and not spec.has_number:
                return False
        return True

    def aligned(self, documents: Iterable[Mapping]) -> bool:
        """Whether stored documents are on this tree's grids and of the same day."""
        grids = self._grids()
        as_of = self.engine.as_of.isoformat()
        for document in documents:
            if computed_on(document) != as_of or document.get("period") != grids["period"].labels:
                return False
            if any(document.get(name, {}).get("period") != grids[name].labels for name in GRIDS):
                return False
        return True

    # --- the grids ----------------------------------------------------------------------------

    def _grids(self) -> dict[str, Grid]:
        if getattr(self, "_grid_cache", None) is None:
            self._grid_cache = self._make_grids()
        return self._grid_cache

    def _make_grids(self) -> dict[str, Grid]:
        spec = self.specs[0]
        periods = self.engine.periods(spec)
        grids = {"period": Grid(periods, [(i, i + 1) for i in range(len(periods))])}
        # A period belongs to the window that holds its anchor (a week's Thursday).
        anchors = [period_anchor(day, spec.frequency) for day in periods]
        for name in GRIDS:
            frequency = WINDOWS[name]
            starts = self.engine._window_starts(spec, frequency)
            bounds = [
                (bisect_left(anchors, first), bisect_right(anchors, period_end(first, frequency))) for first in starts
            ]
            shorter = any(window_is_shorter(first, period_end(first, frequency), spec.frequency) for first in starts)
            grids[name] = Grid(starts, bounds, not_due=shorter)
        return grids

    # --- inputs as matrices -------------------------------------------------------------------

    def _inputs(self, periods: Sequence[date]) -> None:
        count, width = len(self.ids), len(periods)
        column = {day: k for k, day in enumerate(periods)}
        values = np.full((count, width), np.nan)
        for node_id, points in self.engine.points.items():
            row = self.index.get(node_id)
            if row is None or not points:
                continue
            values[row, list(map(column.__getitem__, points))] = list(points.values())
        self.values = values
        self.present = ~np.isnan(values)
        frequency = self.shape[0]
        current = period_start(self.engine.as_of, frequency, self.engine.fiscal_start_month)
        as_of = self.engine.as_of
        # An open period is not missing until it has ended.
        self.expected = np.array([day <= current and period_end(day, frequency) < as_of for day in periods], dtype=bool)
        self.started = np.array([day <= as_of for day in periods], dtype=bool)
        self.open = np.array([period_is_open(day, frequency, as_of) for day in periods], dtype=bool)
        self.plan_value, self.plan_low, self.plan_high = self._plans(periods)

    def _plans(self, periods: Sequence[date]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every node's target schedule (goals.targets.schedule) as three matrices."""
        count, width = len(self.ids), len(periods)
        value = np.full((count, width), np.nan)
        low = np.full((count, width), np.nan)
        high = np.full((count, width), np.nan)
        steps = np.arange(1, width + 1, dtype=float)
        column = {day: k for k, day in enumerate(periods)}
        for i, spec in enumerate(self.specs):
            if spec.direction == "maintain":
                low[i] = np.nan if spec.target_min is None else spec.target_min
                high[i] = np.nan if spec.target_max is None else spec.target_max
            elif spec.target is None:
                pass
            elif spec.time_aggregation == "sum" and spec.target_scope == "whole_window":
                value[i] = spec.target / width
            elif spec.baseline is None:
                value[i] = spec.target
            else:
                value[i] = spec.baseline + (spec.target - spec.baseline) * steps / width
            for day, amount in (self.engine.overrides.get(spec.id) or {}).items():
                k = column.get(day)
                if k is None:
                    continue
                if spec.direction != "maintain":
                    value[i, k] = amount
                elif spec.target_min is None and spec.target_max is not None:
                    low[i, k], high[i, k] = np.nan, amount
                else:
                    low[i, k] = amount
                    high[i, k] = np.nan if spec.target_max is None else spec.target_max
        return value, low, high

    # --- one grid -----------------------------------------------------------------------------

    def _own_values(self, grid: Grid, out: Columns, rows: np.ndarray) -> None:
        """Hand-entered nodes: their actuals aggregated over each window (sum, average, last)."""
        values, present = self.values[rows], self.present[rows]
        aggregation = np.array([self.specs[i].time_aggregation for i in rows])
        is_sum, is_average = (aggregation == "sum")[:, None], (aggregation == "average")[:, None]
        actual = np.full((len(rows), grid.width), np.nan)
        count = np.zeros((len(rows), grid.width), dtype=np.int64)
        missing = np.zeros((len(rows), grid.width), dtype=np.int64)
        if grid.unit:
            # One period per window: sum() and an average of one add it to zero; last is itself.
            actual = np.where(is_sum | is_average, values + 0.0, values)
            count = present.astype(np.int64)
            missing = (self.expected & ~present).astype(np.int64)
        for j, (lo, hi) in enumerate([] if grid.unit else grid.bounds):
            total = np.zeros(len(rows))
            last = np.full(len(rows), np.nan)
            seen = np.zeros(len(rows), dtype=np.int64)
            for k in range(lo, hi):
                here = present[:, k]
                # Added in order from zero, like sum(): the same float as TreeRollup gets.
                total = total + np.where(here, values[:, k], 0.0)
                last = np.where(here, values[:, k], last)
                seen += here
            with np.errstate(invalid="ignore", divide="ignore"):
                average = total / seen
            actual[:, j] = np.where(is_sum[:, 0], total, np.where(is_average[:, 0], average, last))
            actual[seen == 0, j] = np.nan
            count[:, j] = seen
            missing[:, j] = (self.expected[lo:hi] & ~present[:, lo:hi]).sum(axis=1)
        numberless_ksf = np.array([self.specs[i].kind == "ksf" and not self.specs[i].has_number for i in rows])
        none = count == 0
        reason = np.where(none, REASON_INDEX["no_actual"], REASON_INDEX["actual"])
        reason = np.where(none & numberless_ksf[:, None], REASON_INDEX["no_number"], reason)
        missing = np.where(none & numberless_ksf[:, None], 0, missing)
        out.actual[rows], out.missing[rows], out.reason[rows] = actual, missing, reason

    def _targets(self, grid: Grid, out: Columns, period_actual: np.ndarray | None) -> None:
        """The target to date of each window: its periods started by ``as_of`` (all if none)."""
        aggregation = np.array([s.time_aggregation for s in self.specs])
        is_sum, is_average = aggregation == "sum", aggregation == "average"
        if grid.unit:
            out.target[:] = np.where((is_sum | is_average)[:, None], self.plan_value + 0.0, self.plan_value)
            out.low[:], out.high[:] = self.plan_low, self.plan_high
            return
        # A flow entered by hand is judged on the periods that have an actual (TreeRollup._flow_target).
        manual_flow = np.array([s.value_source == "manual" for s in self.specs]) & is_sum
        # Periods counted to date: started, and not still open without a value (the node's value
        # for the period is its column in the period grid, computed first).
        counted = self.started[None, :] & ~(self.open[None, :] & np.isnan(period_actual))
        rows = np.arange(len(self.ids))
        for j, (lo, hi) in enumerate(grid.bounds):
            if hi <= lo:
                continue
            mask = counted[:, lo:hi].copy()
            mask[~mask.any(axis=1)] = True  # none counted: the window's plan
            # A period without a target (None) is skipped, as goals.targets.to_date does.
            known = mask & ~np.isnan(self.plan_value[:, lo:hi])
            total = np.zeros(len(self.ids))
            for k in range(lo, hi):
                total = total + np.where(known[:, k - lo], self.plan_value[:, k], 0.0)
            seen = known.sum(axis=1)
            last_known = lo + (hi - lo - 1) - np.argmax(known[:, ::-1], axis=1)
            last_counted = lo + (hi - lo - 1) - np.argmax(mask[:, ::-1], axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                value = np.where(is_sum, total, np.where(is_average, total / seen, self.plan_value[rows, last_known]))
            out.target[:, j] = np.where(seen > 0, value, np.nan)
            out.low[:, j] = self.plan_low[rows, last_counted]
            out.high[:, j] = self.plan_high[rows, last_counted]
            # A flow entered by hand is judged on the periods that have an actual (TreeRollup._flow_target).
            with_data = self.present[:, lo:hi]
            flow = manual_flow & with_data.any(axis=1) & ~np.isnan(out.target[:, j])
            flow &= ~(with_data & np.isnan(self.plan_value[:, lo:hi])).any(axis=1)
            if flow.any():
                total = np.zeros(len(self.ids))
                for k in range(lo, hi):
                    total = total + np.where(with_data[:, k - lo], self.plan_value[:, k], 0.0)
                out.target[:, j] = np.where(flow, total, out.target[:, j])

    def _combine(self, parents: Sequence[int], out: Columns) -> None:
        """Computed nodes: their children's values for the same window (sum … max)."""
        with_children = [p for p in parents if self.children[p]]
        for p in parents:
            if not self.children[p]:
                out.actual[p] = np.nan
                out.missing[p] = 0
                out.reason[p] = REASON_INDEX["no_inputs"]
        if not with_children:
            return
        child_rows = np.array([c for p in with_children for c in self.children[p]])
        starts = np.cumsum([0] + [len(self.children[p]) for p in with_children[:-1]])
        values = out.actual[child_rows]
        here = ~np.isnan(values)
        weights = np.array([self.specs[c].weight for c in child_rows])[:, None]
        sizes = [len(self.children[p]) for p in with_children]
        total = _sum(np.where(here, values, 0.0), starts, sizes)
        seen = np.add.reduceat(here.astype(np.int64), starts, axis=0)
        weighted = _sum(np.where(here, weights * values, 0.0), starts, sizes)
        weight = _sum(np.where(here, weights, 0.0), starts, sizes)
        lowest = np.fmin.reduceat(values, starts, axis=0)
        highest = np.fmax.reduceat(values, starts, axis=0)
        missing = np.add.reduceat(out.missing[child_rows], starts, axis=0)
        source = np.array([self.specs[p].value_source for p in with_children])[:, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            actual = np.select(
                [source == "sum", source == "average", source == "weighted_average", source == "min"],
                [total, total / seen, weighted / weight, lowest],
                highest,
            )
        zero_weights = (source == "weighted_average") & (seen > 0) & (weight == 0)
        none = seen == 0
        overflow = ~none & ~zero_weights & ~np.isfinite(actual)
        actual = np.where(none | zero_weights | overflow, np.nan, actual)
        reason = np.where(
            none,
            REASON_INDEX["no_inputs"],
            np.where(
                zero_weights,
                REASON_INDEX["zero_weights"],
                np.where(overflow, REASON_INDEX["overflow"], REASON_INDEX["combined"]),
            ),
        )
        rows = np.array(with_children)
        out.actual[rows], out.missing[rows], out.reason[rows] = actual, missing, reason

    def _flow_formula(self, parent: int, out: Columns, grid: Grid, period: Columns) -> None:
        """A flow formula over windows of several periods: the sum of its per-period values
        (TreeRollup._flow_formula); a window without any value keeps its last period's reason."""
        for j, (lo, hi) in enumerate(grid.bounds):
            if hi <= lo:
                continue
            total, seen = 0.0, False
            for k in range(lo, hi):
                value = period.actual[parent, k]
                if not np.isnan(value):
                    total, seen = total + float(value), True
            if not seen:
                out.actual[parent, j] = np.nan
                out.reason[parent, j] = period.reason[parent, hi - 1]
            elif not math.isfinite(total):
                out.actual[parent, j] = np.nan
                out.reason[parent, j] = REASON_INDEX["overflow"]
            else:
                out.actual[parent, j] = total
                out.reason[parent, j] = REASON_INDEX["formula"]

    def _formula(self, parent: int, out: Columns, grid: Grid | None = None, period: Columns | None = None) -> None:
        """TreeRollup._formula_value: the formula over the descendants it names."""
        spec = self.specs[parent]
        out.actual[parent] = np.nan
        out.missing[parent] = 0
        parsed = self.engine._formula(spec)
        if isinstance(parsed, formulas.FormulaError):
            out.reason[parent] = REASON_INDEX["formula_error"]
            return
        named = [
            self.index[below.id] for code, below in self.engine.formula_inputs(spec).items() if code in parsed.codes
        ]
        if named:
            out.missing[parent] = out.missing[named].sum(axis=0)
        if len(named) < len(parsed.codes):
            out.reason[parent] = REASON_INDEX["formula_waiting"]
            return
        by_code = {self.specs[c].code: out.actual[c] for c in named}
        width = out.actual.shape[1]
        absent = np.zeros(width, dtype=bool)
        for code in parsed.codes:
            column = by_code.get(code)
            absent |= np.ones(width, dtype=bool) if column is None else np.isnan(column)
        inputs = {code: by_code.get(code, np.full(width, np.nan)) for code in parsed.codes}
        value, by_zero, overflow = formulas.evaluate_columns(parsed, inputs)
        fine = ~absent & ~by_zero & ~overflow
        out.actual[parent] = np.where(fine, value, np.nan)
        out.reason[parent] = np.where(
            absent,
            REASON_INDEX["formula_missing"],
            np.where(
                by_zero,
                REASON_INDEX["division_by_zero"],
                np.where(overflow, REASON_INDEX["overflow"], REASON_INDEX["formula"]),
            ),
        )
        if spec.time_aggregation == "sum" and grid is not None and period is not None and not grid.unit:
            self._flow_formula(parent, out, grid, period)

    def _complete_flows(self, rows: Sequence[int], out: Columns, grid: Grid, period: Columns | None) -> None:
        """Computed "decrease" flows, judged on the periods whose inputs are all in
        (TreeRollup._complete_flow): a period with a missing input has no value; a wider window
        with one is the sum of its other periods against their targets."""
        rows = np.array(rows)
        if grid.unit:
            refused = (out.missing[rows] > 0) & ~np.isnan(out.actual[rows])
            out.actual[rows] = np.where(refused, np.nan, out.actual[rows])
            out.reason[rows] = np.where(refused, REASON_INDEX["inputs_missing"], out.reason[rows])
            return
        for j, (lo, hi) in enumerate(grid.bounds):
            if hi <= lo:
                continue
            for p in rows:
                if not (period.missing[p, lo:hi] > 0).any():
                    continue
                values = period.actual[p, lo:hi]
                counted = ~np.isnan(values)
                if not counted.any():
                    if not np.isnan(out.actual[p, j]):
                        out.actual[p, j] = np.nan
                        out.reason[p, j] = REASON_INDEX["inputs_missing"]
                    continue
                # Added in order from zero, like sum() in TreeRollup: the same floats.
                total = 0.0
                for value in values[counted]:
                    total = total + float(value)
                if not math.isfinite(total):
                    out.actual[p, j] = np.nan
                    out.reason[p, j] = REASON_INDEX["overflow"]
                    continue
                out.actual[p, j] = total
                plans = self.plan_value[p, lo:hi][counted]
                if not np.isnan(plans).any():
                    target = 0.0
                    for value in plans:
                        target = target + float(value)
                    out.target[p, j] = target

    def _judge(self, rows: np.ndarray, out: Columns) -> None:
        """goals.rollup.engine.judge for nodes with a number of their own."""
        specs = [self.specs[i] for i in rows]
        actual, target = out.actual[rows], out.target[rows]
        low, high = out.low[rows], out.high[rows]
        at_risk = np.array([s.at_risk_below for s in specs])[:, None]
        off_track = np.array([s.off_track_below for s in specs])[:, None]
        ranged = np.array([s.direction == "maintain" for s in specs])[:, None]
        decrease = np.array([s.direction == "decrease" for s in specs])[:, None]
        has_low, has_high = ~np.isnan(low), ~np.isnan(high)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            # A range: outside is never on track, inside the gap is the headroom.
            below = has_low & (actual < low)
            above = ~below & has_high & (actual > high)
            outside = below | above
            headroom = np.minimum(np.where(has_low, actual - low, np.inf), np.where(has_high, high - actual, np.inf))
            range_gap = np.where(below, actual - low, np.where(above, high - actual, headroom))
            nonzero_low, nonzero_high = has_low & (low != 0), has_high & (high != 0)
            width = np.where(
                has_low & has_high & (high > low),
                high - low,
                np.abs(np.where(nonzero_low, low, np.where(nonzero_high, high, 1.0))),
            )
            range_attainment = np.where(outside, np.maximum(0.0, 100.0 + range_gap / width * 100.0), 100.0)
            range_status = np.where(outside, np.where(shown_attainments(range_attainment) < off_track, 2, 1), 0)
            range_reason = np.where(outside, REASON_INDEX["out_of_range"], REASON_INDEX["in_range"])
            # A value: direction decides which side of the target is good.
            gap = np.where(decrease, target - actual, actual - target)
            up = np.where(target == 0, np.where(actual >= 0, 100.0, 0.0), actual / target * 100.0)
            down = np.where(actual <= 0, 100.0, target / actual * 100.0)
            attainment = np.where(decrease, down, up)
            attainment = np.where(target < 0, 100.0 + gap / -target * 100.0, attainment)
            shown = shown_attainments(attainment)
            status = np.where(shown >= at_risk, 0, np.where(shown >= off_track, 1, 2))
        no_value = np.isnan(actual)
        no_target = ~ranged & np.isnan(target) & ~no_value
        result_attainment = np.where(ranged, range_attainment, attainment)
        result_gap = np.where(ranged, range_gap, gap)
        result_status = np.where(ranged, range_status, status)
        overflow = ~no_value & ~no_target & ~(np.isfinite(result_attainment) & np.isfinite(result_gap))
        judged_reason = np.where(
            overflow,
            REASON_INDEX["overflow"],
            np.where(ranged, range_reason, np.where(no_target, REASON_INDEX["no_target"], REASON_INDEX["thresholds"])),
        )
        unjudged = no_value | no_target | overflow
        out.attainment[rows] = np.where(unjudged, np.nan, result_attainment)
        out.gap[rows] = np.where(unjudged, np.nan, result_gap)
        out.status[rows] = np.where(unjudged, -1, result_status)
        out.reason[rows] = np.where(no_value, out.reason[rows], judged_reason)

    def _from_children(self, rows: Sequence[int], out: Columns) -> None:
        """A node without a number takes its status from its children (weighted or worst-of)."""
        parents = [p for p in rows if self.children[p]]
        for p in rows:
            if not self.children[p]:
                # A leaf without a target: its value is shown but not judged.
                out.status[p], out.attainment[p], out.gap[p] = -1, np.nan, np.nan
                out.reason[p] = np.where(np.isnan(out.actual[p]), out.reason[p], REASON_INDEX["no_target"])
        if not parents:
            return
        child_rows = np.array([c for p in parents for c in self.children[p]])
        sizes = [len(self.children[p]) for p in parents]
        starts = np.cumsum([0] + sizes[:-1])
        status = out.status[child_rows].astype(np.int64)
        attainment = out.attainment[child_rows]
        judged = status != -1
        weights = np.array([self.specs[c].weight for c in child_rows])[:, None]
        counted = np.add.reduceat(judged.astype(np.int64), starts, axis=0)
        missing = np.add.reduceat(out.missing[child_rows], starts, axis=0)
        worst = np.maximum.reduceat(np.where(judged, status, -1), starts, axis=0)
        is_worst = judged & (status == np.repeat(worst, sizes, axis=0))
        worst_attainment = np.fmin.reduceat(np.where(is_worst, attainment, np.nan), starts, axis=0)
        scores = np.minimum(np.where(np.isnan(attainment), 0.0, attainment), MAX_SCORE)
        total = _sum(np.where(judged, weights, 0.0), starts, sizes)
        weighted = _sum(np.where(judged, weights * scores, 0.0), starts, sizes)
        rule = np.array([self.specs[p].status_rule == "worst" for p in parents])[:, None]
        at_risk = np.array([self.specs[p].at_risk_below for p in parents])[:, None]
        off_track = np.array([self.specs[p].off_track_below for p in parents])[:, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            score = weighted / total
        shown = shown_attainments(score)
        score_status = np.where(shown >= at_risk, 0, np.where(shown >= off_track, 1, 2))
        none = counted == 0
        zero = ~rule & ~none & (total == 0)
        rows_ = np.array(parents)
        out.missing[rows_] = np.maximum(out.missing[rows_], missing)
        out.attainment[rows_] = np.where(none | zero, np.nan, np.where(rule, worst_attainment, score))
        out.status[rows_] = np.where(none | zero, -1, np.where(rule, worst, score_status))
        out.gap[rows_] = np.nan
        out.reason[rows_] = np.where(
            none,
            REASON_INDEX["no_child_data"],
            np.where(
                zero,
                REASON_INDEX["zero_weights"],
                np.where(rule, REASON_INDEX["worst_of_children"], REASON_INDEX["weighted_children"]),
            ),
        )

    def _evaluate(self, grid: Grid, out: Columns, only: set[int] | None, period: Columns | None) -> None:
        """Every node (or those in ``only``), deepest level first."""
        if grid.not_due:
            rows = np.arange(len(self.ids)) if only is None else np.array(sorted(only), dtype=np.int64)
            for column in (out.actual, out.target, out.low, out.high, out.attainment, out.gap):
                column[rows] = np.nan
            out.status[rows], out.missing[rows] = -1, 0
            out.reason[rows] = REASON_INDEX["not_due"]
            return
        # Overflow to infinity is detected and reported per node (reason "overflow"), not warned.
        with np.errstate(over="ignore", invalid="ignore"):
            self._evaluate_levels(grid, out, only, period)

    def _evaluate_levels(self, grid: Grid, out: Columns, only: set[int] | None, period: Columns | None) -> None:
        count = len(self.ids)
        chosen = np.ones(count, dtype=bool) if only is None else np.isin(np.arange(count), list(only))
        manual = np.array([s.value_source == "manual" for s in self.specs])
        self._targets(grid, out, None if period is None else period.actual)
        rows = np.flatnonzero(manual & chosen)
        if len(rows):
            self._own_values(grid, out, rows)
        numbered = np.array([s.has_number for s in self.specs])
        for level in range(int(self.depth.max(initial=0)), -1, -1):
            here = chosen & (self.depth == level)
            if not here.any():
                continue
            computed = np.flatnonzero(here & ~manual)
            formula_rows = [i for i in computed if self.specs[i].value_source == "formula"]
            self._combine([i for i in computed if self.specs[i].value_source != "formula"], out)
            for i in formula_rows:
                self._formula(i, out, grid, period)
            complete = [i for i in computed if judged_on_complete_periods(self.specs[i])]
            if complete:
                self._complete_flows(complete, out, grid, period)
            judged = np.flatnonzero(here & numbered)
            if len(judged):
                self._judge(judged, out)
            self._from_children(list(np.flatnonzero(here & ~numbered)), out)
            errored = np.flatnonzero(here & self.errored)
            if len(errored):
                self._no_data(errored, out)

    @staticmethod
    def _no_data(rows: np.ndarray, out: Columns) -> None:
        """Nodes in error: no data, as TreeRollup assesses them (their parents see no value)."""
        for column in (out.actual, out.target, out.low, out.high, out.attainment, out.gap):
            column[rows] = np.nan
        out.status[rows], out.missing[rows] = -1, 0

    # --- stored documents ---------------------------------------------------------------------

    def documents(
        self, *, only: Iterable[int] | None = None, stored: Mapping[int, dict] | None = None
    ) -> list[tuple[int, str]]:
        """(node id, JSON document) of every node, or of the nodes in ``only`` (ids), whose
        other nodes' columns come from ``stored`` (their documents as the last run wrote them)."""
        grids = self._grids()
        periods = self.engine.periods(self.specs[0])
        self._inputs(periods)
        chosen = None if only is None else {self.index[node_id] for node_id in only}
        results = {}
        for name, grid in grids.items():
            out = Columns(len(self.ids), grid.width)
            if stored:
                self._load(out, name, stored)
            period = results.get("period")  # the period grid comes first (GRIDS after it)
            self._evaluate(grid, out, chosen, period)
            results[name] = out
        rows = range(len(self.ids)) if chosen is None else sorted(chosen)
        encoded = self._encode(grids, results, rows)
        if self.errored.any():
            encoded = [
                (node_id, encode(self.engine.series(node_id)) if node_id in self.engine.errors else text)
                for node_id, text in encoded
            ]
        return encoded

    def _load(self, out: Columns, grid: str, stored: Mapping[int, dict]) -> None:
        for node_id, document in stored.items():
            i = self.index.get(node_id)
            if i is None:
                continue
            columns = window_columns(document, grid)
            for name in ("actual", "attainment"):
                getattr(out, name)[i] = [np.nan if v is None else v for v in columns[name]]
            out.status[i] = [STATUS_CODES[s] for s in columns["status"]]
            out.missing[i] = columns["missing"]

    def _encode(
        self, grids: dict[str, Grid], results: dict[str, Columns], rows: Iterable[int]
    ) -> list[tuple[int, str]]:
        rows = list(rows)
        if not rows:
            return []
        status_names = np.array([STATUS_NAMES[code] for code in (-1, 0, 1, 2)], dtype=object)
        reason_names = np.array(REASON_CODES, dtype=object)
        fragments: dict[str, list[str]] = {}
        for name, grid in grids.items():
            out = results[name]
            encoded: dict[str, list[str]] = {}
            for column in ("actual", "target", "low", "high", "attainment", "gap", "missing"):
                encoded[column] = _rows_json(getattr(out, column)[rows])
            encoded["status"] = _rows_json(status_names[out.status[rows].astype(np.int64) + 1])
            encoded["reason"] = _rows_json(reason_names[out.reason[rows].astype(np.int64)])
            # One str.format per node: the labels (ISO dates, no braces) and each column's array.
            period = json.dumps(grid.labels, separators=(",", ":"))
            template = f'"period":{period}' + "".join(f',"{c}":[{{}}]' for c in COLUMNS)
            fragments[name] = [template.format(*row) for row in zip(*(encoded[c] for c in COLUMNS), strict=True)]
        as_of = json.dumps(self.engine.as_of.isoformat())
        template = '{{{},"as_of":' + as_of + ',"quarter":{{{}}},"year":{{{}}}}}'
        return [
            (self.ids[i], template.format(period, quarter, year))
            for i, period, quarter, year in zip(
                rows, fragments["period"], fragments["quarter"], fragments["year"], strict=True
            )
        ]


def shown_attainments(attainment: np.ndarray) -> np.ndarray:
    """goals.rollup.engine.shown_attainment over a matrix: the same float operations, and the
    same decimal rounding for the few values near a tie, so both engines judge one number."""
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = attainment * 10.0
        nearest = np.floor(scaled + 0.5)
        shown = np.where(np.isfinite(scaled), nearest / 10.0, attainment)
        ties = np.isfinite(scaled) & (np.abs(scaled - nearest) > 0.4999)
    for index in zip(*np.nonzero(ties), strict=True):
        shown[index] = shown_attainment(float(attainment[index]))
    return shown


def _sum(matrix: np.ndarray, starts: np.ndarray, sizes: Sequence[int]) -> np.ndarray:
    """Each parent's rows added child after child from zero, as sum() does in TreeRollup
    (numpy's own reductions may associate differently and change the last bit)."""
    starts, sizes = np.asarray(starts), np.asarray(sizes)
    total = np.zeros((len(starts), matrix.shape[1]))
    for k in range(int(sizes.max(initial=0))):
        more = sizes > k
        total[more] = total[more] + matrix[starts[more] + k]
    return total


def _rows_json(matrix: np.ndarray) -> list[str]:
    """Each row of a matrix as the inside of a JSON array, NaN as null. orjson writes the
    shortest repr of each float, as json.dumps does, at a fraction of its cost."""
    if matrix.shape[1] == 0:
        return [""] * matrix.shape[0]
    if matrix.dtype == object:
        text = orjson.dumps(matrix.tolist()).decode()
    else:
        text = orjson.dumps(matrix, option=orjson.OPT_SERIALIZE_NUMPY).decode()
    return text[2:-2].split("],[")


def tree_documents(engine: TreeRollup, order: Sequence[int]) -> list[tuple[int, str]]:
    """Every node's stored document as JSON: by columns when the tree allows, else node by node.

    Node by node, a node that cannot be computed gets a document that says why (TreeRollup.series)
    and the others are computed; so a fault the columns did not foresee falls back to that.
    """
    columnar = ColumnarRollup(engine, order)
    if columnar.applies():
        try:
            return columnar.documents()
        except Exception:
            logger.exception("The columnar rollup failed; computing the tree node by node.")
    return [(node_id, encode(engine.series(node_id))) for node_id in order]
