"""Step 1's "rank on my data": the probe on a worker thread, a table whose rows choose."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

import pytest
from probe_fakes import fake_result

from lab.core.analysis.probe import ProbeReport
from lab.ui import rank_panel
from lab.ui.help_texts import help_text
from lab.ui.rank_panel import RankPanel


def fake_probe(candidates: Any, on_result: Any, should_stop: Any, **kwargs: Any) -> ProbeReport:
    results = []
    for i, c in enumerate(candidates):
        if should_stop():
            break
        r = replace(fake_result(c.label, 0.9 - 0.3 * i), key=c.key, pretrained=c.pretrained)
        results.append(r)
        on_result(r)
    stopped = len(results) < len(candidates)
    return ProbeReport(
        tuple(results), kwargs["score"], kwargs["n_per_class"], 200, ("a", "b"), 64, 1.0, stopped
    )


def make_panel(threaded: bool = False) -> tuple[RankPanel, list[tuple[str, bool]]]:
    chosen: list[tuple[str, bool]] = []
    panel = RankPanel(
        lambda: "animal_shapes",
        lambda key, pretrained: chosen.append((key, pretrained)),
        models=["mobilenet_v2.IMAGENET1K_V1", "tf_efficientnet_lite0.in1k"],
        threaded=threaded,
    )
    return panel, chosen


def buttons(panel: RankPanel) -> dict[str, Any]:
    return {row.children[0].description: row.children[0] for row in panel.table.children[1:-1]}


def test_ranking_fills_table_chart_and_a_row_click_chooses_its_model(monkeypatch) -> None:
    monkeypatch.setattr(rank_panel, "probe", fake_probe)
    panel, chosen = make_panel()
    assert "tl-probe-run" in panel.run_button._dom_classes
    assert "tl-probe-table" in panel.table._dom_classes
    panel.run_button.click()
    report = panel.last_report
    assert report is not None and not report.stopped
    rows = buttons(panel)
    labels = [
        "mobilenet_v2.IMAGENET1K_V1",
        "tf_efficientnet_lite0.in1k",
        "mobilenet_v2.IMAGENET1K_V1 (random init)",
    ]
    assert list(rows) == labels  # best first; the twin was added
    assert "clearly ahead" in panel.status.value  # the verdict in words
    assert "[86%–94%]" in panel.table.children[1].children[1].value  # score with interval
    assert panel.progress.value == panel.progress.max == 3
    assert len(panel.figure.data) == 7 and panel.figure.layout.xaxis.visible
    rows[labels[1]].click()
    rows[labels[2]].click()
    assert chosen == [
        ("tf_efficientnet_lite0.in1k", True),
        ("mobilenet_v2.IMAGENET1K_V1", False),
    ]
    assert "estimate" in help_text("rank") and not panel.run_button.disabled


def test_unscored_rows_cannot_be_chosen_and_errors_are_shown(monkeypatch) -> None:
    def failing(*args: Any, **kwargs: Any) -> ProbeReport:
        raise ValueError("n_per_class=5: too few images")

    monkeypatch.setattr(rank_panel, "probe", failing)
    panel, chosen = make_panel()
    panel.run_button.click()
    assert panel.error.layout.display is None and "too few images" in panel.error.value
    panel.candidates.value = ()
    panel.run_button.click()
    assert "select at least one model" in panel.error.value
    assert chosen == [] and panel.last_report is None


def test_stop_ends_the_ranking_after_the_current_model(monkeypatch) -> None:
    started, release = threading.Event(), threading.Event()

    def slow(candidates: Any, on_result: Any, should_stop: Any, **kwargs: Any) -> ProbeReport:
        started.set()
        release.wait(5)
        return fake_probe(candidates, on_result, should_stop, **kwargs)

    monkeypatch.setattr(rank_panel, "probe", slow)
    panel, _ = make_panel(threaded=True)
    panel.run_button.click()
    assert started.wait(5)
    assert panel.run_button.disabled and not panel.stop_button.disabled
    panel.run_button.click()
    assert "still running" in panel.error.value
    panel.stop_button.click()
    release.set()
    panel.job.join(5)
    panel.close()
    assert panel.last_report is not None and panel.last_report.stopped
    assert "Stopped" in panel.status.value
    assert not panel.run_button.disabled and panel.stop_button.disabled


def test_the_lab_ranks_in_step_1_and_a_row_click_sets_the_model(monkeypatch) -> None:
    from lab.ui import TransferLab

    monkeypatch.setattr(rank_panel, "probe", fake_probe)
    app = TransferLab(runs_dir=None, live=False)
    try:
        assert app.rank_panel in app.children[2].children[0].children  # inside step 1
        assert app.efficiency_tab in app.outputs.children
        assert "tl-efficiency-run" in app.efficiency_tab.run_button._dom_classes
        app.rank_panel.candidates.value = ("tf_efficientnet_lite0.in1k",)
        app.rank_panel.run_button.click()
        twin = buttons(app.rank_panel)["tf_efficientnet_lite0.in1k (random init)"]
        twin.click()
        assert app.model_panel.model_key == "tf_efficientnet_lite0.in1k"
        assert not app.model_panel.pretrained
    finally:
        app.close()


def tie_probe(candidates: Any, on_result: Any, should_stop: Any, **kwargs: Any) -> ProbeReport:
    results = [
        fake_result("lite0", 0.82),
        fake_result("lite1", 0.80),
        fake_result("mobilenet", 0.70),
        fake_result("twin0", 0.20),
        fake_result("twin1", 0.18),
    ]
    return ProbeReport(
        tuple(results), kwargs["score"], kwargs["n_per_class"], 200, ("a", "b"), 64, 1.5
    )


def test_the_verdict_names_candidates_it_cannot_tell_apart(monkeypatch) -> None:
    monkeypatch.setattr(rank_panel, "probe", tie_probe)
    panel, _ = make_panel()
    panel.score.value = "knn"
    panel.run_button.click()
    verdict = (
        "lite0 and lite1 are indistinguishable on 200 images; mobilenet is a little "
        "behind; both twin0 and twin1 are far behind. About 320 images per class would "
        "likely separate lite0 from lite1."  # 20 * ((0.04 + 0.04) / 0.02) ** 2
    )
    assert verdict in panel.status.value
    assert "ranked by k-NN" in panel.status.value
    assert "clearly ahead" not in panel.status.value
    report = panel.wait()
    assert [[r.label for r in g] for g in report.groups()] == [
        ["lite0", "lite1"],
        ["mobilenet"],
        ["twin0", "twin1"],
    ]
    groups = [row.children[1].value for row in panel.table.children[1:-1]]
    assert ">1<" in groups[0] and ">1<" in groups[1] and ">2<" in groups[2]  # group column


def test_wait_returns_the_threaded_ranking_or_says_why_there_is_none(monkeypatch) -> None:
    seen: dict[str, Any] = {}

    def recording(candidates: Any, data: Any, **kwargs: Any) -> ProbeReport:
        seen["data"] = data
        return fake_probe(candidates, data=data, **kwargs)

    monkeypatch.setattr(rank_panel, "probe", recording)
    panel = RankPanel("animal_shapes", models=["mobilenet_v2.IMAGENET1K_V1"], threaded=True)
    try:
        with pytest.raises(RuntimeError, match="press Rank on my data first"):
            panel.wait(1)
        panel.rank()
        report = panel.wait(10)
        assert report is panel.last_report and seen["data"] == "animal_shapes"
        # Without on_choose the rows are shown, not chosen.
        assert all(b.disabled for b in buttons(panel).values())
        assert "Click a model" not in panel.table.children[-1].value
    finally:
        panel.close()


def test_wait_raises_the_panels_message_when_the_ranking_failed(monkeypatch) -> None:
    def failing(*args: Any, **kwargs: Any) -> ProbeReport:
        raise OSError("no weights for mobilenet_v2")

    monkeypatch.setattr(rank_panel, "probe", failing)
    panel, _ = make_panel()
    panel.rank()
    with pytest.raises(RuntimeError, match="ranking: OSError: no weights for mobilenet_v2"):
        panel.wait()


def test_wait_gives_up_after_its_timeout_while_the_ranking_runs(monkeypatch) -> None:
    release = threading.Event()

    def slow(candidates: Any, on_result: Any, should_stop: Any, **kwargs: Any) -> ProbeReport:
        release.wait(5)
        return fake_probe(candidates, on_result, should_stop, **kwargs)

    monkeypatch.setattr(rank_panel, "probe", slow)
    panel, _ = make_panel(threaded=True)
    try:
        panel.rank()
        with pytest.raises(TimeoutError, match="timeout=0.1: the ranking is still running"):
            panel.wait(0.1)
        release.set()
        assert panel.wait(5) is panel.last_report
    finally:
        panel.close()
