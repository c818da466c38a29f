"""Pareto front: cheapest first, each step a new best accuracy."""

from lab.plots.pareto import pareto_front


def test_front_keeps_models_no_other_beats_on_both_cost_and_accuracy() -> None:
    points = [(4.0, 80.0), (1.0, 70.0), (2.0, 65.0), (3.0, 75.0), (5.0, 79.0), (3.0, 72.0)]
    assert pareto_front(points) == [1, 3, 0]
    assert pareto_front([]) == []
