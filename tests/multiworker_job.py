"""One worker of the two-process training in ``test_multiworker.py`` (not a test itself).

    TF_CONFIG=... python tests/multiworker_job.py RUN_DIR OWN_DIR EPOCHS [--kill-at EPOCH]

Trains ``TINY`` under ``MultiWorkerMirroredStrategy`` (the CPU ring
all-reduce) into ``RUN_DIR``, then writes ``OWN_DIR/result.json`` (the epochs
this start ran, the history it returned) and ``OWN_DIR/weights.npz``, a
folder of its own, so the test can compare what the workers ended with.
``--kill-at E`` makes this process kill itself (SIGKILL, as a crash would)
after the first batch of epoch ``E``; ``--kill-in-test`` makes the chief kill
itself when it starts scoring the test split (after the last epoch and
``final.keras``).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
from conftest import TINY  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("run_dir")
    p.add_argument("own_dir")
    p.add_argument("epochs", type=int)
    p.add_argument("--kill-at", type=int)
    p.add_argument("--kill-in-test", action="store_true")
    args = p.parse_args()

    import unet_tutorial as ut  # the strategy must exist before any other TensorFlow work

    strategy = ut.engine.make_strategy("multiworker", collective="ring")
    import keras
    import numpy as np

    class KillSelf(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if self.epoch == args.kill_at:
                os.kill(os.getpid(), signal.SIGKILL)

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

    if args.kill_in_test:
        from unet_tutorial.engine import training

        def die(*a, **k):
            print("KILLED in the test scoring", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)

        training.evaluate = die  # only the chief scores the test split

    config = ut.TrainConfig(epochs=args.epochs, output_dir=args.run_dir, **TINY)
    callbacks = [KillSelf()] if args.kill_at is not None else []
    result = ut.train(config, strategy=strategy, callbacks=callbacks, verbose=0)
    own = Path(args.own_dir)
    own.mkdir(parents=True, exist_ok=True)
    np.savez(own / "weights.npz", *result.model.get_weights())
    role = ut.engine.worker_role(strategy)
    (own / "result.json").write_text(
        json.dumps(
            {
                "epochs_run": result.epochs_run,
                "history_epochs": result.history["epoch"],
                "chief": role.is_chief,
                "replicas": strategy.num_replicas_in_sync,
            }
        )
    )


if __name__ == "__main__":
    main()
