"""Settings: the core's ``AugmentConfig`` and ``FitConfig`` (unet_tutorial.settings) and
the engine's ``TrainConfig`` and presets (unet_tutorial.engine.config), and how the
command line fills them in. None of it needs TensorFlow.
"""

from __future__ import annotations

import argparse
from dataclasses import fields, replace

import pytest

import unet_tutorial as ut
from unet_tutorial.checks import ON_CORRUPT
from unet_tutorial.engine import cli
from unet_tutorial.engine.config import (
    CHECKPOINTS,
    COLLECTIVES,
    PRESETS,
    STRATEGIES,
    TrainConfig,
)
from unet_tutorial.settings import (
    LOSSES,
    LR_SCHEDULES,
    OPTIMIZERS,
    AugmentConfig,
    FitConfig,
)


def _train_options(*argv: str) -> TrainConfig:
    return cli._train_config(cli.build_parser().parse_args(["train", *argv]))


def _choices(command: str, option: str) -> list:
    """The ``choices`` of ``option`` of the sub-command ``command``."""
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    action = next(
        a for a in sub.choices[command]._actions if option in a.option_strings
    )
    return list(action.choices)


# --------------------------------------------------------------------- the core's settings


def test_train_config_is_a_fit_config_whose_fields_come_first():
    assert issubclass(TrainConfig, FitConfig)
    fit_names = [f.name for f in fields(FitConfig)]
    assert [f.name for f in fields(TrainConfig)][: len(fit_names)] == fit_names
    assert fit_names == [
        "epochs",
        "learning_rate",
        "lr_schedule",
        "loss",
        "optimizer",
        "weight_decay",
        "steps_per_epoch",
        "validation_steps",
        "jit_compile",
    ]


def test_fit_config_returns_exactly_the_fit_config_fields():
    config = TrainConfig(
        epochs=7,
        learning_rate=2e-3,
        lr_schedule="cosine",
        loss="dice",
        optimizer="adamw",
        weight_decay=1e-4,
        steps_per_epoch=3,
        validation_steps=2,
        base_filters=8,
    )
    fit = config.fit_config()
    assert type(fit) is FitConfig
    assert fit == FitConfig(
        epochs=7,
        learning_rate=2e-3,
        lr_schedule="cosine",
        loss="dice",
        optimizer="adamw",
        weight_decay=1e-4,
        steps_per_epoch=3,
        validation_steps=2,
        jit_compile=False,
    )
    assert {f.name for f in fields(fit)} == {f.name for f in fields(FitConfig)}
    assert not hasattr(fit, "base_filters")
    assert FitConfig().fit_config() == FitConfig()


def test_every_augment_config_field_is_a_train_config_field_and_is_carried():
    train_fields = {f.name: f for f in fields(TrainConfig)}
    for f in fields(AugmentConfig):
        assert f.name in train_fields, f.name
        assert train_fields[f.name].default == f.default, f.name  # the same defaults
    assert TrainConfig().augment_settings() == AugmentConfig()
    changed = {
        "flip": False,
        "min_scale": 0.5,
        "jitter": True,
        "elastic": 0.02,
        "rotate90": True,
    }
    assert set(changed) == {f.name for f in fields(AugmentConfig)}
    config = TrainConfig(**changed)
    assert config.augment_settings() == AugmentConfig(**changed)
    assert config.augment_config() == AugmentConfig(**changed)
    assert TrainConfig(augment=False, **changed).augment_config() is False
    assert TrainConfig(elastic=ut.PAPER_ELASTIC).augment_config().elastic == (
        pytest.approx(10 / 572)
    )


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"flip": 1}, "flip=1 must be True or False"),
        ({"jitter": "yes"}, "jitter='yes'"),
        ({"min_scale": 0.05}, "min_scale=0.05"),
        ({"elastic": -0.1}, "elastic=-0.1"),
    ],
)
def test_augment_config_refuses_bad_fields_and_train_config_passes_them_on(
    settings, message
):
    with pytest.raises(ValueError, match=message):
        AugmentConfig(**settings)
    with pytest.raises(ValueError, match=message):
        TrainConfig(**settings).validate()


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"epochs": 0}, "epochs=0"),
        ({"learning_rate": 0}, "learning_rate=0"),
        ({"learning_rate": True}, "learning_rate=True"),
        ({"lr_schedule": "step"}, "lr_schedule='step'"),
        ({"loss": "mse"}, "loss='mse'"),
        ({"optimizer": "sgd"}, "optimizer='sgd'"),
        ({"weight_decay": -1e-4}, "weight_decay="),
        ({"steps_per_epoch": 0}, "steps_per_epoch=0"),
        ({"validation_steps": 1.5}, "validation_steps=1.5"),
    ],
)
def test_fit_config_refuses_settings_that_cannot_work(settings, message):
    with pytest.raises(ValueError, match=message):
        FitConfig(**settings).validate()
    with pytest.raises(ValueError, match=message):
        TrainConfig(**settings).validate()


