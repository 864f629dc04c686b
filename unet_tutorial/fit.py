"""Fitting a U-Net with plain Keras: ``compile`` with a loss and metrics, then ``fit``.

``compile_and_fit`` is the whole of it, as the TensorFlow tutorial and the
keras.io example write it: an optimizer and its step-size schedule, the loss,
the metrics, the callbacks, and ``model.fit``. The engine's ``train`` calls it
and adds what a long run needs around it (a run folder, resuming after a
kill, a lock, a NaN guard, the test score); see ``unet_tutorial.engine``.
"""

from __future__ import annotations

import os
import random
import time

import keras
import numpy as np
import tensorflow as tf

from .checks import check_choice, is_whole
from .losses import get_loss
from .metrics import segmentation_metrics
from .settings import LR_SCHEDULES, OPTIMIZERS, FitConfig


def set_seed(seed: int, deterministic: bool = True) -> None:
    """Seed Python, NumPy, TensorFlow and Keras; optionally make TensorFlow's ops
    deterministic.

    With the same seed and ``deterministic=True``, two runs on the same
    machine and software give the same losses. Determinism costs speed on GPUs
    (deterministic kernels), raises for the few ops that have no deterministic
    version, and **turns XLA off**: a model compiled while op determinism is on
    runs without XLA (``jit_compile="auto"`` says nothing; an explicit
    ``jit_compile=True`` warns and proceeds without it; checked on TensorFlow
    2.21 with Keras 3.15). ``deterministic=False`` turns it off again, so that
    ``jit_compile=True`` really compiles; runs then agree only closely.
    """
    if not is_whole(seed, 0) or seed >= 2**32:
        raise ValueError(f"seed={seed!r} must be an integer from 0 to 2**32 - 1.")
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)  # Python, NumPy and the TensorFlow backend
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    else:
        from tensorflow.python.framework import config as tf_config

        tf_config.disable_op_determinism()


def learning_rate_schedule(
    peak: float, schedule: str, steps_per_epoch: int, epochs: int
):
    """Adam's step size: a number (``"constant"``) or a Keras schedule (``"cosine"``).

    ``"cosine"`` warms up linearly from 0 over the first epoch (Adam's early
    steps, with BN statistics still moving, are the least reliable), then
    decays along a half cosine to 0 at the last step: large steps while the
    model is far off, small ones to settle in a good minimum. On the CPU
    recipe this stops the validation score swinging from epoch to epoch.

    Args:
        peak: the largest step size.
        schedule: ``"constant"`` or ``"cosine"``.
        steps_per_epoch: batches per epoch.
        epochs: epochs of the run.
    """
    if schedule == "constant":
        return peak
    check_choice("schedule", schedule, LR_SCHEDULES)
    warmup = max(1, steps_per_epoch)
    total = max(warmup + 1, steps_per_epoch * epochs)
    return keras.optimizers.schedules.CosineDecay(
        0.0, total - warmup, alpha=0.0, warmup_target=peak, warmup_steps=warmup
    )


def make_optimizer(name: str, learning_rate, weight_decay: float = 0.0):
    """``"adam"`` or ``"adamw"``, with a step size (a number or a schedule).

    Keras applies ``weight_decay`` decoupled from the gradient for both (each
    step shrinks every weight by ``learning_rate * weight_decay`` of itself),
    so ``"adamw"`` with a decay of 0 is Adam.
    """
    check_choice("optimizer", name, OPTIMIZERS)
    if name == "adamw":
        return keras.optimizers.AdamW(learning_rate, weight_decay=weight_decay)
    return keras.optimizers.Adam(learning_rate, weight_decay=weight_decay or None)


