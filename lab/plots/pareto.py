"""The Pareto front of accuracy against a cost: the models no other model beats on both."""

from __future__ import annotations

from collections.abc import Sequence


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the points with the best y for their x (lower x is cheaper), by x.

    A point is on the front when every point at most as costly is less accurate: walking
    from the cheapest, each new best accuracy starts a step of the front.
    """
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    front: list[int] = []
    best = float("-inf")
    for i in order:
        if points[i][1] > best:
            front.append(i)
            best = points[i][1]
    return front