def test_the_names_are_the_ones_the_core_knows():
    assert LOSSES == ("ce", "dice", "ce_dice")
    assert OPTIMIZERS == ("adam", "adamw")
    assert LR_SCHEDULES == ("constant", "cosine")
    for name in OPTIMIZERS:
        FitConfig(optimizer=name).validate()
    assert CHECKPOINTS == ("auto", "best", "final")
    for name in CHECKPOINTS:
        TrainConfig(test_checkpoint=name).validate()


# ----------------------------------------------------------------------------- presets


def test_presets_are_the_one_place_for_settings():
    assert TrainConfig.full_size() == TrainConfig.preset("full")
    assert TrainConfig.preset("cpu", epochs=3).epochs == 3
    for name in PRESETS:
        TrainConfig.preset(name).validate()
    with pytest.raises(ValueError, match="preset='huge' is not known"):
        TrainConfig.preset("huge")


def test_the_tested_checkpoint_is_fixed_before_training():
    assert TrainConfig(lr_schedule="cosine").tested_checkpoint() == "final"
    assert TrainConfig(lr_schedule="constant").tested_checkpoint() == "best"
    assert (
        TrainConfig(lr_schedule="cosine", test_checkpoint="best").tested_checkpoint()
        == "best"
    )
    with pytest.raises(ValueError, match="test_checkpoint"):
        TrainConfig(test_checkpoint="latest").validate()


def test_xla_needs_determinism_off_and_the_cli_flag_does_both():
    with pytest.raises(ValueError, match="jit_compile=True needs deterministic=False"):
        TrainConfig(jit_compile=True).validate()
    TrainConfig(jit_compile=True, deterministic=False).validate()
    TrainConfig.preset("full").validate()
    args = cli.build_parser().parse_args(["train", "--xla"])
    config = cli._train_config(args)
    assert config.jit_compile and not config.deterministic


# ----------------------------------------------------------------------- the command line


def test_cli_defaults_come_from_train_config():
    defaults = TrainConfig()
    summary = cli.build_parser().parse_args(["summary"])
    assert (summary.base_filters, summary.depth, summary.size) == (
        defaults.base_filters,
        defaults.depth,
        defaults.image_size,
    )
    args = cli.build_parser().parse_args(["train"])
    assert cli._train_config(args) == defaults
    args = cli.build_parser().parse_args(["train", "--preset", "cpu", "--epochs", "2"])
    assert cli._train_config(args) == TrainConfig.preset("cpu", epochs=2)


def test_no_test_turns_the_test_score_off_and_changes_nothing_else():
    assert _train_options().evaluate_test is True
    config = _train_options("--preset", "full", "--no-test")
    assert config == TrainConfig.preset("full", evaluate_test=False)


