"""Losses, metrics, weight maps, train(): resume after a kill, determinism, a mirrored strategy."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

import unet_tutorial as ut

TINY = dict(base_filters=4, depth=2, image_size=32, batch_size=8, source="synthetic", num_examples=(16, 8, 8))


def _logits_for(pred: np.ndarray, num_classes: int = 3) -> np.ndarray:
    """Logits whose argmax is ``pred``: a one-hot of height 5."""
    return (np.eye(num_classes)[pred] * 5.0).astype(np.float32)


# --------------------------------------------------------------------------- metrics by hand


def test_metrics_against_hand_computed_masks():
    true = np.array([[[0, 0, 1, 1], [0, 0, 1, 1]]])  # 1 x 2 x 4: four pet, four background
    pred = np.array([[[0, 1, 1, 1], [0, 0, 1, 0]]])
    # pet: TP 3, FP 1 (last pixel), FN 1 -> IoU 3/5; background: TP 3, FP 1, FN 1 -> 3/5
    # border: absent from both masks -> undefined, left out of the mean
    scores = {m.name: m for m in ut.segmentation_metrics()}
    for m in scores.values():
        m.update_state(true, _logits_for(pred))
    r = {k: float(m.result()) for k, m in scores.items()}
    assert r["pixel_accuracy"] == pytest.approx(6 / 8)
    assert r["iou_pet"] == pytest.approx(3 / 5)
    assert r["iou_background"] == pytest.approx(3 / 5)
    assert r["iou_border"] == 0.0  # per-class convention for an absent class
    assert r["mean_iou"] == pytest.approx(3 / 5)  # mean over the two present classes, not /3
    assert r["dice"] == pytest.approx(2 * 3 / (2 * 3 + 1 + 1))  # 0.75 for both present classes


def test_a_class_predicted_but_absent_from_the_truth_counts_as_zero():
    true = np.zeros((1, 2, 2), int)
    pred = np.array([[[0, 0], [0, 2]]])
    m = keras.metrics.MeanIoU(3, sparse_y_pred=False)
    m.update_state(true, _logits_for(pred))
    # pet IoU 3/4, border IoU 0/1 = 0 (it was predicted), background left out
    assert float(m.result()) == pytest.approx((3 / 4 + 0) / 2)


def test_evaluate_matches_hand_numbers():
    true = np.array([[[0, 0, 1, 1], [0, 0, 1, 1]]], np.int32)
    pred = np.array([[[0, 1, 1, 1], [0, 0, 1, 0]]])
    model = keras.Sequential([keras.Input((2, 4, 3)), keras.layers.Identity()])
    ds = tf.data.Dataset.from_tensor_slices((_logits_for(pred), true)).batch(1)
    ev = ut.evaluate(model, ds)
    assert ev.per_class_iou == {"pet": pytest.approx(0.6), "background": pytest.approx(0.6), "border": 0.0}
    assert ev.pixel_accuracy == pytest.approx(0.75) and ev.num_images == 1
    assert "| IoU pet | 0.600 |" in ev.table()


def test_dice_loss_is_zero_for_a_perfect_prediction_and_large_for_a_wrong_one():
    true = np.array([[[0, 1], [2, 1]]])
    loss = ut.DiceLoss(3)
    assert float(loss(true, _logits_for(true) * 4)) < 0.01
    assert float(loss(true, _logits_for((true + 1) % 3) * 4)) > 0.9


# --------------------------------------------------------------------------- the paper's weight map


def _two_touching_squares():
    mask = np.ones((40, 41), int)  # background 1
    mask[10:30, 5:19] = 0  # left object
    mask[10:30, 22:36] = 0  # right object, a 3-pixel gap at columns 19..21
    return mask


def test_weight_map_peaks_in_the_gap_between_touching_objects():
    mask = _two_touching_squares()
    w = ut.unet_weight_map(mask)
    peak = np.unravel_index(np.argmax(w), w.shape)
    assert 10 <= peak[0] < 30 and 19 <= peak[1] <= 21  # inside the gap
    assert w[20, 20] > w[20, 2] + 5  # the gap outweighs open background by far


def test_weight_map_is_symmetric_for_a_symmetric_mask():
    mask = _two_touching_squares()
    assert np.array_equal(mask, mask[:, ::-1])
    w = ut.unet_weight_map(mask)
    np.testing.assert_allclose(w, w[:, ::-1], atol=1e-5)
    np.testing.assert_allclose(w, w[::-1, :], atol=1e-5)


def test_weight_map_is_at_least_the_class_weight_everywhere():
    mask = _two_touching_squares()
    wc = np.array([2.0, 0.5, 1.0])
    w = ut.unet_weight_map(mask, class_weights=wc)
    assert (w >= wc[mask] - 1e-6).all()
    single = np.ones((20, 20), int)
    single[5:15, 5:15] = 0
    np.testing.assert_allclose(ut.unet_weight_map(single, class_weights=wc), wc[single])  # no gap, no term


def test_weight_maps_work_as_sample_weights():
    x, y = ut.make_synthetic_pets(4, 32, seed=0)
    ds = ut.add_unet_weight_maps(tf.data.Dataset.from_tensor_slices((x, y)).batch(2))
    xb, yb, wb = next(iter(ds))
    assert wb.shape == yb.shape and float(tf.reduce_min(wb)) > 0
    model = ut.build_unet((32, 32, 3), 3, base_filters=2, depth=1)
    model.compile("adam", ut.cross_entropy_loss())
    assert np.isfinite(model.fit(ds, epochs=1, verbose=0).history["loss"][0])


# --------------------------------------------------------------------------- training


def test_ce_dice_goes_down_over_a_tiny_fit():
    ut.set_seed(0)
    x, y = ut.make_synthetic_pets(16, 32, seed=0)
    model = ut.build_unet((32, 32, 3), 3, base_filters=4, depth=2)
    model.compile(keras.optimizers.Adam(3e-3), ut.CEDiceLoss(3))
    hist = model.fit(x, y, batch_size=8, epochs=10, verbose=0).history["loss"]
    assert hist[-1] < 0.8 * hist[0]


def test_train_writes_its_files_and_reloads_safely(tmp_path):
    result = ut.train(ut.TrainConfig(epochs=2, output_dir=str(tmp_path / "run"), **TINY), verbose=0)
    assert result.epochs_run == [0, 1] and result.history["epoch"] == [0, 1]
    assert result.data.is_stand_in
    for key in ("best", "final", "history", "config"):
        assert result.paths[key].is_file(), key
    images, masks, preds = ut.load_snapshots(result.paths["snapshots"])
    assert images.shape == (4, 32, 32, 3) and masks.shape == (4, 32, 32) and len(preds) == 2
    model = keras.saving.load_model(result.paths["best"], safe_mode=True)
    x = images[:2]
    assert model.predict(x, verbose=0).shape == (2, 32, 32, 3)
    again = keras.saving.load_model(result.paths["final"], safe_mode=True)
    np.testing.assert_allclose(again.predict(x, verbose=0), result.model.predict(x, verbose=0), atol=1e-6)


def test_two_runs_with_the_same_seed_give_identical_losses(tmp_path):
    a = ut.train(ut.TrainConfig(epochs=2, output_dir=str(tmp_path / "a"), seed=3, **TINY), verbose=0)
    b = ut.train(ut.TrainConfig(epochs=2, output_dir=str(tmp_path / "b"), seed=3, **TINY), verbose=0)
    assert a.history["loss"] == b.history["loss"]
    assert a.history["val_loss"] == b.history["val_loss"]
    c = ut.train(ut.TrainConfig(epochs=2, output_dir=str(tmp_path / "c"), seed=4, **TINY), verbose=0)
    assert c.history["loss"] != a.history["loss"]


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="epochs=0"):
        ut.train(ut.TrainConfig(epochs=0))
    with pytest.raises(ValueError, match="loss='mse'"):
        ut.train(ut.TrainConfig(loss="mse"))
    with pytest.raises(ValueError, match="nearest valid sizes are 96 and 112"):
        ut.train(ut.TrainConfig(image_size=100))


RUNNER = textwrap.dedent(
    """
    import os, signal, sys
    import keras
    import unet_tutorial as ut

    kill_before = int(sys.argv[2])  # SIGKILL ourselves when this epoch begins (-1: never)

    class Killer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            print(f"EPOCH_BEGIN {epoch}", flush=True)
            if epoch == kill_before:
                os.kill(os.getpid(), signal.SIGKILL)

    cfg = ut.TrainConfig(epochs=4, output_dir=sys.argv[1], base_filters=4, depth=2, image_size=32,
                         batch_size=8, source="synthetic", num_examples=(16, 8, 8))
    result = ut.train(cfg, callbacks=[Killer()], verbose=0)
    print("EPOCHS_RUN", result.epochs_run, flush=True)
    """
)


def test_a_killed_run_resumes_at_the_next_epoch_and_loses_nothing(tmp_path):
    script = tmp_path / "runner.py"
    script.write_text(RUNNER)
    out = tmp_path / "run"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    k = 1  # epochs 0 and 1 finish, the process dies as epoch 2 begins
    first = subprocess.run(
        [sys.executable, str(script), str(out), str(k + 1)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert first.returncode == -9, first.stderr[-2000:]
    assert "EPOCH_BEGIN 2" in first.stdout
    assert [r["epoch"] for r in ut.read_history(out / "history.csv")] == ["0", "1"]
    assert (out / "backup").is_dir()

    second = subprocess.run(
        [sys.executable, str(script), str(out), "-1"], capture_output=True, text=True, env=env, timeout=600
    )
    assert second.returncode == 0, second.stderr[-2000:]
    begins = [int(line.split()[1]) for line in second.stdout.splitlines() if line.startswith("EPOCH_BEGIN")]
    assert begins == [k + 1, k + 2]  # resumed at epoch k+1, nothing redone
    assert "EPOCHS_RUN [2, 3]" in second.stdout
    rows = ut.read_history(out / "history.csv")
    assert [r["epoch"] for r in rows] == ["0", "1", "2", "3"]  # every finished epoch exactly once
    assert not (out / "backup").exists()  # a finished run cleans its backup


MIRRORED = textwrap.dedent(
    """
    import sys
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import unet_tutorial as ut

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    cfg = ut.TrainConfig(epochs=1, output_dir=sys.argv[1], base_filters=4, depth=2, image_size=32,
                         batch_size=8, source="synthetic", num_examples=(16, 8, 8), snapshot_images=2)
    result = ut.train(cfg, strategy=strategy, verbose=0)
    print("REPLICAS", strategy.num_replicas_in_sync)
    print("LOSS", result.history["loss"][0])
    """
)


def test_training_runs_unchanged_under_a_mirrored_strategy_on_two_cpus(tmp_path):
    script = tmp_path / "mirrored.py"
    script.write_text(MIRRORED)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "run")],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "REPLICAS 2" in proc.stdout
    loss = float(proc.stdout.split("LOSS")[1].split()[0])
    assert np.isfinite(loss)


def test_overwrite_replaces_a_finished_run_from_scratch(tmp_path):
    out = str(tmp_path / "run")
    ut.train(ut.TrainConfig(epochs=3, output_dir=out, **TINY), verbose=0)
    import time

    started = time.time()
    again = ut.train(ut.TrainConfig(epochs=1, output_dir=out, seed=5, **TINY), verbose=0, overwrite=True)
    assert again.history["epoch"] == [0]  # the old run's three rows are gone
    _, _, preds = ut.load_snapshots(again.paths["snapshots"])
    assert len(preds) == 1  # and so are its later snapshots
    assert again.paths["best"].stat().st_mtime >= started  # the new run wrote its own best model
