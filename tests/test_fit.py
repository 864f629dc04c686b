"""Compile and fit (unet_tutorial.fit): the optimizer, the step-size schedule, and
``compile_and_fit`` with a ``FitConfig``.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

import unet_tutorial as ut


def _data(n: int = 4, size: int = 16) -> tf.data.Dataset:
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(n, size, size, 3)).astype(np.float32)
    y = rng.integers(0, 3, (n, size, size)).astype(np.int32)
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(2)


def _model() -> keras.Model:
    return ut.build_unet((16, 16, 3), 3, base_filters=2, depth=1)


@pytest.mark.parametrize(
    ("name", "weight_decay", "kind"),
    [
        ("adam", 0.0, keras.optimizers.Adam),
        ("adam", 1e-4, keras.optimizers.Adam),
        ("adamw", 1e-4, keras.optimizers.AdamW),
        ("adamw", 0.0, keras.optimizers.AdamW),
    ],
)
def test_make_optimizer_gives_the_named_optimizer_and_its_decay(
    name, weight_decay, kind
):
    optimizer = ut.make_optimizer(name, 1e-3, weight_decay)
    assert type(optimizer) is kind
    if weight_decay:
        assert optimizer.weight_decay == pytest.approx(weight_decay)
    with pytest.raises(ValueError, match="optimizer='sgd'"):
        ut.make_optimizer("sgd", 1e-3)


def test_the_cosine_schedule_warms_up_then_decays_to_zero():
    assert ut.learning_rate_schedule(1e-3, "constant", 10, 5) == 1e-3
    lr = ut.learning_rate_schedule(1e-3, "cosine", 10, 5)
    steps = [0, 5, 10, 30, 50]
    values = [float(lr(s)) for s in steps]
    assert values[0] == 0.0 and values[1] == pytest.approx(5e-4)
    assert values[2] == pytest.approx(1e-3) and values[2] > values[3] > values[4]
    assert values[4] == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError, match="schedule='step'"):
        ut.learning_rate_schedule(1e-3, "step", 10, 5)


def test_compile_and_fit_hands_fit_the_config_and_the_callbacks(monkeypatch):
    model = _model()
    seen = {}

    def fake_fit(x, **kwargs):  # what fit was asked to do, without training
        seen.update(kwargs, x=x)
        return "history"

    monkeypatch.setattr(model, "fit", fake_fit)
    train, val, log = _data(), _data(2), ut.EpochLog()
    config = ut.FitConfig(
        epochs=3,
        learning_rate=2e-3,
        lr_schedule="cosine",
        loss="ce",
        optimizer="adamw",
        weight_decay=1e-4,
        steps_per_epoch=2,
        validation_steps=1,
    )
    assert ut.compile_and_fit(model, train, val, config, [log], verbose=0) == "history"
    expected = dict(
        x=train,
        epochs=3,
        steps_per_epoch=2,
        validation_data=val,
        validation_steps=1,
        callbacks=[log],
        verbose=0,
    )
    assert {k: seen.get(k) for k in expected} == expected
    assert type(model.optimizer) is keras.optimizers.AdamW
    assert model.optimizer.weight_decay == pytest.approx(1e-4)
    # cosine: a warm-up over the first epoch's 2 steps, then a decay over the other 4
    schedule = model.optimizer._learning_rate
    assert isinstance(schedule, keras.optimizers.schedules.CosineDecay)
    assert (schedule.warmup_steps, schedule.decay_steps) == (2, 4)
    assert schedule.warmup_target == pytest.approx(2e-3)
    compiled = model.get_compile_config()
    assert compiled["jit_compile"] is False
    # weighted: a weight-0 pixel (an ignore value) counts in no metric
    metrics = str(compiled["weighted_metrics"])
    assert "mean_iou" in metrics and "iou_border" in metrics


@pytest.mark.slow
@pytest.mark.parametrize(
    ("optimizer", "weight_decay", "loss", "kind", "loss_kind"),
    [
        ("adam", 0.0, "ce_dice", keras.optimizers.Adam, ut.CEDiceLoss),
        ("adamw", 1e-3, "dice", keras.optimizers.AdamW, ut.DiceLoss),
    ],
)
def test_compile_and_fit_compiles_what_the_config_says_and_returns_the_history(
    optimizer, weight_decay, loss, kind, loss_kind
):
    keras.utils.set_random_seed(0)
    model = _model()
    config = ut.FitConfig(
        epochs=1, loss=loss, optimizer=optimizer, weight_decay=weight_decay
    )
    history = ut.compile_and_fit(model, _data(), _data(2), config, verbose=0)
    assert isinstance(history, keras.callbacks.History)
    assert type(model.optimizer) is kind
    if weight_decay:
        assert model.optimizer.weight_decay == pytest.approx(weight_decay)
    assert isinstance(model.loss, loss_kind)
    assert int(model.optimizer.iterations) == 2  # 4 images in batches of 2
    for key in ("loss", "val_loss", "val_mean_iou", "val_pixel_accuracy"):
        assert len(history.history[key]) == 1 and np.isfinite(history.history[key][0])


def test_compile_and_fit_needs_steps_per_epoch_for_a_dataset_of_unknown_size():
    model = _model()
    endless = _data().filter(lambda *a: True)  # filter: the size is not known
    assert int(endless.cardinality()) == tf.data.UNKNOWN_CARDINALITY
    with pytest.raises(ValueError, match="steps_per_epoch"):
        ut.compile_and_fit(model, endless, _data(2), ut.FitConfig(epochs=1))
    assert not model.compiled  # refused before compiling


@pytest.mark.slow
def test_metrics_leave_out_pixels_of_weight_zero_and_count_the_others_once():
    """An ignore value reaches fit as weight-0 pixels: they count in no metric. A
    weight map weights the loss only: every other pixel counts once in the scores.
    """
    model = ut.build_unet((16, 16, 1), 2, base_filters=2, depth=1)
    x = np.random.default_rng(0).random((2, 16, 16, 1)).astype("float32")
    y0 = np.zeros((2, 16, 16), "int32")
    ds = tf.data.Dataset.from_tensor_slices((x, y0)).batch(2)
    ut.compile_and_fit(model, ds, None, ut.FitConfig(epochs=1), verbose=0)
    pred = model.predict(x, verbose=0).argmax(-1).astype("int32")
    y, w = 1 - pred, np.zeros(pred.shape, "float32")  # every pixel wrong ...
    w[:, 8:, :8] = 3.0  # ... the bottom-left quarter labelled and weighted 3
    y[:, 8:, 8:], w[:, 8:, 8:] = pred[:, 8:, 8:], 0.5  # right, and weighted 0.5
    weighted = tf.data.Dataset.from_tensor_slices((x, y, w)).batch(2)
    scores = model.evaluate(weighted, verbose=0, return_dict=True)
    # half of the labelled pixels are right (weighted by w it would be 1/7)
    assert scores["pixel_accuracy"] == pytest.approx(0.5)
    plain = tf.data.Dataset.from_tensor_slices((x, y)).batch(2)
    # without weights the top half counts too: a quarter of all pixels is right
    assert model.evaluate(plain, verbose=0, return_dict=True)[
        "pixel_accuracy"
    ] == pytest.approx(0.25)
