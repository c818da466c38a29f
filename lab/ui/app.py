"""TransferLab: the seven steps in one widget, the trainer and the event pump.

Data flows one way: the panels' traits become a :class:`RunConfig`, a ``Trainer``
runs it on its own thread, its events go through the :class:`EventPump` to the
:class:`LiveView`, which draws them; requests from the widgets take the same pump to
the panel that draws them (:mod:`lab.ui.routes`). Nothing heavy happens at construction: the
model and data load when a run (or the LR finder) starts, on the trainer's thread.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipywidgets as widgets
from traitlets import Float

from lab.core.data import ImageDataset, load_dataset
from lab.core.runs.saved_model import SavedModel, open_best_checkpoint
from lab.core.serving.settings import LabSettings, current
from lab.core.training.config import RunConfig
from lab.core.training.engine import Trainer
from lab.core.training.history import RunHistory
from lab.ui.approach_panel import APPROACH_LABELS, ApproachPanel
from lab.ui.code_view import ShowCode
from lab.ui.compare_panel import ComparePanel
from lab.ui.data_panel import DataPanel
from lab.ui.efficiency_tab import EfficiencyTab
from lab.ui.errors import guard
from lab.ui.figures import plotly_loader
from lab.ui.latency_view import LatencyControl
from lab.ui.lr_search import LRSearch
from lab.ui.messages import (
    LRFinderDone,
    NewRun,
    Notice,
    RunEvent,
    SettingsChanged,
)
from lab.ui.model_panel import ModelPanel
from lab.ui.pump import EventPump, Sends
from lab.ui.rank_panel import RankPanel
from lab.ui.results_panel import ResultsPanel
from lab.ui.routes import live_display
from lab.ui.start_checks import check_batch_size, check_weights
from lab.ui.train_panel import TrainPanel
from lab.ui.use_panel import UsePanel
from lab.ui.val_images import validation_images
from lab.ui.widgets_common import with_classes

#: Builds the trainer for a config; tests pass one that returns a tiny model's trainer.
TrainerFactory = Callable[[RunConfig], Trainer]

INTRO = (
    "<p>Pick a pretrained <b>model</b> (1) and your <b>data</b> (2), "
    "decide what trains (3), then press <b>Start</b> (4) and watch the results (5). "
    "Compare runs (6) and try the model on your own images (7).</p>"
)
ACTIVE = ("running", "paused")
#: The run settings each panel holds; changing one clears notices about the old values.
SETTINGS = {
    "model_panel": ("model_key", "pretrained"),
    "data_panel": (
        "dataset_name", "path", "n_per_class", "val_fraction", "test_fraction", "seed",
        "augment", "image_size",
    ),
    "approach_panel": ("approach", "trainable_groups", "backbone_lr_factor"),
    "train_panel": ("epochs", "batch_size", "optimizer", "schedule"),
}  # fmt: skip


class TransferLab(widgets.VBox):
    """The whole lab. ``TransferLab()`` in a notebook cell shows it.

    ``trainer_factory`` builds a trainer from a config (default: ``Trainer(config)``);
    ``live=False`` keeps the pump thread off so tests drain it by hand; ``settings``
    (default: :func:`lab.core.serving.settings.current`) say which mode the lab runs in.
    """

    lr = Float(1e-3, help="The run's learning rate (the head's); both LR sliders show it.")

    def __init__(
        self,
        trainer_factory: TrainerFactory | None = None,
        runs_dir: str | None = "runs",
        live: bool = True,
        settings: LabSettings | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.settings = settings or current()
        self.trainer_factory: TrainerFactory = trainer_factory or Trainer
        self.runs_dir, self.live = runs_dir, live
        self.trainer: Trainer | None = None
        # Step 7's model: the last trainer that trained a step, or a chosen checkpoint.
        self._trained: Trainer | SavedModel | None = None
        self._passed_over: Trainer | None = None  # the trainer a chosen checkpoint replaced
        self._shown: Trainer | None = None  # the trainer step 5 showed before this one
        self._run_count = 0
        self._build_panels()
        self.display = live_display(
            self.train_panel,
            self.results_panel,
            self.compare_panel,
            self.use_panel,
            on_new_model=self._model_trained,  # the previous model is let go
        )
        self.display.routes.add({LRFinderDone: self._show_lr_found})
        self.view = self.display.view
        self.pump = EventPump(self.display.apply, on_error=self.display.failed)
        self.lr_search = LRSearch(self.pump)
        for panel in (self.results_panel, self.compare_panel):
            panel.post = self.pump.submit
        self._wire()
        self.children = self._layout()
        with_classes(self, "tl-app")

    # -- construction -------------------------------------------------------------
    def _build_panels(self) -> None:
        self.model_panel = ModelPanel(settings=self.settings)
        self.data_panel = DataPanel(settings=self.settings)
        self.latency = LatencyControl(self.model_panel, threaded=self.live, background=self.live)
        self.rank_panel = RankPanel(self._probe_data, self.model_panel.choose, threaded=self.live)
        self.efficiency_tab = EfficiencyTab(self._probe_data, threaded=self.live)
        self.approach_panel = ApproachPanel()
        self.train_panel = TrainPanel()
        widgets.dlink((self.train_panel, "epochs"), (self.approach_panel.staged, "epochs"))
        self.show_code = ShowCode(self.config)
        # Step 4 offers the run as plain PyTorch, next to the button that trains it.
        self.train_panel.children = [*self.train_panel.children, self.show_code]
        self.results_panel = ResultsPanel()
        self.results_panel.gradcam.trainer = self.shown_trainer
        self.compare_panel = ComparePanel(runs_dir=self.runs_dir)
        self.compare_panel.use_checkpoint = self.use_checkpoint
        export_dir = Path(self.runs_dir or ".") / "exports"
        self.use_panel = UsePanel(
            trainer=self.trained_model, export_dir=export_dir, settings=self.settings
        )

    def _wire(self) -> None:
        widgets.dlink((self.model_panel, "model_key"), (self.approach_panel, "model_key"))
        widgets.dlink((self.model_panel, "model_key"), (self.data_panel, "model_key"))
        scratch = (self.approach_panel, "approach"), (self.model_panel, "from_scratch")
        widgets.dlink(*scratch, transform=lambda approach: approach == "scratch")
        self.data_panel.observe(guard(self.data_panel, self._on_num_classes_changed), "num_classes")
        # One learning rate, the app's: the approach panel calls it the head LR, training LR.
        self.lr = self.train_panel.lr
        widgets.link((self, "lr"), (self.train_panel, "lr"))
        widgets.link((self, "lr"), (self.approach_panel, "head_lr"))
        train = self.train_panel
        train.start_button.on_click(guard(train, lambda _b: self.start()))
        train.pause_button.on_click(guard(train, lambda _b: self.pause()))
        train.resume_button.on_click(guard(train, lambda _b: self.resume()))
        train.stop_button.on_click(guard(train, lambda _b: self.stop()))
        train.lr_button.on_click(guard(train, lambda _b: self.find_lr()))
        for panel, names in SETTINGS.items():
            getattr(self, panel).observe(guard(train, self._on_setting_changed), list(names))
        self.observe(guard(train, self._on_setting_changed), "lr")

    def _on_setting_changed(self, _change: dict[str, Any]) -> None:
        self.pump.submit(SettingsChanged())

    def _layout(self) -> list[widgets.Widget]:
        step1 = widgets.VBox([self.model_panel, self.latency, self.rank_panel])
        setup = with_classes(
            widgets.Accordion(children=[step1, self.data_panel, self.approach_panel]),
            "tl-setup",
        )
        for i, title in enumerate(("1 · Model", "2 · Data", "3 · Approach and freezing")):
            setup.set_title(i, title)
        setup.selected_index = 0
        self.outputs = with_classes(
            widgets.Tab(
                children=[
                    self.results_panel,
                    self.compare_panel,
                    self.use_panel,
                    self.efficiency_tab,
                ]
            ),
            "tl-outputs",
        )
        titles = ("5 · Live results", "6 · Compare runs", "7 · Test and use", "Data efficiency")
        for i, title in enumerate(titles):
            self.outputs.set_title(i, title)
        self.outputs.observe(
            guard(self.train_panel, self._on_selected_index_changed), "selected_index"
        )
        return [plotly_loader(), widgets.HTML(INTRO), setup, self.train_panel, self.outputs]

    def _on_selected_index_changed(self, change: dict[str, Any]) -> None:
        # Plots are made when first shown: each live plotly figure loads its own copy of
        # plotly.js in the browser, and several loading at once can time out there.
        if self.outputs.children[change["new"] or 0] is self.compare_panel:
            self.compare_panel.ensure_figure()

    def _probe_data(self) -> ImageDataset:
        """The data set step 2 has loaded, or the one it names (on a worker thread)."""
        if self.data_panel.dataset is not None:
            return self.data_panel.dataset
        spec = self.data_panel.spec()
        return load_dataset(spec.name, path=spec.path)

    def _on_num_classes_changed(self, change: dict[str, Any]) -> None:
        if change["new"] >= 2:
            self.approach_panel.num_classes = change["new"]

    def trained_model(self) -> Trainer | SavedModel | None:
        """Step 7's model: the latest run that trained at least one step, or the checkpoint
        chosen in step 6 since.

        A Start that fails while setting up leaves the previous model in use.
        """
        trainer = self.trainer
        if trainer is not None and trainer is not self._passed_over and trainer.history.steps:
            self._trained = trainer
        return self._trained

    def _model_trained(self) -> None:
        """A run trained its first step: it is step 7's model and step 5's from now on."""
        self.trained_model()
        self._shown = None

    def shown_trainer(self) -> Trainer | None:
        """The trainer of the run step 5 shows (its gallery's Grad-CAM uses this model).

        A start whose set-up refused a setting shows nothing of its own: the run before
        it stays on screen, and so does its model.
        """
        if self.trainer is not None and self.trainer.refused:
            return self._shown
        return self.trainer

    def use_checkpoint(self, run_dir: str | Path) -> SavedModel:
        """Make the best checkpoint of the run saved in ``run_dir`` step 7's model.

        The next run that trains a step takes its place. A model outside the catalog is
        rebuilt with the trainer factory.
        """
        model = open_best_checkpoint(
            run_dir, build=lambda config: self.trainer_factory(config).parts
        )
        self._trained, self._passed_over = model, self.trainer
        return model

    # -- configuration ------------------------------------------------------------
    def config(self) -> RunConfig:
        """The run configuration the panels describe now (raises if a value is invalid)."""
        model, approach, train = self.model_panel, self.approach_panel, self.train_panel
        check_weights(
            model.model_key, model.pretrained, self.approach_panel.approach,
            self.settings.allow_downloads,
        )  # fmt: skip
        return RunConfig(
            model=model.model_key,
            pretrained=model.pretrained,
            data=self.data_panel.spec(),
            approach=approach.approach,
            trainable_groups=approach.trainable_groups,
            epochs=train.epochs,
            batch_size=train.batch_size,
            optimizer=train.optimizer,
            lr=self.lr,
            backbone_lr_factor=approach.backbone_lr_factor,
            **approach.staged_settings(),
            schedule=train.schedule,
            embedding=self.results_panel.embedding,
            runs_dir=self.runs_dir,
        )

    def _run_name(self, config: RunConfig) -> str:
        self._run_count += 1
        approach = APPROACH_LABELS.get(config.approach, config.approach)
        return f"{self._run_count} · {approach} · {config.model.split('.')[0]}"

    # -- controls (kernel main thread) --------------------------------------------
    def _notice(self, text: str, level: str = "warning") -> None:
        self.pump.submit(Notice(text, level))

    def start(self) -> Trainer | None:
        """Start a run with the current settings; returns its trainer (None if refused).

        Settings are checked here when step 2 has loaded the data; otherwise the
        trainer checks them once it has read the data, and a setting it refuses ends
        as a notice, not as a failed run (``trainer.refused``).
        """
        current = self.trainer
        if current is not None and current.state in ACTIVE:
            self._notice(
                f"A run is already {current.state}: it keeps going and nothing is lost. "
                "Press Stop first to start a new run."
            )
            return None
        if self.lr_search.running:
            self._notice("The learning-rate finder is still running: Start again when it is done.")
            return None
        try:
            config = self.config()
            check_batch_size(config.batch_size, self.data_panel.split_counts())
            trainer = self.trainer_factory(config)
        except Exception as error:  # noqa: BLE001 - shown in the panel, not as a traceback
            self._notice(f"Could not start: {error}", "error")
            return None
        self.trained_model()  # remember the current model before the new run replaces it
        self._shown = self.shown_trainer()
        self.trainer = trainer
        self.results_panel.ensure_figure()
        history = RunHistory(name=self._run_name(config))
        if self.live:
            self.pump.start()
        # The images are looked up after RUN_STARTED, when the trainer has built its data.
        self.pump.submit(
            NewRun(history, lambda: validation_images(trainer.parts.val), lambda: trainer.refused)
        )
        # O(1) on the trainer thread: tag the event with its run and queue it.
        trainer.on(None, lambda payload: self.pump.put(RunEvent(history, payload)))
        trainer.start()
        return trainer

    def pause(self) -> None:
        """Pause the run after its current step."""
        if self._check_state("Pause", ("running",)):
            assert self.trainer is not None
            self.trainer.pause()

    def resume(self) -> None:
        """Continue a paused run."""
        if self._check_state("Resume", ("paused",)):
            assert self.trainer is not None
            self.trainer.resume()

    def stop(self) -> None:
        """Stop the run after its current step; what it learned is kept."""
        if self._check_state("Stop", ACTIVE):
            assert self.trainer is not None
            self.trainer.stop()

    def _check_state(self, action: str, allowed: tuple[str, ...]) -> bool:
        state = self.trainer.state if self.trainer is not None else "idle"
        if state in allowed:
            return True
        self._notice(f"{action} does nothing now: the run is {state}.", "info")
        return False

    def find_lr(self) -> None:
        """Sweep learning rates on a fresh trainer in the background; the plot follows."""
        if self.trainer is not None and self.trainer.state in ACTIVE:
            self._notice("Stop the run before looking for a learning rate.")
            return
        if self.lr_search.running:
            return
        try:
            trainer = self.trainer_factory(self.config().replace(runs_dir=None))
        except Exception as error:  # noqa: BLE001
            self._notice(f"Could not start the LR finder: {error}", "error")
            return
        self.train_panel.ensure_lr_figure()
        if self.live:
            self.pump.start()
        self.lr_search.launch(trainer)

    def _show_lr_found(self, item: LRFinderDone, sends: Sends) -> None:
        """The pump's: draw the sweep and make its suggestion the one learning rate."""
        chosen = self.train_panel.show_lr_result(item.lrs, item.losses, item.suggested, sends)
        if chosen is None:
            return
        # Links carry the one LR to every slider showing it: hold them all so each sends
        # one counted message.
        with sends.hold(self.train_panel.lr_input, self.approach_panel.head_lr_slider):
            self.lr = chosen

    def close(self) -> None:
        """Stop the run and the pump, and close every widget."""
        if self.trainer is not None:
            self.trainer.stop()
            self.trainer.join(5)
        self.pump.stop()
        self.rank_panel.close()
        self.latency.close()
        self.efficiency_tab.close()
        super().close()
