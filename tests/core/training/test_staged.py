"""Staged unfreezing: head first on cached features, then the last groups train."""

from __future__ import annotations

import pytest
import torch

from lab.core.models.finetune import is_eval_locked
from lab.core.models.groups import LayerGroup
from lab.core.runs.saved import read_history
from lab.core.training.config import ConfigError, RunConfig
from lab.core.training.engine import Trainer
from lab.core.training.events import Event
from lab.core.training.staged import groups_per_epoch, stages
from tests.core.tiny_runs import CLASSES, Recorder, tiny_config, tiny_data, tiny_model


def _trainer(**changes: object) -> tuple[Trainer, torch.nn.Sequential]:
    model = tiny_model()
    groups = [
        LayerGroup("stem", (model[0], model[1])),
        LayerGroup("block", (model[2],)),
        LayerGroup("head", (model[3],)),
    ]
    values: dict[str, object] = dict(approach="fine_tuning", trainable_groups=3, epochs=3)
    config = tiny_config(**{**values, **changes})
    trainer = Trainer.from_parts(
        model, tiny_data(12, seed=1), tiny_data(9, seed=2), CLASSES, config=config, groups=groups
    )
    return trainer, model


def test_plan_counts_groups_per_epoch() -> None:
    config = RunConfig(approach="fine_tuning", epochs=5, freeze_epochs=2, trainable_groups=4)
    assert groups_per_epoch(config, 6) == [1, 1, 4, 4, 4]
    assert groups_per_epoch(config.replace(gradual=True), 6) == [1, 1, 2, 3, 4]
    assert groups_per_epoch(config.replace(freeze_epochs=0), 6) == [4] * 5


def test_head_trains_on_cached_features_then_groups_unfreeze() -> None:
    trainer, model = _trainer(freeze_epochs=1)
    recorder = Recorder(trainer)
    stem_before = model[0].weight.detach().clone()
    trainer.prepare()
    assert not model[0].weight.requires_grad and is_eval_locked(model[1])
    seen_cache: list[bool] = []

    def on_step(payload: object) -> None:
        if getattr(payload, "step", 0) == 1:
            seen_cache.append(trainer._loop.train_cache is not None)  # type: ignore[union-attr]

    trainer.on(Event.STEP_COMPLETED, on_step)
    stems: list[torch.Tensor] = []  # the run ends on the best epoch's weights: look before
    trainer.on(Event.EVALUATION_COMPLETED, lambda _p: stems.append(model[0].weight.clone()))
    lrs: dict[str, float] = {}  # read while the run holds its optimizer (freed at its end)

    def on_evaluation(_payload: object) -> None:
        groups = trainer._loop.optimizer.param_groups  # type: ignore[union-attr]
        lrs.update({g["name"]: g["lr"] for g in groups})

    trainer.on(Event.EVALUATION_COMPLETED, on_evaluation)
    trainer.run()
    assert trainer.state == "completed", trainer.history.error
    names = [p.event.value for p in recorder.payloads]
    assert names.count("groups_unfrozen") == 1
    at = names.index("groups_unfrozen")
    assert names[at - 1] == "epoch_started" and recorder.payloads[at - 1].epoch == 2
    (unfrozen,) = recorder.of(Event.GROUPS_UNFROZEN)
    assert unfrozen.epoch == 2 and unfrozen.groups == ("stem", "block")
    assert unfrozen.frozen_params == 0
    assert seen_cache == [True, False, False]  # the cache serves the frozen epoch only
    assert torch.equal(stems[0], stem_before) and not torch.equal(stems[2], stem_before)
    assert not is_eval_locked(model[1])
    assert trainer.history.unfrozen == [unfrozen]
    assert lrs["stem"] == pytest.approx(lrs["head"] / 10)


def test_gradual_unfreezes_one_group_per_epoch(tmp_path: object) -> None:
    trainer, _ = _trainer(freeze_epochs=1, gradual=True, runs_dir=str(tmp_path))
    trainer.run()
    got = [(u.epoch, u.groups, u.trainable_groups) for u in trainer.history.unfrozen]
    assert got == [(2, ("block",), 2), (3, ("stem",), 3)]
    assert trainer.run_dir is not None
    reloaded = read_history(trainer.run_dir / "metrics.jsonl")  # survives the run folder
    assert [u.epoch for u in reloaded.unfrozen] == [2, 3]


def test_stages_report_trainable_counts() -> None:
    trainer, model = _trainer(freeze_epochs=2, epochs=4)
    got = stages(trainer.config, trainer.parts.groups)
    head = sum(p.numel() for p in model[3].parameters())
    everything = sum(p.numel() for p in model.parameters())
    assert [(s.first, s.last, s.groups, s.trainable_params) for s in got] == [
        (1, 2, 1, head),
        (3, 4, 3, everything),
    ]
    assert got[0].describe().startswith("epochs 1-2: head")


@pytest.mark.parametrize(
    ("change", "word"),
    [
        (dict(approach="feature_extraction", freeze_epochs=1), "needs approach='fine_tuning'"),
        (dict(approach="fine_tuning", epochs=2, freeze_epochs=2), "leaves no epoch"),
        (dict(approach="fine_tuning", trainable_groups=1, freeze_epochs=1), "nothing would"),
        (dict(approach="fine_tuning", freeze_epochs=-1), "choose 0"),
    ],
)
def test_bad_staged_settings_name_the_fix(change: dict[str, object], word: str) -> None:
    with pytest.raises(ConfigError, match="freeze_epochs|trainable_groups") as info:
        RunConfig(**change)  # type: ignore[arg-type]
    assert word in str(info.value)


def test_staged_settings_round_trip_in_json() -> None:
    config = RunConfig(approach="fine_tuning", epochs=4, freeze_epochs=2, gradual=True)
    assert RunConfig.from_dict(config.to_dict()) == config
