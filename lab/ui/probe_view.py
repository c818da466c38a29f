"""The probe's verdict and table as HTML for the workshop panel: every score with its
interval, the groups of candidates the sample cannot tell apart, and the verdict in
words (``ProbeReport.verdict``)."""

from __future__ import annotations

import html

from lab.core.probe import ProbeReport, ProbeResult
from lab.core.probe_scores import SCORE_NAMES, SCORES
from lab.ui.widgets_common import note_html


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


def _cell(result: ProbeResult, name: str, ranked_by: str) -> str:
    if result.scores is None:
        return "<td></td>"
    weight = "font-weight:bold;" if name == ranked_by else ""
    return f'<td style="{weight}text-align:right;padding:0 8px">{score_text(result, name)}</td>'


def probe_table_html(report: ProbeReport) -> str:
    """One row per candidate: rank, group, the three scores with intervals, or the reason
    it could not be scored."""
    group_of = group_numbers(report)
    head = "".join(
        f'<th style="padding:0 8px">{html.escape(SCORE_NAMES[name])}</th>' for name in SCORES
    )
    rows = []
    for i, r in enumerate(report.results, start=1):
        label = html.escape(r.label)
        if r.scores is None:
            reason = html.escape(f"{r.status}: {r.message}")
            rows.append(f"<tr><td></td><td></td><td>{label}</td><td colspan=3>{reason}</td></tr>")
            continue
        cells = "".join(_cell(r, name, report.score) for name in SCORES)
        rows.append(f"<tr><td>{i}</td><td>{group_of[r.label]}</td><td>{label}</td>{cells}</tr>")
    return (
        '<table class="tl-probe-table" style="border-collapse:collapse;font-size:90%">'
        f"<tr><th>#</th><th>group</th><th>model</th>{head}</tr>{''.join(rows)}</table>"
        + note_html(html.escape(TABLE_NOTE.format(level=report.level)), 85)
    )


def verdict_html(report: ProbeReport) -> str:
    """The verdict in words, with the images and time it is based on."""
    return f'<div class="tl-probe-verdict">{html.escape(report.verdict())}</div>' + note_html(
        f"ranked by {SCORE_NAMES[report.score]}; {report.n_images} images, {report.seconds:.1f} s",
        85,
    )
