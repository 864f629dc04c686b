"""Time a few training epochs of the ``isbi`` preset on the real EM slices.

Used to size ``TrainConfig.preset("isbi")`` to about 8 minutes on two CPU
cores: ``python benchmarks/isbi_timing.py FOLDER [EPOCHS]`` trains
``EPOCHS`` (default 2) epochs of the preset into a temporary folder and
prints the seconds of each (the first includes tracing).
"""

from __future__ import annotations

import sys
import tempfile
import time

import keras

import unet_tutorial as ut


class _Clock(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        print(f"epoch {epoch}: {time.perf_counter() - self.start:.1f} s", flush=True)


def main(folder: str, epochs: int = 2, **overrides) -> None:
    with tempfile.TemporaryDirectory() as out:
        config = ut.TrainConfig.preset(
            "isbi",
            source=folder,
            output_dir=out,
            epochs=epochs,
            evaluate_test=False,
            **overrides,
        )
        print(config)
        ut.train(config, callbacks=[_Clock()], verbose=0)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 2)
