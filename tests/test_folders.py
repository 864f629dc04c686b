"""Your own data (unet_tutorial.engine.folders): the images + masks layout, its classes,
splits, ignore value, crops, check-data, and the ISBI 2012 download (against a local
server on 127.0.0.1). No training.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import unet_tutorial as ut
from unet_tutorial.engine import cli
from unet_tutorial.engine.download import ChecksumError
from unet_tutorial.engine.folders import natural_key, parse_classes

EM = Path(__file__).parent / "fixtures" / "isbi2012-em-mini"


def write_folder(
    root: Path,
    masks: dict[str, np.ndarray],
    *,
    images: dict[str, np.ndarray] | None = None,
    classes: str | None = None,
    lists: dict[str, str] | None = None,
    palette: bool = False,
) -> Path:
    """images/<stem>.png (grey noise unless given) and masks/<stem>.png under ``root``."""
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for stem, mask in masks.items():
        image = (images or {}).get(stem)
        if image is None:
            image = rng.integers(0, 256, mask.shape[:2], dtype=np.uint8)
        Image.fromarray(image).save(root / "images" / f"{stem}.png")
        m = Image.fromarray(mask)
        if palette:
            m = m.convert("P") if m.mode != "P" else m
            m.putpalette([0, 0, 0, 200, 0, 0, 0, 200, 0] + [255] * (3 * 253))
        m.save(root / "masks" / f"{stem}.png")
    if classes is not None:
        (root / "classes.txt").write_text(classes, encoding="utf-8")
    for name, text in (lists or {}).items():
        (root / name).write_bytes(text.encode("utf-8"))
    return root


def masks_of(values, n: int = 5, size: int = 32) -> dict[str, np.ndarray]:
    """``n`` masks that together hold every value of ``values``."""
    out = {}
    for i in range(n):
        m = np.full((size, size), values[0], np.uint8)
        for k, v in enumerate(values):
            m[k * 2 : k * 2 + 2, : size // 2] = v
        out[f"m{i}"] = m
    return out


def collect(ds):
    parts = list(zip(*[tuple(t.numpy() for t in batch) for batch in ds], strict=True))
    return [np.concatenate(p) for p in parts]


# --------------------------------------------------------------------- the EM fixture


def test_em_fixture_loads_native_with_classes_and_positional_split():
    report = ut.check_folder(EM)
    assert report.ok, report.problems
    assert report.classes.names == ("membrane", "cell")
    assert report.splits["test"] == ("slice_05",)
    assert report.splits["validation"] == ("slice_04",)
    assert len(report.splits["train"]) == 4
    ds, info = ut.load_dataset(
        EM, "validation", image_size=None, batch_size=2, verbose=False
    )
    (x, y) = collect(ds)
    raw = np.asarray(Image.open(EM / "masks" / "slice_04.png"))
    image = np.asarray(Image.open(EM / "images" / "slice_04.png"))
    assert x.shape == (1, 128, 128, 1) and y.shape == (1, 128, 128)
    np.testing.assert_array_equal(y[0], (raw == 255).astype(np.int32))  # cell = 1
    np.testing.assert_allclose(x[0, ..., 0], image / 255.0, atol=1e-6)
    assert (info.num_classes, info.channels, info.class_names) == (
        2,
        1,
        ("membrane", "cell"),
    )
    assert info.kind == "folder" and info.image_size is None and not info.is_stand_in
    assert "isbi2012-em-mini" in info.description
    assert str(EM.parent) not in info.description + info.notice
    assert "last 15 % test" in info.description


def test_em_training_batches_are_random_crops_that_change_every_epoch():
    ds, info = ut.load_dataset(
        EM,
        "train",
        image_size=None,
        batch_size=4,
        crop_size=64,
        augment=False,
        verbose=False,
    )
    first, second = collect(ds), collect(ds)
    assert first[0].shape == (4, 64, 64, 1) and first[1].shape == (4, 64, 64)
    assert info.crop_size == 64 and info.batch_size == 4
    assert not np.array_equal(first[0], second[0])


def test_crops_cut_image_and_mask_with_one_draw(tmp_path):
    rng = np.random.default_rng(1)
    masks = {f"s{i}": rng.integers(0, 10, (48, 40), dtype=np.uint8) for i in range(6)}
    images = {k: (m * 20).astype(np.uint8) for k, m in masks.items()}
    root = write_folder(tmp_path / "d", masks, images=images)
    for augment in (False, ut.AugmentConfig(min_scale=1.0)):  # flips keep pixels
        ds, info = ut.load_dataset(
            root,
            "train",
            image_size=None,
            batch_size=2,
            crop_size=16,
            augment=augment,
            verbose=False,
        )
        x, y = collect(ds)
        assert info.num_classes == 10 and x.shape[1:] == (16, 16, 1)
        np.testing.assert_array_equal(np.rint(x[..., 0] * 255 / 20), y)


def test_random_crop_pair_is_seeded_and_aligned():
    import tensorflow as tf

    mask = tf.reshape(tf.range(20 * 30), (20, 30))
    image = tf.cast(mask, tf.float32)[..., None]
    a = ut.random_crop_pair(image, mask, 8, tf.constant([3, 4]))
    b = ut.random_crop_pair(image, mask, 8, tf.constant([3, 4]))
    np.testing.assert_array_equal(a[1], b[1])
    np.testing.assert_array_equal(a[0][..., 0].numpy(), a[1].numpy())
    assert a[1].shape == (8, 8) and a[0].shape == (8, 8, 1)


# ---------------------------------------------------------------------- mask formats


@pytest.mark.parametrize(
    ("values", "classes", "palette", "expected"),
    [
        ((0, 1, 2), None, False, {0: 0, 1: 1, 2: 2}),  # class indices
        ((0, 255), None, False, {0: 0, 255: 1}),  # binary
        ((0, 1, 2), None, True, {0: 0, 1: 1, 2: 2}),  # palette: the index
        ((10, 20, 30), "road 10\ncar 20\nsky 30\n", False, {10: 0, 20: 1, 30: 2}),
        ((0, 255), "dark\nbright\n", False, {0: 0, 255: 1}),  # names, binary
    ],
)
def test_mask_formats(tmp_path, values, classes, palette, expected):
    masks = masks_of(values)
    root = write_folder(tmp_path / "d", masks, classes=classes, palette=palette)
    if palette:
        assert Image.open(root / "masks" / "m0.png").mode == "P"
    ds, info = ut.load_dataset(root, "test", image_size=None, verbose=False)
    (_, y) = collect(ds)
    stem = ut.check_folder(root).splits["test"][0]
    raw = masks[stem]
    want = np.vectorize(expected.get)(raw)
    np.testing.assert_array_equal(y[0], want)
    assert info.num_classes == len(expected)
    if classes and " " in classes.splitlines()[0]:
        assert info.class_names == ("road", "car", "sky")


def test_values_outside_the_classes_name_the_file_and_values(tmp_path):
    masks = masks_of((0, 1, 2))
    masks["m3"][0, 0] = 7
    root = write_folder(tmp_path / "d", masks, classes="a\nb\nc\n")
    with pytest.raises(ValueError, match=r"masks/m3\.png: the values \[7\]"):
        ut.load_dataset(root, "train", image_size=None, verbose=False)


def test_values_that_are_neither_indices_nor_binary_ask_for_classes_txt(tmp_path):
    root = write_folder(tmp_path / "d", masks_of((0, 128, 255)))
    report = ut.check_folder(root)
    assert not report.ok
    assert any("[0, 128, 255]" in p and "classes.txt" in p for p in report.problems)
    assert "value 128: masks/m0.png" in report.problems[0]


def test_parse_classes():
    assert parse_classes(["membrane 0", "cell 255", "ignore 7"]) == (
        ("membrane", "cell"),
        (0, 255),
        7,
    )
    assert parse_classes(["cell interior 3", "edge 1"])[0] == ("cell interior", "edge")
    assert parse_classes({"a": 5, "b": 9})[1] == (5, 9)
    with pytest.raises(ValueError, match="every class its pixel value or none"):
        parse_classes(["a 0", "b"])
    with pytest.raises(ValueError, match="repeats"):
        parse_classes(["a 0", "b 0"])
    with pytest.raises(ValueError, match="needs its pixel value"):
        parse_classes(["a", "b", "ignore"])


# ----------------------------------------------------------------------------- splits


def test_default_split_is_positional_and_numbers_sort_by_value(tmp_path):
    masks = {f"s{i}": m for i, m in enumerate(masks_of((0, 1), n=24).values())}
    report = ut.check_folder(write_folder(tmp_path / "d", masks))
    assert report.splits["train"] == tuple(f"s{i}" for i in range(18))
    assert report.splits["validation"] == ("s18", "s19")
    assert report.splits["test"] == ("s20", "s21", "s22", "s23")
    assert sorted(["s10", "s2", "s1"], key=natural_key) == ["s1", "s2", "s10"]


def test_split_lists_with_bom_and_comments(tmp_path):
    lists = {
        "train.txt": "\ufeff# training\nm0\nm1\nm2\n",
        "validation.txt": "m3  # a comment after the stem is fine too\n",
        "test.txt": "m4\n",
    }
    root = write_folder(tmp_path / "d", masks_of((0, 1)), lists=lists)
    report = ut.check_folder(root)
    assert report.ok, report.problems
    assert report.splits == {
        "train": ("m0", "m1", "m2"),
        "validation": ("m3",),
        "test": ("m4",),
    }
    assert "split lists" in report.split_rule
    _, info = ut.load_dataset(root, "train", image_size=None, verbose=False)
    assert info.num_examples == 3


@pytest.mark.parametrize(
    ("lists", "message"),
    [
        ({"train.txt": "m0\n", "test.txt": "m1\n"}, "validation.txt missing"),
        (
            {"train.txt": "m0\nm9\n", "validation.txt": "m1\n", "test.txt": "m2\n"},
            "train.txt line 2 names 'm9'",
        ),
        (
            {"train.txt": "m0\n", "validation.txt": "m1\n", "test.txt": "m0\n"},
            "'m0' is in train.txt and in test.txt",
        ),
        (
            {"train.txt": "m0\n", "validation.txt": "# none\n", "test.txt": "m1\n"},
            "the validation split is empty",
        ),
    ],
)
def test_bad_split_lists(tmp_path, lists, message):
    root = write_folder(tmp_path / "d", masks_of((0, 1)), lists=lists)
    report = ut.check_folder(root)
    assert any(message in p for p in report.problems), report.problems
    with pytest.raises(ValueError, match="cannot be loaded"):
        ut.load_dataset(root, "train", image_size=None, verbose=False)


# ---------------------------------------------------------------------- ignore value


@pytest.mark.parametrize("how", ["classes.txt", "argument"])
def test_ignore_value_gives_zero_weights(tmp_path, how):
    masks = masks_of((0, 1, 255))
    classes = "bg\nfg\nignore 255\n" if how == "classes.txt" else None
    root = write_folder(tmp_path / "d", masks, classes=classes)
    kwargs = {"ignore_value": 255} if how == "argument" else {}
    ds, info = ut.load_dataset(root, "test", image_size=None, verbose=False, **kwargs)
    x, y, w = collect(ds)
    raw = masks[ut.check_folder(root, **kwargs).splits["test"][0]]
    assert info.ignore_value == 255 and info.num_classes == 2
    np.testing.assert_array_equal(w[0], (raw != 255).astype(np.float32))
    np.testing.assert_array_equal(y[0], np.where(raw == 255, 0, raw))


def test_ignored_pixels_leave_the_loss_unchanged(tmp_path):
    """A per-pixel Keras loss with the weights: what a model predicts on ignored
    pixels does not move the loss."""
    import keras

    masks = masks_of((0, 1, 255))
    root = write_folder(tmp_path / "d", masks, classes="a\nb\nignore 255\n")
    ds, _ = ut.load_dataset(root, "test", image_size=None, verbose=False)
    x, y, w = collect(ds)
    rng = np.random.default_rng(0)
    logits = rng.normal(size=y.shape + (2,)).astype(np.float32)
    changed = logits.copy()
    changed[w == 0] = rng.normal(size=(int((w == 0).sum()), 2)) * 10
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    a = float(loss(y, logits, sample_weight=w))
    b = float(loss(y, changed, sample_weight=w))
    assert (w == 0).any() and a == pytest.approx(b, rel=1e-6)


# -------------------------------------------------------------------------- channels


def test_channels_follow_the_images_or_are_given(tmp_path):
    rgb = {f"m{i}": np.full((32, 32, 3), 40 * i, np.uint8) for i in range(5)}
    root = write_folder(tmp_path / "rgb", masks_of((0, 1)), images=rgb)
    ds, info = ut.load_dataset(root, "test", image_size=None, verbose=False)
    assert info.channels == 3 and collect(ds)[0].shape[-1] == 3
    ds, info = ut.load_dataset(root, "test", image_size=None, channels=1, verbose=False)
    assert info.channels == 1 and collect(ds)[0].shape[-1] == 1
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(root / "images" / "m0.png")
    report = ut.check_folder(root)
    assert any("mix grayscale (1: m0.png)" in p for p in report.problems)
    assert ut.check_folder(root, channels=3).ok


def test_image_size_resizes_and_whole_images_of_different_sizes_come_one_by_one(
    tmp_path,
):
    masks = masks_of((0, 1), n=10)
    masks["m9"] = np.zeros((40, 24), np.uint8)
    masks["m9"][:5] = 1
    masks["m8"] = np.ones((36, 32), np.uint8)
    masks["m8"][:5] = 0
    root = write_folder(tmp_path / "d", masks)
    ds, info = ut.load_dataset(
        root, "test", image_size=None, batch_size=4, verbose=False
    )
    assert info.batch_size == 1 and "one at a time" in info.notice
    assert [b[0].shape[1:3] for b in ds] == [(36, 32), (40, 24)]
    ds, info = ut.load_dataset(root, "test", image_size=16, batch_size=4, verbose=False)
    assert collect(ds)[0].shape == (2, 16, 16, 1) and info.batch_size == 4
    with pytest.raises(ValueError, match="different sizes; pass crop_size"):
        masks["m0"] = np.zeros((20, 20), np.uint8)
        masks["m0"][0] = 1
        write_folder(tmp_path / "e", masks)
        ut.load_dataset(tmp_path / "e", "train", image_size=None, verbose=False)
    with pytest.raises(ValueError, match="larger than the smallest image side"):
        ut.load_dataset(root, "train", image_size=None, crop_size=64, verbose=False)


def test_other_sources_keep_their_info_and_refuse_folder_arguments():
    ds, info = ut.load_dataset(
        "synthetic", "test", image_size=32, num_examples=4, verbose=False
    )
    assert (info.num_classes, info.channels, info.class_names) == (
        3,
        3,
        ut.CLASS_NAMES,
    )
    assert info.ignore_value is None and info.crop_size is None
    with pytest.raises(ValueError, match="crop_size= is for a folder"):
        ut.load_dataset("synthetic", "train", image_size=32, crop_size=16)


def test_resolve_source_decides_by_layout(tmp_path, pets_dir):
    assert ut.resolve_source(EM).kind == "folder"
    assert ut.resolve_source(str(EM)).source == str(EM)
    assert ut.resolve_source(pets_dir).kind == "directory"
    (tmp_path / "images").mkdir()
    with pytest.raises(FileNotFoundError, match="check-data --help. lists the layouts"):
        ut.resolve_source(tmp_path)


# ------------------------------------------------------------------------- check-data


def _broken_folders(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """One folder per problem a user makes, and what the report must say."""
    out = {}
    root = write_folder(
        tmp_path / "values", masks_of((0, 255)), classes="bg 0\nfg 255\n"
    )
    Image.fromarray(np.full((32, 32), 128, np.uint8)).save(root / "masks" / "m2.png")
    out["values"] = (root, "masks/m2.png: the values [128] are not classes")
    root = write_folder(tmp_path / "size", masks_of((0, 1)))
    Image.fromarray(np.zeros((30, 32), np.uint8)).save(root / "images" / "m1.png")
    out["size"] = (root, "images/m1.png is 32x30 but masks/m1.png is 32x32")
    root = write_folder(tmp_path / "rgb", masks_of((0, 1)))
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(root / "masks" / "m3.png")
    out["rgb"] = (root, "masks/m3.png: an RGB mask")
    root = write_folder(
        tmp_path / "empty",
        masks_of((0, 1)),
        lists={"train.txt": "m0\n", "validation.txt": "m1\n", "test.txt": ""},
    )
    out["empty"] = (root, "the test split is empty")
    root = write_folder(tmp_path / "dup", masks_of((0, 1)))
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(root / "images" / "m4.tif")
    out["dup"] = (root, "images/m4.png and images/m4.tif: one stem, 2 files")
    root = write_folder(tmp_path / "jpeg", masks_of((0, 1)))
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(root / "masks" / "m0.jpg")
    out["jpeg"] = (root, "masks/m0.jpg and masks/m0.png: one stem, 2 files")
    return out


def test_check_data_names_every_bad_file(tmp_path, capsys):
    for name, (root, message) in _broken_folders(tmp_path).items():
        report = ut.check_folder(root)
        assert not report.ok and any(message in p for p in report.problems), (
            name,
            report.problems,
        )
        assert cli.main(["check-data", str(root)]) == 1
        out = capsys.readouterr().out
        assert message in out and "problem(s):" in out, name


def test_check_data_lists_all_problems_at_once(tmp_path):
    masks = masks_of((0, 1))
    root = write_folder(tmp_path / "d", masks, classes="a\nb\n")
    for stem in ("m1", "m3"):
        Image.fromarray(np.full((32, 32), 9, np.uint8)).save(
            root / "masks" / f"{stem}.png"
        )
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(root / "images" / "lonely.png")
    report = ut.check_folder(root)
    bad = [p for p in report.problems if "are not classes" in p]
    assert len(bad) == 2 and report.images_without_mask == ("lonely",)
    assert "images without a mask (1): lonely" in str(report)


def test_check_data_reports_the_em_fixture(capsys):
    assert cli.main(["check-data", str(EM)]) == 0
    out = capsys.readouterr().out
    shares = ut.check_folder(EM).class_shares()
    assert f"{100 * shares['membrane']:6.2f} % of pixels" in out
    assert "train          4 pairs (slice_00 … slice_03)" in out
    assert "No problems found." in out and str(EM.parent) not in out
    assert cli.main(["check-data", str(EM), "--crop-size", "256"]) == 1
    assert "smaller than crop_size=256" in capsys.readouterr().out


# --------------------------------------------------------------------- mask helpers


def test_mask_conversion_helpers(tmp_path):
    binary = np.array([[0, 255], [254, 3]], np.uint8)
    np.testing.assert_array_equal(ut.binary_to_class_mask(binary), [[0, 1], [1, 0]])
    np.testing.assert_array_equal(
        ut.binary_to_class_mask(np.array([[0, 1]]), threshold=1), [[0, 1]]
    )
    rgb = np.zeros((2, 3, 3), np.uint8)
    rgb[0, 1] = (255, 0, 0)
    rgb[1, 2] = (0, 0, 255)
    colors = {(0, 0, 0): 0, (255, 0, 0): 1, (0, 0, 255): 2}
    np.testing.assert_array_equal(
        ut.rgb_to_class_mask(rgb, colors), [[0, 1, 0], [0, 0, 2]]
    )
    rgb[0, 0] = (250, 1, 0)  # a blended edge colour
    with pytest.raises(ValueError, match=r"1 pixels have colours not in the table"):
        ut.rgb_to_class_mask(rgb, colors)
    index = np.array([[0, 1], [2, 1]], np.uint8)
    im = Image.fromarray(index, mode="L").convert("P")
    im.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0] + [0] * 759)
    im.save(tmp_path / "p.png")
    np.testing.assert_array_equal(ut.palette_to_class_mask(tmp_path / "p.png"), index)
    Image.fromarray(index).save(tmp_path / "l.png")
    with pytest.raises(ValueError, match="not a palette"):
        ut.palette_to_class_mask(tmp_path / "l.png")


# --------------------------------------------------------------------- the download


@pytest.fixture
def em_server(tmp_path):
    """A local HTTP server with 3 slices in zhixuhao/unet's layout, and their sums."""
    served = tmp_path / "server"
    sums = {}
    for n in range(3):
        for up, ours in (("image", "images"), ("label", "masks")):
            rel = f"data/membrane/train/{up}/{n}.png"
            (served / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(EM / ours / f"slice_{n:02d}.png", served / rel)
            sums[rel] = hashlib.sha256((served / rel).read_bytes()).hexdigest()
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(served)
    )
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", sums
    server.shutdown()
    server.server_close()


