"""Shared fixtures: a tiny Oxford-IIIT Pet in the official layout, and a tfds mock."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402


def make_trimap(
    h: int, w: int, top: int, left: int, bottom: int, right: int
) -> np.ndarray:
    """An Oxford-style trimap: 1 inside the box, 3 on its 2-pixel outline band, 2 elsewhere."""
    tri = np.full((h, w), 2, np.uint8)
    tri[top - 2 : bottom + 2, left - 2 : right + 2] = 3
    tri[top:bottom, left:right] = 1
    return tri


def write_official_layout(
    root: Path, names_train: list[str], names_test: list[str], seed: int = 0
) -> Path:
    """Write images/*.jpg, annotations/trimaps/*.png and the two split lists under ``root``."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "annotations" / "trimaps").mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names_train + names_test):
        h, w = 48 + 4 * i, 64
        image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        Image.fromarray(image).save(root / "images" / f"{name}.jpg", quality=95)
        Image.fromarray(make_trimap(h, w, 10, 12, 30, 40)).save(
            root / "annotations" / "trimaps" / f"{name}.png"
        )
    header = "#Image CLASS-ID SPECIES BREED ID\n"
    for fname, names in (("trainval.txt", names_train), ("test.txt", names_test)):
        lines = [
            f"{n} {1 + k % 37} {1 + k % 2} {1 + k % 25}" for k, n in enumerate(names)
        ]
        (root / "annotations" / fname).write_text(header + "\n".join(lines) + "\n")
    return root


TINY = dict(
    base_filters=4,
    depth=2,
    image_size=32,
    batch_size=8,
    source="synthetic",
    num_examples=(16, 8, 8),
)
"""The smallest useful training settings: a U-Net of 4 base filters on 16 synthetic 32 px images."""

TINY_CLI = [
    "--source",
    TINY["source"],
    "--synthetic-examples",
    *map(str, TINY["num_examples"]),
    "--size",
    str(TINY["image_size"]),
    "--base-filters",
    str(TINY["base_filters"]),
    "--depth",
    str(TINY["depth"]),
    "--batch-size",
    str(TINY["batch_size"]),
]
"""``TINY`` on the command line."""

TRAINED_FIXTURES = {"tiny_run", "trained", "finished", "ce_dice_model"}
"""Fixtures that train (or load) a model in another step: a test that uses one must be
marked ``slow`` itself.
"""


def caught_signals(pid: int | str = "self") -> int:
    """The signals process ``pid`` has a handler of its own for, as the kernel sees
    them (``SigCgt`` in ``/proc``: bit ``n - 1`` for signal ``n``), including handlers
    set in C, which Python's ``signal.getsignal`` does not see."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return int(line.split()[1], 16)
    raise AssertionError(f"no SigCgt line for process {pid}")


def pytest_collection_modifyitems(items):
    """Refuse to run a test that uses a trained fixture without ``@pytest.mark.slow``.

    Nothing is marked here: every slow test says so itself. This only keeps
    ``-m "not slow"`` from training a model through a forgotten mark.
    """
    unmarked = [
        item.nodeid
        for item in items
        if TRAINED_FIXTURES & set(getattr(item, "fixturenames", ()))
        and item.get_closest_marker("slow") is None
    ]
    if unmarked:
        raise pytest.UsageError(
            "these tests use a trained fixture but are not marked slow:\n  "
            + "\n  ".join(unmarked)
        )


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """One tiny finished run (``TINY``, 2 epochs), shared by every test that only reads a trained run."""
    import unet_tutorial as ut

    out = tmp_path_factory.mktemp("tiny") / "run"
    return ut.train(ut.TrainConfig(epochs=2, output_dir=str(out), **TINY), verbose=0)


SAVE_CE_DICE = """
import sys

import numpy as np

import unet_tutorial as ut

model = ut.build_unet((32, 32, 3), 3, base_filters=4, depth=2)
model.compile(optimizer="adam", loss=ut.CEDiceLoss(3), metrics=ut.segmentation_metrics(3))
rng = np.random.default_rng(0)
x = rng.uniform(size=(2, 32, 32, 3)).astype("float32")
y = rng.integers(0, 3, (2, 32, 32)).astype("int32")
model.fit(x, y, batch_size=2, epochs=1, verbose=0)
model.save(sys.argv[1])
"""


@pytest.fixture(scope="session")
def ce_dice_model(tmp_path_factory) -> Path:
    """A tiny U-Net compiled with ``CEDiceLoss`` and the package's metrics, fitted one
    step and saved to a ``.keras`` file by another process (so nothing of this one's
    Keras registrations is in it).
    """
    import subprocess
    import sys

    path = tmp_path_factory.mktemp("ce_dice") / "ce_dice.keras"
    proc = subprocess.run(
        [sys.executable, "-c", SAVE_CE_DICE, str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""},
    )
    assert proc.returncode == 0 and path.is_file(), proc.stderr[-3000:]
    return path


def logits_for(pred: np.ndarray, num_classes: int = 3) -> np.ndarray:
    """Logits whose argmax is ``pred``: a one-hot of height 5."""
    return (np.eye(num_classes)[pred] * 5.0).astype(np.float32)


@pytest.fixture
def pets_dir(tmp_path: Path) -> Path:
    """A tiny dataset in the official extracted layout: 3 train and 2 test examples."""
    return write_official_layout(
        tmp_path / "oxford_pets",
        ["Abyssinian_1", "beagle_2", "pug_3"],
        ["Bengal_4", "boxer_5"],
    )


MOCK_TFDS_TRAIN = 20  # two breeds of 10: the validation hold-out keeps 1 of each
MOCK_TFDS_TEST = 4


@pytest.fixture
def mock_oxford_tfds(monkeypatch):
    """tfds' ``oxford_iiit_pet``, prepared, mocked with *real* trimaps (values {1, 2, 3}, image-sized).

    tfds' default mock fills ``segmentation_mask`` with random noise, which
    would test nothing about the label mapping; this ``as_dataset_fn`` yields
    images of varied sizes with a box-shaped pet, named and labelled by breed
    as in the real data (``train`` is the trainval list).
    """
    import tensorflow as tf
    import tensorflow_datasets as tfds

    def as_dataset(self, split, *args, **kwargs):
        train = str(split).startswith("train")
        n = MOCK_TFDS_TRAIN if train else MOCK_TFDS_TEST

        def gen():
            rng = np.random.default_rng(1 if train else 2)
            for i in range(n):
                h, w = 60 + 6 * (i % 5), 80
                breed = i % 2
                yield {
                    "image": rng.integers(0, 256, (h, w, 3), dtype=np.uint8),
                    "segmentation_mask": make_trimap(h, w, 12, 16, 44, 60)[..., None],
                    "label": breed,
                    "species": 0,
                    "file_name": f"{('Abyssinian', 'Bengal')[breed]}_{i + (0 if train else 100)}.jpg",
                    "head_bbox": np.zeros(4, np.float32),
                }

        return tf.data.Dataset.from_generator(
            gen, output_signature=self.info.features.get_tensor_spec()
        )

    monkeypatch.setattr(tfds.core.DatasetBuilder, "is_prepared", lambda self: True)
    with tfds.testing.mock_data(as_dataset_fn=as_dataset):
        yield


@pytest.fixture
def offline(monkeypatch):
    """No tfds data prepared, no folder named, no network: what an offline machine sees."""
    from unet_tutorial.engine import sources

    monkeypatch.setattr(sources, "oxford_pets_prepared", lambda data_dir=None: False)
    monkeypatch.setattr(sources, "oxford_server_reachable", lambda timeout=3.0: False)
    monkeypatch.delenv(sources.OXFORD_DIR_ENV, raising=False)
    monkeypatch.delenv("UNET_TUTORIAL_PROFILE", raising=False)
    sources._server_reachable_once.cache_clear()
    yield monkeypatch
    sources._server_reachable_once.cache_clear()


def lock_holder(folder: Path):
    """A process that holds ``RunLock(folder)`` until killed; its first output line
    is ``HELD`` once it has the lock."""
    import subprocess
    import sys

    holds = (
        "import sys, time\n"
        "from unet_tutorial.engine.runs import RunLock\n"
        "with RunLock(sys.argv[1]):\n"
        "    print('HELD', flush=True)\n"
        "    time.sleep(600)\n"
    )
    return subprocess.Popen(
        [sys.executable, "-c", holds, str(folder)], stdout=subprocess.PIPE, text=True
    )


def headless_chromium(profile: Path, *args: str) -> str:
    """Run ``benchmarks/tryit.py``'s headless Chromium with its own profile folder and
    ``args`` (a page's address last); return what it printed (``--dump-dom``: the DOM)."""
    import subprocess
    import sys

    benchmarks = str(Path(__file__).resolve().parents[1] / "benchmarks")
    if benchmarks not in sys.path:
        sys.path.insert(0, benchmarks)
    from tryit import HEADLESS_CHROMIUM

    cmd = [*HEADLESS_CHROMIUM, f"--user-data-dir={profile}", *args]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    return run.stdout
