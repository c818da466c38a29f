"""Step 4: training settings, Start/Pause/Resume/Stop, progress and the run's state in words.

The panel holds the controls; the app decides what a click does. Everything a run
changes here (progress, status, notices, button states, the LR-finder plot) is
written by :meth:`TrainPanel.render` and friends, which only the pump calls.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets
import plotly.graph_objects as go
from traitlets import Float, Int, validate

from lab.core.training.config import OPTIMIZERS, SCHEDULES
from lab.core.training.events import RunFailed, RunStopped
from lab.core.training.history import STATES, RunHistory
from lab.plots import apply_trace_data, lr_finder_data, lr_finder_figure
from lab.ui.figures import figure_widget, plotly_loader
from lab.ui.help_texts import help_text
from lab.ui.messages import LRFinderFailed, LRFinderStarted, Notice, SettingsChanged
from lab.ui.pump import Handler, Sends
from lab.ui.traits import Choice, run_setting
from lab.ui.widgets_common import help_line, lr_slider, with_classes

#: Buttons enabled in each state; Start stays enabled so a second click can explain itself.
ENABLED = {
    "idle": {"Start"},
    "running": {"Start", "Pause", "Stop"},
    "paused": {"Start", "Resume", "Stop"},
    "stopped": {"Start"},
    "completed": {"Start"},
    "failed": {"Start"},
}
NOTICE_COLORS = {"info": "#1565c0", "warning": "#a15c00", "error": "#b00020"}
STATE_COLORS = {
    "idle": "#555555",
    "running": "#1565c0",
    "paused": "#a15c00",
    "stopped": "#6a1b9a",
    "completed": "#2e7d32",
    "failed": "#b00020",
}


def format_eta(seconds: float) -> str:
    """``75.2`` -> ``'1:15'``; hours are shown when needed."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


#: Steps (and seconds) before an ETA is shown: the first steps pay for warm-up.
ETA_MIN_STEPS, ETA_MIN_S = 10, 2.0