def test_download_isbi2012_from_a_local_server(em_server, tmp_path, capsys):
    import sys

    url, sums = em_server
    dest = ut.download_isbi2012(
        tmp_path / "em", base_url=url, sums=sums, split_lists=False, progress=None
    )
    assert sorted(p.name for p in (dest / "images").iterdir()) == [
        "slice_00.png",
        "slice_01.png",
        "slice_02.png",
    ]
    assert (dest / "masks" / "slice_02.png").read_bytes() == (
        EM / "masks" / "slice_02.png"
    ).read_bytes()
    report = ut.check_folder(dest)
    assert report.ok and report.classes.names == ("membrane", "cell")
    assert "Cardona" in (dest / "README.txt").read_text()
    ut.download_isbi2012(dest, base_url=url, sums=sums, progress=sys.stdout)
    assert "0 fetched, 6 already there" in capsys.readouterr().out
    assert (dest / "test.txt").read_text().splitlines() == [
        f"slice_{n}" for n in range(20, 24)
    ]


def test_download_isbi2012_refuses_a_wrong_file(em_server, tmp_path):
    url, sums = em_server
    sums = {**sums, "data/membrane/train/label/1.png": "0" * 64}
    with pytest.raises(ChecksumError, match="label/1.png: sha256"):
        ut.download_isbi2012(tmp_path / "em", base_url=url, sums=sums, progress=None)
    assert not (tmp_path / "em" / "masks" / "slice_01.png").exists()
    assert not list((tmp_path / "em").rglob("*.part"))


