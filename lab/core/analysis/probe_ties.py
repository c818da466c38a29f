"""Which candidates the probe can tell apart, said in words.

Candidates are ranked by one score. Walking down the ranking, a candidate joins the
current group while its interval overlaps the interval of the group's leader; the
first one whose interval lies wholly below starts a new group. Within a group the
order is noise on this many images, and the text says so, with an estimate of how many
images per class would separate the top two: interval widths shrink like 1/sqrt(n),
so the intervals stop overlapping near ``n * ((h1 + h2) / gap) ** 2``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

#: Beyond this many times the current images per class, separating is called out of reach.
_REACH = 20
#: A group this many (combined) interval half-widths below the top group is "far behind".
_FAR = 3.0


@dataclass(frozen=True)
class Ranked:
    """A scored candidate as the ranking sees it: its score and interval."""

    label: str
    value: float
    low: float
    high: float

    @property
    def half(self) -> float:
        width = (self.high - self.low) / 2
        return width if math.isfinite(width) else 0.0


def tie_groups(ranked: Sequence[Ranked]) -> list[list[Ranked]]:
    """Groups of candidates about the same, best group first (``ranked`` best first)."""
    groups: list[list[Ranked]] = []
    for r in ranked:
        if groups and r.high >= groups[-1][0].low:
            groups[-1].append(r)
        else:
            groups.append([r])
    return groups


def images_to_separate(a: Ranked, b: Ranked, n_per_class: int) -> int | None:
    """Images per class at which ``a``'s and ``b``'s intervals would likely part, or
    None when that is out of reach (the scores are practically equal)."""
    gap = a.value - b.value
    if gap <= 0 or a.half + b.half <= 0:
        return None
    needed = n_per_class * ((a.half + b.half) / gap) ** 2
    if needed > _REACH * n_per_class:
        return None
    return max(n_per_class + 5, int(math.ceil(round(needed, 6) / 5.0)) * 5)


def _names(labels: Sequence[str]) -> str:
    if len(labels) == 1:
        return labels[0]
    return ", ".join(labels[:-1]) + " and " + labels[-1]


def _behind(group: list[Ranked], top: list[Ranked]) -> str:
    gap = top[0].value - group[0].value
    far = gap > _FAR * (top[0].half + group[0].half)
    verb = "is" if len(group) == 1 else "are"
    both = "both " if len(group) == 2 else ""
    return f"{both}{_names([r.label for r in group])} {verb} {'far' if far else 'a little'} behind"


def _suggestion(top: list[Ranked], n_per_class: int) -> str:
    a, b = top[0], top[1]
    needed = images_to_separate(a, b, n_per_class)
    if needed is None:
        return (
            f"Even {_REACH * n_per_class} images per class would likely not separate "
            f"{a.label} from {b.label}: treat them as equal and choose by size or speed."
        )
    return f"About {needed} images per class would likely separate {a.label} from {b.label}."


def describe(ranked: Sequence[Ranked], n_images: int, n_per_class: int) -> str:
    """The ranking in words: who is indistinguishable, who is behind, and how many
    images per class would settle the top group."""
    if not ranked:
        return "No candidate could be scored."
    if len(ranked) == 1:
        return f"Only {ranked[0].label} could be scored: nothing to compare it with."
    groups = tie_groups(ranked)
    top = groups[0]
    if len(top) == 1:
        first = f"{top[0].label} is clearly ahead on {n_images} images"
    else:
        first = f"{_names([r.label for r in top])} are indistinguishable on {n_images} images"
    text = "; ".join([first] + [_behind(g, top) for g in groups[1:]]) + "."
    if len(top) > 1:
        text += " " + _suggestion(top, n_per_class)
    return text