class EpochLog(keras.callbacks.Callback):
    """Print one short line per finished epoch: time, loss and the validation scores
    that matter.

    Keras' own ``verbose=2`` line lists every metric twice; in a notebook this
    log shows the run progressing, epoch by epoch, as it happens, e.g.
    ``epoch  7/40   70 s  loss 1.099 | val mIoU 0.446  acc 0.712  border 0.210``.

    Args:
        metrics: ``{validation metric: short label}`` to show.
    """

    def __init__(self, metrics: dict[str, str] | None = None):
        super().__init__()
        self.metrics = metrics or {
            "mean_iou": "mIoU",
            "pixel_accuracy": "acc",
            "iou_border": "border",
        }

    def on_train_begin(self, logs=None):
        self._start = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        total = self.params.get("epochs", "?")
        elapsed, loss = time.monotonic() - self._start, logs.get("loss", float("nan"))
        head = f"epoch {epoch + 1:>2}/{total} {elapsed:5.0f} s  loss {loss:.3f}"
        scores = [
            f"{label} {logs[f'val_{m}']:.3f}"
            for m, label in self.metrics.items()
            if f"val_{m}" in logs
        ]
        print(head + (" | val " + "  ".join(scores) if scores else ""), flush=True)


# ------------------------------------------------------------- several replicas


def shard_by_data(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """``dataset`` set to be split between workers by element, not by input file.

    A distributed ``fit`` splits each global batch between the replicas;
    between *workers* tf.data's automatic sharding would first try to give
    each worker whole input files, which fails or is uneven when there are
    fewer files than workers (a tfds split of a few TFRecord files, one
    array). ``DATA`` makes every worker run the same seeded pipeline and
    keep its own share of it. The setting does nothing without distribution.
    """
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = (
        tf.data.experimental.AutoShardPolicy.DATA
    )
    return dataset.with_options(options)


def synchronize_batch_norm(model) -> int:
    """Make every ``BatchNormalization`` layer of ``model`` use the statistics of the
    global batch.

    With *n* replicas each one normalises its own 1/n of the batch and, left
    alone, also keeps its own moving mean and variance: after training, the
    workers of one run would hold different ``moving_mean`` weights (measured:
    the trainable weights agree bit for bit, the moving statistics differ by
    up to 3e-2). ``synchronized=True`` all-reduces the batch mean and variance
    across replicas at every step (three small all-reduces per layer: the sum,
    the sum of squares and the count), so every
    replica normalises with, and averages, the statistics of the whole global
    batch, as one device would.

    Returns:
        How many layers were switched.
    """
    count = 0
    for layer in model._flatten_layers(include_self=False):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.synchronized = True
            count += 1
    return count


# ------------------------------------------------------------------ compile and fit


def compile_and_fit(
    model: keras.Model,
    train_ds: tf.data.Dataset,
    val_ds: tf.data.Dataset | None,
    config: FitConfig,
    callbacks: list | tuple = (),
    verbose: int | str = "auto",
    class_names: tuple[str, ...] | None = None,
) -> keras.callbacks.History:
    """Compile ``model`` with the loss and metrics of ``config``, then train it.

    ``train_ds`` and ``val_ds`` (never the test split) hold images ``(batch, H, W,
    C)``, masks ``(batch, H, W)`` and optional pixel weights ``(batch, H, W)``:
    they weight the loss, and a pixel of weight 0 (an ignore value) counts in
    no metric. ``callbacks``: e.g. ``[EpochLog()]``; ``class_names`` name the
    per-class IoUs. Returns the ``History`` of ``fit``.
    """
    num_classes = model.output_shape[-1]
    steps = config.steps_per_epoch or int(train_ds.cardinality())
    if steps < 1:  # an endless or unknown-size dataset
        raise ValueError("set config.steps_per_epoch: train_ds has no known size")
    lr = learning_rate_schedule(
        config.learning_rate, config.lr_schedule, steps, config.epochs
    )
    model.compile(
        optimizer=make_optimizer(config.optimizer, lr, config.weight_decay),
        loss=get_loss(config.loss, num_classes),
        weighted_metrics=segmentation_metrics(num_classes, class_names),
        jit_compile=config.jit_compile,
    )
    return model.fit(
        train_ds,
        epochs=config.epochs,
        steps_per_epoch=config.steps_per_epoch,
        validation_data=val_ds,
        validation_steps=config.validation_steps,
        callbacks=list(callbacks),
        verbose=verbose,
        shuffle=False,  # the dataset shuffles itself (finish_pipeline)
    )