def test_download_isbi2012_fails_fast_offline(tmp_path):
    import socket

    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(OSError, match="need internet access once"):
        ut.download_isbi2012(
            tmp_path / "em", base_url=f"http://127.0.0.1:{port}", progress=None
        )


def test_the_package_holds_the_upstream_sums():
    from unet_tutorial.engine.download import isbi2012_sums

    sums = isbi2012_sums()
    assert len(sums) == 60
    assert all(len(v) == 64 for v in sums.values())
    for n in range(30):
        assert f"data/membrane/train/image/{n}.png" in sums
        assert f"data/membrane/train/label/{n}.png" in sums


def test_evaluate_leaves_ignored_pixels_out(tmp_path):
    import tensorflow as tf

    masks = masks_of((0, 1, 255), size=16)
    root = write_folder(tmp_path / "d", masks, classes="a\nb\nignore 255\n")
    ds, info = ut.load_dataset(root, "test", image_size=None, verbose=False)
    model = ut.build_unet((16, 16, 1), num_classes=2, base_filters=2, depth=1)
    names = info.class_names
    x, y, w = collect(ds)
    flipped = np.where(w == 0, 1 - y, y)  # other labels where nothing is scored
    other = tf.data.Dataset.from_tensors((x, flipped, w))
    a, b = ut.evaluate(model, ds, names), ut.evaluate(model, other, names)
    assert a.pixel_accuracy == pytest.approx(b.pixel_accuracy)
    assert a.mean_iou == pytest.approx(b.mean_iou)
    pairs = ut.evaluate(model, tf.data.Dataset.from_tensors((x, flipped)), names)
    assert pairs.pixel_accuracy != pytest.approx(a.pixel_accuracy)


