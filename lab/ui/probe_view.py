"""What the probe's panels share: the candidates and score controls, the verdict and
table as HTML (every score with its interval, the groups of candidates the sample
cannot tell apart, the verdict in words from ``ProbeReport.verdict``)."""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

import ipywidgets as widgets

from lab.core.analysis.probe import DEFAULT_SCORE, Candidate, ProbeReport, ProbeResult, random_twin
from lab.core.analysis.probe_scores import SCORE_NAMES, SCORES
from lab.plots.probe import probe_figure
from lab.ui.pump import Sends
from lab.ui.widgets_common import note_html, with_classes

#: A thin blank strip for the ranking figure until the first ranking. (Hiding it instead
#: would leave plotly at its 700 px default width when shown: it measures its box only
#: on creation.)
BLANK_LAYOUT: dict[str, Any] = {
    "height": 30,
    "margin": {"t": 0, "b": 0},
    "xaxis": {"visible": False},
    "yaxis": {"visible": False},
    "template": "plotly_white",
}


def chosen_candidates(keys: Iterable[str], twin: bool) -> list[Candidate]:
    """The models ``keys``, plus the first one's random-init twin when ``twin``."""
    chosen = [Candidate(key) for key in keys]
    if chosen and twin:
        chosen.append(random_twin(chosen[0].key))
    return chosen


def score_dropdown() -> widgets.Dropdown:
    """The "rank by" choice of score, the probe's default first chosen."""
    return with_classes(
        widgets.Dropdown(
            options=[(SCORE_NAMES[s], s) for s in SCORES],
            value=DEFAULT_SCORE,
            description="rank by",
        ),
        "tl-probe-score",
    )


def progress_line(result: ProbeResult, score: str) -> str:
    """One scored candidate as a line of HTML: its ``score``, or why it has none."""
    value = result.score(score)
    what = f"{value:.0%}" if value is not None else f"{result.status}: {result.message}"
    return f"{html.escape(result.label)}: {html.escape(what)} ({result.seconds:.1f} s)<br>"


def draw_ranking(figure: Any, report: ProbeReport, sends: Sends) -> None:
    """Replace ``figure`` (blank or an older ranking) by the probe's chart of ``report``."""
    new = probe_figure(report)
    sends.replace_traces(figure, new.data)
    with sends.figure(figure):
        figure.update_layout(new.layout.to_plotly_json())
        figure.update_xaxes(visible=True)
        figure.update_yaxes(visible=True)


def score_text(result: ProbeResult, name: str) -> str:
    """The ``name`` score with its interval as HTML ("" when not scored)."""
    scores = result.scores
    if scores is None:
        return ""
    low, high = scores.interval(name)
    if name == "logme":
        return f"{scores.value(name):.3f} <small>[{low:.3f}, {high:.3f}]</small>"
    return f"{scores.value(name):.0%} <small>[{low:.0%}–{high:.0%}]</small>"


def group_numbers(report: ProbeReport) -> dict[str, int]:
    """Label -> number of its group of candidates the sample cannot tell apart (1 = best)."""
    return {r.label: i for i, g in enumerate(report.groups(), start=1) for r in g}


#: Below the table: how to read the intervals and groups.
TABLE_NOTE = (
    "[low–high]: {level:.0%} intervals over which images were drawn; a group holds "
    "candidates whose intervals overlap with its leader's."
)


def verdict_html(report: ProbeReport) -> str:
    """The verdict in words, with the images and time it is based on."""
    return f'<div class="tl-probe-verdict">{html.escape(report.verdict())}</div>' + note_html(
        f"ranked by {SCORE_NAMES[report.score]}; {report.n_images} images, {report.seconds:.1f} s",
        85,
    )
