"""A sparkline as geometry: a few actuals and targets scaled into a small box, drawn as SVG by
templates/goals/partials/sparkline.html (pure: no ORM, no clock). It lives in the domain app
because "My KPIs" (goals.views) draws one and ``goals`` does not import ``dashboards``; the
dashboards use it through dashboards.figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Sparkline:
    """A small line chart: one path per run of consecutive values, so a missing period is a gap
    in the line, never a dip to zero."""

    width: int
    height: int
    actual_paths: list[str]
    target_path: str
    dots: list[tuple[float, float]]  # values with no neighbour (a line needs two points)
    last: tuple[float, float] | None  # the newest value, marked


def _paths(points: Sequence[tuple[float, float] | None]) -> tuple[list[str], list[tuple[float, float]]]:
    runs: list[list[tuple[float, float]]] = [[]]
    for point in points:
        if point is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append(point)
    paths, dots = [], []
    for run in runs:
        if len(run) == 1:
            dots.append(run[0])
        elif run:
            paths.append("M" + " L".join(f"{x:.1f} {y:.1f}" for x, y in run))
    return paths, dots


def sparkline(
    actuals: Sequence[float | None],
    targets: Sequence[float | None] = (),
    *,
    width: int = 160,
    height: int = 40,
    pad: float = 3.0,
) -> Sparkline:
    """Scale actuals (and the target path, drawn dashed) into a ``width`` × ``height`` box."""
    count = max(len(actuals), len(targets))
    known = [v for v in [*actuals, *targets] if v is not None]
    if not known or count == 0:
        return Sparkline(width, height, [], "", [], None)
    low, high = min(known), max(known)
    span = high - low

    def point(index: int, value: float | None) -> tuple[float, float] | None:
        if value is None:
            return None
        x = pad + (width - 2 * pad) * (index / (count - 1) if count > 1 else 0.5)
        # A flat series sits in the middle rather than on an edge.
        share = (value - low) / span if span else 0.5
        return (x, height - pad - (height - 2 * pad) * share)

    actual_points = [point(i, v) for i, v in enumerate(actuals)]
    target_paths, _ = _paths([point(i, v) for i, v in enumerate(targets)])
    paths, dots = _paths(actual_points)
    last = next((p for p in reversed(actual_points) if p is not None), None)
    return Sparkline(width, height, paths, " ".join(target_paths), dots, last)