def test_an_ignore_value_that_is_also_a_class_is_a_problem(tmp_path):
    masks = {f"s{i}": np.full((8, 8), 255, np.uint8) for i in range(3)}
    for m in masks.values():
        m[:4] = 0
    root = write_folder(tmp_path / "d", masks)
    report = ut.check_folder(
        root, classes={"membrane": 0, "cell": 255}, ignore_value=255
    )
    assert not report.ok
    assert any(
        "ignore value 255 is also the value of class 'cell'" in p
        for p in report.problems
    )
    masks = {f"s{i}": np.full((8, 8), 1, np.uint8) for i in range(3)}
    root = write_folder(tmp_path / "e", masks, classes="background\nroad\nignore 1\n")
    report = ut.check_folder(root)
    assert any("also the index of class 'road'" in p for p in report.problems)


def test_a_damaged_image_is_named_by_check_folder_not_during_training(tmp_path):
    masks = {f"s{i}": np.zeros((16, 16), np.uint8) for i in range(3)}
    for m in masks.values():
        m[:8] = 1
    root = write_folder(tmp_path / "d", masks)
    image = sorted((root / "images").iterdir())[0]
    data = image.read_bytes()
    image.write_bytes(data[: len(data) // 2])  # a truncated file: its header reads fine
    report = ut.check_folder(root)
    assert any(
        p.startswith(f"images/{image.name}: cannot be read") for p in report.problems
    )


def test_float_images_are_scaled_not_truncated(tmp_path):
    from unet_tutorial.engine.folders import read_image

    ramp = np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8)
    Image.fromarray(ramp, mode="F").save(tmp_path / "f.tif")
    got = read_image(tmp_path / "f.tif", 1)[..., 0]
    assert got.min() == 0 and got.max() == 255 and len(np.unique(got)) == 64


def test_split_lists_read_stems_with_spaces_whole(tmp_path):
    masks = {
        name: m
        for name, m in zip(
            ("my cat 01", "my cat 02", "my cat 03", "dog 1", "dog 2"),
            masks_of((0, 1)).values(),
            strict=True,
        )
    }
    lists = {
        "train.txt": "my cat 01\n  my cat 02  \r\n",
        "validation.txt": "my cat 03  # a comment after the stem\n",
        "test.txt": "dog 1\ndog 3\ndog 2.png\n",
    }
    report = ut.check_folder(write_folder(tmp_path / "d", masks, lists=lists))
    assert report.splits["train"] == ("my cat 01", "my cat 02")
    assert report.splits["validation"] == ("my cat 03",)
    assert report.splits["test"] == ("dog 1",)
    assert "test.txt line 2 names 'dog 3', which has no image and mask pair" in (
        report.problems
    )
    assert any(
        p.startswith("test.txt line 3 names 'dog 2.png'") and "'dog 2'" in p
        for p in report.problems
    ), report.problems
    assert len(report.problems) == 2


def test_image_and_mask_sizes_are_checked_on_every_split(tmp_path):
    masks = masks_of((0, 1), n=5, size=16)
    lists = {"train.txt": "m0\nm1\n", "validation.txt": "m2\n", "test.txt": "m3\n"}
    root = write_folder(tmp_path / "d", masks, lists=lists)
    for stem in ("m2", "m3", "m4"):  # validation, test, and a pair in no list
        Image.fromarray(np.zeros((16, 20), np.uint8)).save(
            root / "images" / f"{stem}.png"
        )
    report = ut.check_folder(root)
    for stem in ("m2", "m3", "m4"):
        assert f"images/{stem}.png is 20x16 but masks/{stem}.png is 16x16" in (
            report.problems
        ), report.problems
    with pytest.raises(ValueError, match="masks/m3.png is 16x16"):
        ut.load_dataset(root, "train", image_size=None, verbose=False)


def _rotated_jpeg(path: Path, stored: np.ndarray, orientation: int = 6) -> None:
    """A JPEG whose pixels are stored as ``stored`` and whose EXIF Orientation tag
    tells viewers to turn it (6: a quarter turn clockwise), as phones save photos.
    """
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(stored).save(path, exif=exif, quality=100)


def test_jpeg_exif_orientation_is_applied_wherever_images_are_read(tmp_path):
    from unet_tutorial.engine.folders import read_image
    from unet_tutorial.evaluation import load_image

    stored = np.zeros((24, 40, 3), np.uint8)  # stored 40 wide, 24 high
    stored[:, :20] = 255  # the left half white
    masks = {f"p{i}": np.zeros((40, 24), np.uint8) for i in range(3)}  # upright
    for m in masks.values():
        m[:20] = 1  # turned clockwise, the white left half is the top half
    root = write_folder(tmp_path / "d", masks)
    for stem in masks:
        (root / "images" / f"{stem}.png").unlink()
        _rotated_jpeg(root / "images" / f"{stem}.jpg", stored)
    report = ut.check_folder(root)
    assert report.ok, report.problems
    assert report.sizes["p0"] == (24, 40)  # (width, height) as displayed
    image = read_image(root / "images" / "p0.jpg", 3)
    assert image.shape == (40, 24, 3)
    assert image[:18].min() > 200 and image[22:].max() < 50  # upright: white on top
    np.testing.assert_array_equal(image, load_image(root / "images" / "p0.jpg"))
    ds, _ = ut.load_dataset(root, "test", image_size=None, verbose=False)
    x, y = collect(ds)
    assert x.shape[1:3] == y.shape[1:] == (40, 24)
    # a mask drawn on the stored (unturned) pixels does not fit the upright image
    Image.fromarray(np.zeros((24, 40), np.uint8)).save(root / "masks" / "p1.png")
    problems = ut.check_folder(root).problems
    assert any(
        p.startswith("images/p1.jpg is 24x40 but masks/p1.png is 40x24")
        and "EXIF orientation" in p
        for p in problems
    ), problems


def test_predict_dataset_refuses_whole_images_of_different_sizes_by_name(tmp_path):
    masks = masks_of((0, 1), n=10)
    masks["m9"] = np.zeros((40, 24), np.uint8)
    masks["m9"][:5] = 1
    masks["m8"] = np.ones((36, 32), np.uint8)
    masks["m8"][:5] = 0
    ds, _ = ut.load_dataset(
        write_folder(tmp_path / "d", masks), "test", image_size=None, verbose=False
    )
    model = ut.build_unet((None, None, 1), 2, base_filters=2, depth=2)
    with pytest.raises(ValueError, match=r"different sizes \(32x36 and 24x40 px"):
        ut.predict_dataset(model, ds)


def test_square_photos_with_an_exif_orientation_get_a_note(tmp_path):
    """A square photo turned by EXIF fits a mask drawn on its stored pixels, so
    the sizes cannot tell; check-data says which images are read turned."""
    masks = {f"p{i}": np.zeros((24, 24), np.uint8) for i in range(4)}
    for m in masks.values():
        m[:12] = 1
    root = write_folder(tmp_path / "d", masks)
    (root / "images" / "p1.png").unlink()
    _rotated_jpeg(root / "images" / "p1.jpg", np.zeros((24, 24, 3), np.uint8), 6)
    report = ut.check_folder(root, channels=3)
    assert report.ok, report.problems
    notes = [n for n in report.notes if "EXIF orientation" in n]
    assert len(notes) == 1 and "1 image(s)" in notes[0]
    assert "images/p1.jpg (6)" in notes[0] and "stored pixels" in notes[0]
    assert "note: 1 image(s) have an EXIF orientation" in str(report)


def test_a_broken_link_in_images_is_named_as_one(tmp_path):
    root = write_folder(tmp_path / "d", masks_of((0, 1), n=6))
    (root / "images" / "m2.png").unlink()
    (root / "images" / "m2.png").symlink_to(tmp_path / "moved" / "m2.png")
    report = ut.check_folder(root)
    assert (
        f"images/m2.png: a broken link (to {tmp_path / 'moved' / 'm2.png'}, which "
        "does not exist); fix the link or remove it"
    ) in report.problems


def test_a_stem_in_nfd_on_disk_matches_the_same_stem_in_nfc_in_a_split_list(tmp_path):
    import unicodedata

    nfc, nfd = "caf\u00e9", unicodedata.normalize("NFD", "caf\u00e9")
    assert nfc != nfd
    masks = {nfd: np.zeros((16, 16), np.uint8), "b": np.ones((16, 16), np.uint8),
             "c": np.zeros((16, 16), np.uint8)}  # fmt: skip
    masks["c"][:4] = 1
    lists = {"train.txt": f"{nfc}\n", "validation.txt": "b\n", "test.txt": "c\n"}
    root = write_folder(tmp_path / "d", masks, lists=lists)
    report = ut.check_folder(root)
    assert report.ok, report.problems
    assert report.splits["train"] == (nfc,)
    assert report.pairs[nfc] == (f"{nfd}.png", f"{nfd}.png")  # the names on disk
    ds, _ = ut.load_dataset(root, "train", image_size=None, verbose=False)
    assert sum(1 for _ in ds) == 1