def eta_seconds(history: RunHistory) -> float | None:
    """Seconds left, from the pace of the latest half of the steps; None while estimating.

    The early steps include loading, caching and compiling, so a pace over all steps
    (or over the last few) jumps; the latter half of the run so far is steady.
    """
    steps = history.steps
    if not steps:
        return None
    last = steps[-1]
    if last.global_step < ETA_MIN_STEPS or last.elapsed_s < ETA_MIN_S:
        return None
    first = steps[len(steps) // 2]
    done = last.global_step - first.global_step
    if done <= 0:
        return None
    pace = (last.elapsed_s - first.elapsed_s) / done
    return pace * (last.total_steps - last.global_step)


def progress_text(history: RunHistory) -> str:
    """``epoch 2/5 · step 13/40 · 512 images/s · ETA 0:12`` for the latest step."""
    if not history.steps:
        return "waiting for the first step…" if history.state == "running" else ""
    step = history.steps[-1]
    total_epochs = history.started.total_epochs if history.started else step.epoch
    left = eta_seconds(history)
    if history.state not in ("running", "paused"):
        eta = "—"
    else:
        eta = "estimating…" if left is None else format_eta(left)
    return (
        f"epoch {step.epoch}/{total_epochs} · step {step.global_step}/{step.total_steps} · "
        f"{step.images_per_s:.0f} images/s · ETA {eta}"
    )


def status_detail(history: RunHistory, preparing: bool) -> str:
    """One line saying what the state means for this run."""
    state, steps = history.state, history.steps
    # The run-wide step, as the progress line counts it (not the step within the epoch).
    where = f"epoch {steps[-1].epoch}, step {steps[-1].global_step}" if steps else "the start"
    if preparing:
        return "loading the model and data…"
    if state == "running" and history.started:
        s = history.started
        params = f"{s.trainable_params:,} trainable parameters"
        return f"training on {s.n_train} images ({params}) on {s.device}"
    if state == "paused":
        return f"paused at {where}: press Resume to continue"
    if state == "stopped":
        reason = history.final.reason if isinstance(history.final, RunStopped) else "stopped"
        return f"{reason} at {where}; what it learned so far is kept"
    if state == "completed":
        best = history.best_val_acc
        test = getattr(history.final, "test", None)
        text = f"best validation accuracy {best:.1%}" if best is not None else "finished"
        return text + (f", test accuracy {test.acc:.1%}" if test is not None else "")
    if state == "failed" and isinstance(history.final, RunFailed):
        return f"failed at {where} ({history.final.error_type})"
    return "set up steps 1-3, then press Start"


class TrainPanel(widgets.VBox):
    """Training settings and run controls; ``state`` mirrors the run in words."""

    epochs = Int(5, help="Passes over the training images.")
    batch_size = Int(32, help="Images per optimizer step.")
    optimizer = Choice(OPTIMIZERS, "adam", help="Optimizer of the run.")
    lr = Float(1e-3, help="Learning rate of the head (backbone groups divide it by a factor).")
    schedule = Choice(SCHEDULES, "constant", help="Learning-rate schedule.")
    state = Choice(STATES, "idle", help="Run state in words (written by the pump).")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._build_settings()
        self._build_controls()
        self._build_outputs()
        self.children = [
            plotly_loader(),
            with_classes(widgets.HTML("<h3>4 · Train</h3>"), "tl-panel-title"),
            help_line("epochs"),
            widgets.HBox([self.epochs_input, self.batch_input, self.optimizer_input]),
            widgets.HBox([self.lr_input, self.schedule_input, self.lr_button]),
            self.lr_info,
            self.lr_box,
            help_line("controls"),
            widgets.HBox(list(self.buttons.values())),
            widgets.HBox([self.progress, self.progress_label]),
            widgets.HBox([self.status, self.status_detail]),
            self.message,
            self.error,
        ]
        with_classes(self, "tl-panel", "tl-train-panel")

    # -- construction -------------------------------------------------------------
    def _build_settings(self) -> None:
        self.epochs_input = widgets.BoundedIntText(
            min=1, max=1000, description="epochs", tooltip=help_text("epochs")
        )
        self.batch_input = widgets.BoundedIntText(
            min=1, max=4096, description="batch size", tooltip=help_text("batch_size")
        )
        self.optimizer_input = widgets.Dropdown(
            options=OPTIMIZERS, description="optimizer", tooltip=help_text("optimizer")
        )
        self.lr_input = lr_slider("LR", help_text("lr"))
        self.schedule_input = widgets.Dropdown(
            options=SCHEDULES, description="schedule", tooltip=help_text("schedule")
        )
        for trait, control, css in (
            ("epochs", self.epochs_input, "tl-epochs"),
            ("batch_size", self.batch_input, "tl-batch-size"),
            ("optimizer", self.optimizer_input, "tl-optimizer"),
            ("lr", self.lr_input, "tl-lr"),
            ("schedule", self.schedule_input, "tl-schedule"),
        ):
            with_classes(control, css)
            widgets.link((self, trait), (control, "value"))

    def _build_controls(self) -> None:
        self.buttons: dict[str, widgets.Button] = {}
        styles = {"Start": "success", "Pause": "", "Resume": "info", "Stop": "danger"}
        for label, style in styles.items():
            button = widgets.Button(description=label, button_style=style, tooltip=label)
            self.buttons[label] = with_classes(button, f"tl-{label.lower()}")
        self.start_button, self.pause_button = self.buttons["Start"], self.buttons["Pause"]
        self.resume_button, self.stop_button = self.buttons["Resume"], self.buttons["Stop"]
        self._enable_for("idle")
        self.lr_button = with_classes(
            widgets.Button(description="Find LR", tooltip=help_text("lr_finder"), icon="search"),
            "tl-lr-finder",
        )

    def _build_outputs(self) -> None:
        self.lr_info = with_classes(widgets.HTML(""), "tl-lr-finder-info")
        # Made on first use: every live plotly figure costs the page a copy of plotly.js.
        self.lr_figure: go.FigureWidget | None = None
        self.lr_box = widgets.VBox([])
        self.lr_box.layout.display = "none"
        self.progress = with_classes(
            widgets.IntProgress(value=0, min=0, max=1, description="progress"), "tl-progress"
        )
        self.progress.tooltip = help_text("progress")
        self.progress_label = with_classes(widgets.HTML(""), "tl-progress-text")
        self.status = with_classes(widgets.Label("idle"), "tl-status")
        self.status.style.font_weight = "bold"
        self.status.style.text_color = STATE_COLORS["idle"]
        self.status.layout.margin = "0 1em 0 0"
        self.status_detail = with_classes(
            widgets.Label(status_detail(RunHistory(), False)), "tl-status-detail"
        )
        self.message = with_classes(widgets.HTML(""), "tl-message")
        self.message.layout.display = "none"
        self.error = with_classes(widgets.HTML(""), "tl-error")
        self.error.layout.display = "none"

    # -- rules --------------------------------------------------------------------
    @validate("epochs", "batch_size", "lr")
    def _validate_setting(self, proposal: dict[str, Any]) -> Any:
        return run_setting(proposal)

    def _enable_for(self, state: str, sends: Sends | None = None) -> None:
        sends = sends or Sends()
        for label, button in self.buttons.items():
            sends.set(button, disabled=label not in ENABLED[state])

    # -- written by the pump ------------------------------------------------------
    def requests(self) -> dict[type, Handler]:
        """The requests this panel draws (the pump routes them here)."""
        return {
            Notice: lambda item, sends: self.show_notice(item.text, item.level, sends),
            SettingsChanged: lambda _item, sends: self.clear_notices(sends),
            LRFinderStarted: lambda _item, sends: self.lr_busy(sends),
            LRFinderFailed: self._show_lr_failure,
        }

    def render(self, history: RunHistory | None, sends: Sends, preparing: bool = False) -> None:
        """Progress, status words and button states for ``history``."""
        history = history or RunHistory()
        state = "running" if preparing else history.state
        self.state = state  # plain trait: no message of its own
        self._enable_for(state, sends)
        total = history.steps[-1].total_steps if history.steps else 1
        done = history.steps[-1].global_step if history.steps else 0
        sends.set(self.progress, max=max(total, 1), value=min(done, max(total, 1)))
        sends.set(self.progress_label, value=html.escape(progress_text(history)))
        sends.set(self.status, value=state)
        sends.set(self.status.style, text_color=STATE_COLORS[state])
        sends.set(self.status_detail, value=status_detail(history, preparing))
        if history.error:
            self.show_notice(history.error, "error", sends)

    def show_notice(self, text: str, level: str, sends: Sends) -> None:
        """Errors go to the ``tl-error`` box, other notices to ``tl-message``."""
        box = self.error if level == "error" else self.message
        color = NOTICE_COLORS.get(level, NOTICE_COLORS["info"])
        mark = "&#9888; " if level != "info" else ""
        body = f'<div style="color:{color}">{mark}{html.escape(text)}</div>'
        sends.set(box, value=body)
        sends.show(box, True)

    def clear_notices(self, sends: Sends, errors: bool = True) -> None:
        """Hide both message boxes (a new run starts with a clean slate), or only the
        ``tl-message`` one when ``errors`` is False."""
        for box in (self.message, self.error) if errors else (self.message,):
            sends.set(box, value="")
            sends.show(box, False)

    def ensure_lr_figure(self) -> go.FigureWidget:
        """Create the LR-finder plot (main thread, before the sweep starts)."""
        if self.lr_figure is None:
            self.lr_figure = with_classes(figure_widget(lr_finder_figure()), "tl-lr-plot")
            self.lr_box.children = [self.lr_figure]
        return self.lr_figure

    def show_lr_result(
        self, lrs: Any, losses: Any, suggested: float | None, sends: Sends
    ) -> float | None:
        """Draw the LR sweep; returns the LR to use (the suggestion within the slider's range).

        The caller applies it: the LR is the app's one trait, shown by two sliders.
        """
        if self.lr_figure is not None:
            with sends.figure(self.lr_figure):
                apply_trace_data(self.lr_figure, lr_finder_data(lrs, losses, suggested))
            sends.show(self.lr_box, True)
        chosen = None
        if suggested is None:
            text = "No clear learning rate found: the loss never fell. Keep the current LR."
        else:
            low, high = 10.0**self.lr_input.min, 10.0**self.lr_input.max
            chosen = min(max(float(suggested), low), high)
            text = f"Suggested learning rate: <b>{suggested:.1e}</b>"
            if chosen != suggested:
                text += f", outside the slider's range: set to {chosen:.1e}"
            text += " (set above)."
        sends.set(self.lr_info, value=text)
        sends.set(self.lr_button, disabled=False, description="Find LR")
        return chosen

    def _show_lr_failure(self, item: LRFinderFailed, sends: Sends) -> None:
        self.show_lr_result([], [], None, sends)
        self.show_notice(item.message, "error", sends)

    def lr_busy(self, sends: Sends) -> None:
        """The LR finder is running: say so and block a second sweep."""
        sends.set(self.lr_button, disabled=True, description="Finding…")
        sends.set(self.lr_info, value="Sweeping learning rates on a few batches…")