def test_cli_choice_lists_are_the_constants():
    assert _choices("train", "--loss") == list(LOSSES)
    assert _choices("train", "--preset") == list(PRESETS)
    assert _choices("train", "--strategy") == list(STRATEGIES)
    assert _choices("train", "--collective") == list(COLLECTIVES)
    assert _choices("train", "--lr-schedule") == list(LR_SCHEDULES)
    assert _choices("train", "--on-corrupt") == list(ON_CORRUPT)
    assert _choices("train", "--optimizer") == list(OPTIMIZERS)
    assert _choices("evaluate", "--on-corrupt") == list(ON_CORRUPT)
    assert _choices("evaluate", "--split") == list(ut.SPLITS)


def test_flip_optimizer_and_weight_decay_reach_train_config():
    default = _train_options()
    assert default.flip is True and default.optimizer == "adam"
    assert default.weight_decay == 0.0
    assert _train_options("--no-flip").flip is False
    assert _train_options("--no-flip").augment_settings().flip is False
    assert _train_options("--flip").flip is True
    # --flip on top of a preset keeps the preset's other settings
    assert _train_options("--preset", "cpu", "--no-flip") == TrainConfig.preset(
        "cpu", flip=False
    )
    config = _train_options("--optimizer", "adamw", "--weight-decay", "1e-4")
    assert (config.optimizer, config.weight_decay) == ("adamw", 1e-4)
    assert config.fit_config().optimizer == "adamw"
    assert config.fit_config().weight_decay == 1e-4
    with pytest.raises(SystemExit):
        _train_options("--optimizer", "sgd")
    with pytest.raises(ValueError, match="weight_decay=-1"):
        _train_options("--weight-decay", "-1")


def test_isbi_preset_is_the_papers_setting_at_cpu_scale():
    config = TrainConfig.preset("isbi", source="em", output_dir="runs/em")
    config.validate()
    assert (config.padding, config.image_size, config.channels) == ("valid", None, 1)
    assert config.num_classes == 2 and config.weight_map and config.loss == "ce"
    assert config.rotate90 and config.flip and config.min_scale == 1.0
    assert config.source == "em" and TrainConfig.preset("isbi").source == (
        "$UNET_TUTORIAL_ISBI_DIR"
    )
    # 10 px on the input crop, as in the paper
    assert config.augment_settings().elastic * config.crop_size == pytest.approx(10)
    assert ut.is_valid_input_size(config.crop_size, config.depth, "valid")


def test_crop_size_is_the_input_size_and_must_fit_the_depth():
    with pytest.raises(ValueError, match=r"crop_size=250 .* sizes are 244 and 252"):
        TrainConfig(image_size=None, crop_size=250, padding="valid", depth=3).validate()
    TrainConfig(image_size=None, crop_size=96, padding="same", depth=4).validate()
    with pytest.raises(ValueError, match="needs crop_size"):
        TrainConfig(image_size=None).validate()
    with pytest.raises(ValueError, match="loss='ce'"):
        TrainConfig(weight_map=True, loss="dice").validate()
    with pytest.raises(ValueError, match="both set"):
        TrainConfig(elastic=0.02, elastic_px=10.0).validate()
    with pytest.raises(ValueError, match="channels"):
        TrainConfig(channels=2).validate()


def test_a_train_config_is_checked_once_when_made(monkeypatch):
    with pytest.raises(ValueError, match=r"image_size=100 \(the model's input size\)"):
        TrainConfig(image_size=100)
    with pytest.raises(ValueError, match="epochs=0"):
        replace(TrainConfig(), epochs=0)
    calls = []
    monkeypatch.setattr(TrainConfig, "validate", lambda self: calls.append(self))
    args = cli.build_parser().parse_args(["train", "--epochs", "2"])
    calls.clear()  # the parser's defaults come from a TrainConfig() of their own
    config = cli._train_config(args)
    assert config.epochs == 2 and len(calls) == 1 and calls[0] is config
