"""Tie groups and the probe's verdict in words."""

from __future__ import annotations

from lab.core.analysis.probe_ties import Ranked, describe, images_to_separate, tie_groups


def r(label: str, value: float, half: float = 0.04) -> Ranked:
    return Ranked(label, value, value - half, value + half)


def test_a_group_holds_candidates_overlapping_its_leader() -> None:
    # b overlaps a; c overlaps b but not a, so it starts the next group.
    ranked = [r("a", 0.90), r("b", 0.84), r("c", 0.79), r("d", 0.2)]
    groups = [[x.label for x in g] for g in tie_groups(ranked)]
    assert groups == [["a", "b"], ["c"], ["d"]]


def test_images_to_separate_grows_as_the_gap_shrinks() -> None:
    # Intervals ±0.04 at 20 per class part when the gap exceeds their sum: n * (0.08 / gap)².
    assert images_to_separate(r("a", 0.84), r("b", 0.80), 20) == 80
    assert images_to_separate(r("a", 0.82), r("b", 0.80), 20) == 320
    assert images_to_separate(r("a", 0.805), r("b", 0.80), 20) is None  # beyond 20x
    assert images_to_separate(r("a", 0.8), r("b", 0.8), 20) is None


def test_clear_winner_wording() -> None:
    text = describe([r("lite0", 0.9), r("twin", 0.2)], n_images=200, n_per_class=20)
    assert text == "lite0 is clearly ahead on 200 images; twin is far behind."


def test_tie_wording_names_the_group_and_how_to_separate_it() -> None:
    text = describe([r("a", 0.90), r("b", 0.89), r("c", 0.885)], 100, 10)
    assert text.startswith("a, b and c are indistinguishable on 100 images.")
    assert "would likely not separate a from b: treat them as equal" in text


def test_nothing_or_one_candidate() -> None:
    assert describe([], 10, 5) == "No candidate could be scored."
    assert describe([r("a", 0.5)], 10, 5).startswith("Only a could be scored")
