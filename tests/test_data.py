"""Data: labels, resizing, paired augmentation, the three routes and their errors (all offline)."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import MOCK_TFDS_TEST, MOCK_TFDS_TRAIN

import unet_tutorial as ut
from unet_tutorial.engine import sources as S


def _collect(ds):
    xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in ds], strict=True)
    return np.concatenate(xs), np.concatenate(ys)


# --------------------------------------------------------------------------- labels and resizing


def test_trimap_labels_map_1_pet_2_background_3_border():
    assert ut.CLASS_NAMES == ("pet", "background", "border")
    out = ut.trimap_to_labels(tf.constant([[1, 2, 3]], tf.uint8)).numpy()
    np.testing.assert_array_equal(out, [[0, 1, 2]])
    assert [ut.CLASS_NAMES[v] for v in out[0]] == ["pet", "background", "border"]


def test_nearest_resize_keeps_the_label_set_and_bilinear_would_not():
    tri = np.full((37, 53), 2, np.uint8)
    tri[5:30, 7:40] = 3
    tri[8:27, 10:37] = 1
    labels = ut.trimap_to_labels(tri)
    for size in (16, 24, 64, 100):
        out = ut.resize_mask(labels, size).numpy()
        assert out.shape == (size, size) and out.dtype == np.int32
        assert set(np.unique(out)) <= {0, 1, 2}
    # the trap: bilinear invents in-between values along every outline
    bil = tf.image.resize(
        tf.cast(labels, tf.float32)[..., None], (24, 24), method="bilinear"
    ).numpy()
    assert not np.all(np.isin(bil, [0.0, 1.0, 2.0]))


# --------------------------------------------------------------------------- paired augmentation


def _hand_crop_and_resize(
    arr: np.ndarray, box, size: int, nearest: bool
) -> tuple[np.ndarray, np.ndarray]:
    """crop_and_resize done by hand: sample y = y1*(H-1) + i*(y2-y1)*(H-1)/(size-1).

    Returns the result and a mask of pixels whose nearest-neighbour choice is
    not a tie (coordinates within 1e-3 of .5 can round either way in float32).
    """
    h, w = arr.shape[:2]
    y1, x1, y2, x2 = box
    ys = y1 * (h - 1) + np.arange(size) * (y2 - y1) * (h - 1) / (size - 1)
    xs = x1 * (w - 1) + np.arange(size) * (x2 - x1) * (w - 1) / (size - 1)
    if nearest:
        yi, xi = np.floor(ys + 0.5).astype(int), np.floor(xs + 0.5).astype(int)
        safe_y = np.abs(ys - np.floor(ys) - 0.5) > 1e-3
        safe_x = np.abs(xs - np.floor(xs) - 0.5) > 1e-3
        return arr[yi][:, xi], safe_y[:, None] & safe_x[None, :]
    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    y0c, x0c = np.clip(y0 + 1, 0, h - 1), np.clip(x0 + 1, 0, w - 1)
    dy, dx = (ys - y0)[:, None, None], (xs - x0)[None, :, None]
    top = arr[y0][:, x0] * (1 - dx) + arr[y0][:, x0c] * dx
    bot = arr[y0c][:, x0] * (1 - dx) + arr[y0c][:, x0c] * dx
    return top * (1 - dy) + bot * dy, np.ones((size, size), bool)


@pytest.mark.parametrize("seed", [(1, 2), (3, 4), (5, 6), (7, 8), (11, 12), (13, 14)])
def test_augmentation_matches_the_same_transform_done_by_hand(seed):
    rng = np.random.default_rng(0)
    size = 32
    image = rng.uniform(size=(size, size, 3)).astype(np.float32)
    mask = rng.integers(0, 3, (size, size)).astype(np.int32)
    flip, box = ut.augmentation_params(tf.constant(seed))
    flip, box = bool(flip), box.numpy()
    aug_img, aug_mask = ut.augment_pair(image, mask, tf.constant(seed))
    # by hand: one flip for both, then the same crop box for both
    h_img, h_mask = (image[:, ::-1], mask[:, ::-1]) if flip else (image, mask)
    exp_img, _ = _hand_crop_and_resize(h_img, box, size, nearest=False)
    exp_mask, safe = _hand_crop_and_resize(h_mask, box, size, nearest=True)
    np.testing.assert_allclose(aug_img.numpy(), exp_img, atol=2e-5)
    np.testing.assert_array_equal(aug_mask.numpy()[safe], exp_mask[safe])
    assert safe.mean() > 0.9


def test_augmentation_keeps_image_and_mask_aligned_and_masks_in_range():
    # the mask is a function of the image (left half bright = pet), so any
    # unshared flip or crop breaks the relation
    size = 64
    image = np.zeros((size, size, 3), np.float32)
    image[:, :20] = 1.0
    image[10:30, 40:60] = 0.5
    mask = np.ones((size, size), np.int32)
    mask[:, :20] = 0
    mask[10:30, 40:60] = 2
    flips = 0
    for s in range(20):
        flip, _ = ut.augmentation_params(tf.constant([s, 99]))
        flips += bool(flip)
        img, m = ut.augment_pair(image, mask, tf.constant([s, 99]))
        img, m = img.numpy(), m.numpy()
        assert set(np.unique(m)) <= {0, 1, 2}
        assert img.min() >= 0 and img.max() <= 1
        predicted = np.where(img[..., 0] > 0.75, 0, np.where(img[..., 0] > 0.25, 2, 1))
        assert (predicted == m).mean() > 0.97
    assert 0 < flips < 20  # both branches were exercised


def test_jitter_changes_only_the_image_and_stays_in_range():
    rng = np.random.default_rng(3)
    image = rng.uniform(size=(32, 32, 3)).astype(np.float32)
    mask = rng.integers(0, 3, (32, 32)).astype(np.int32)
    plain = ut.augment_pair(image, mask, tf.constant([4, 2]))
    jit = ut.augment_pair(
        image, mask, tf.constant([4, 2]), ut.AugmentConfig(jitter=True)
    )
    np.testing.assert_array_equal(plain[1].numpy(), jit[1].numpy())
    assert not np.allclose(plain[0].numpy(), jit[0].numpy())
    assert jit[0].numpy().min() >= 0 and jit[0].numpy().max() <= 1
    with pytest.raises(ValueError, match="min_scale"):
        ut.AugmentConfig(min_scale=0.0)


def test_pipeline_is_deterministic_per_seed_and_reshuffles_each_epoch():
    def make(seed):
        return ut.load_synthetic_pets("train", 32, 4, num_examples=12, seed=seed)

    a, b = make(5), make(5)
    xa, ya = _collect(a)
    xb, yb = _collect(b)
    np.testing.assert_array_equal(xa, xb)
    np.testing.assert_array_equal(ya, yb)
    x2, _ = _collect(a)  # second epoch of the same dataset: new order and augmentation
    assert not np.array_equal(xa, x2)
    xc, _ = _collect(make(6))
    assert not np.array_equal(xa, xc)


# --------------------------------------------------------------------------- tfds route (mocked)


def test_load_oxford_pets_through_tfds_mock_with_real_trimaps(mock_oxford_tfds):
    ds = ut.load_oxford_pets("train", image_size=32, batch_size=4, seed=0)
    x, y = _collect(ds)
    # one image of each of the mock's two breeds is held out for validation
    n = MOCK_TFDS_TRAIN - 2
    assert x.shape == (n, 32, 32, 3) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0
    assert y.shape == (n, 32, 32) and y.dtype == np.int32
    assert set(np.unique(y)) == {0, 1, 2}


def test_tfds_test_split_is_not_augmented_or_shuffled(mock_oxford_tfds):
    a = _collect(ut.load_oxford_pets("test", image_size=40, batch_size=3))
    b = _collect(ut.load_oxford_pets("test", image_size=40, batch_size=3, seed=9))
    np.testing.assert_array_equal(a[0], b[0])
    # the box-shaped pet of the mock: its centre is pet (0), a corner is background (1)
    y = a[1]
    assert (y[:, 20, 24] == 0).all() and (y[:, 0, 0] == 1).all()


def test_oxford_version_3_is_refused_with_a_clear_error():
    with pytest.raises(ValueError, match="3.x no longer loads"):
        ut.load_oxford_pets(version="3.*.*")
    from unet_tutorial.engine.loading import check_oxford_version

    check_oxford_version("4.*.*")
    with pytest.raises(ValueError, match="version '3.0.0' is not supported"):
        check_oxford_version("3.0.0")
    import tensorflow_datasets as tfds

    with pytest.raises(Exception, match=r"only: 4\."):
        tfds.builder("oxford_iiit_pet:3.*.*")  # the trap itself, in tfds


def test_explicit_oxford_offline_says_how_to_get_it(tmp_path, monkeypatch):
    import tensorflow_datasets as tfds

    def no_network(*args, **kwargs):
        raise ConnectionError("no network")

    monkeypatch.setattr(
        tfds.download.DownloadManager, "download_and_extract", no_network
    )
    monkeypatch.setattr(S, "oxford_server_reachable", lambda timeout=3.0: False)
    monkeypatch.delenv(S.OXFORD_DIR_ENV, raising=False)
    S._server_reachable_once.cache_clear()
    with pytest.raises(ut.DataUnavailableError, match="download_oxford_pets") as exc:
        ut.load_dataset("oxford", data_dir=tmp_path, verbose=False)
    S._server_reachable_once.cache_clear()
    assert S.OXFORD_DIR_ENV in str(exc.value) and "data_dir" in str(exc.value)


# --------------------------------------------------------------------------- directory route


def test_directory_route_reads_the_official_layout(pets_dir):
    # trainval holds 3 breeds of one image each: one image is held out for validation
    x, y = _collect(
        ut.load_pets_directory(pets_dir, "train", image_size=32, batch_size=2)
    )
    assert x.shape == (2, 32, 32, 3) and y.shape == (2, 32, 32)
    assert set(np.unique(y)) == {0, 1, 2}
    assert [r.name for r in ut.read_split_file(pets_dir, "validation")] == [
        "Abyssinian_1"
    ]
    x, y = _collect(
        ut.load_pets_directory(pets_dir, "test", image_size=32, batch_size=2)
    )
    assert x.shape[0] == 2


def test_directory_route_keeps_the_split_order_and_pixels(pets_dir):
    # decoding runs in parallel; the test split must still come out in the file's order, pixel for pixel
    from PIL import Image

    x, y = _collect(
        ut.load_pets_directory(pets_dir, "test", image_size=32, batch_size=1)
    )
    for i, name in enumerate(["Bengal_4", "boxer_5"]):
        image = np.asarray(
            Image.open(pets_dir / "images" / f"{name}.jpg").convert("RGB")
        )
        trimap = np.asarray(
            Image.open(pets_dir / "annotations" / "trimaps" / f"{name}.png")
        )
        ex, ey = ut.preprocess_pair(image, trimap, 32)
        np.testing.assert_allclose(x[i], ex.numpy(), atol=1e-6)
        np.testing.assert_array_equal(y[i], ey.numpy())


def test_directory_errors_name_the_problem(pets_dir, tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a directory"):
        ut.load_pets_directory(tmp_path / "nowhere")
    # a split file that names a missing image
    with open(pets_dir / "annotations" / "test.txt", "a") as f:
        f.write("ghost_9 1 1 1\n")
    with pytest.raises(
        FileNotFoundError, match=r"test.txt line 4 names 'ghost_9', which has no image"
    ):
        ut.load_pets_directory(pets_dir, "test")


def test_image_and_mask_of_different_sizes_is_named(pets_dir):
    from PIL import Image

    Image.fromarray(np.full((10, 10), 2, np.uint8)).save(
        pets_dir / "annotations" / "trimaps" / "beagle_2.png"
    )
    with pytest.raises(
        ValueError,
        match=r"beagle_2.jpg is 64x52 but annotations/trimaps/beagle_2.png is 10x10",
    ):
        ut.load_pets_directory(pets_dir, "train")


def test_corrupt_jpeg_is_named_or_skipped(pets_dir):
    (pets_dir / "images" / "pug_3.jpg").write_bytes(
        b"\xff\xd8\xff\xe0 not really a jpeg"
    )
    with pytest.raises(ValueError, match=r"images/pug_3.jpg: cannot be read"):
        ut.load_pets_directory(pets_dir, "train")
    with pytest.warns(UserWarning, match="skipped 1 corrupt example.*pug_3"):
        ds = ut.load_pets_directory(pets_dir, "train", image_size=32, on_corrupt="skip")
    assert _collect(ds)[0].shape[0] == 1


def test_truncated_jpeg_is_named(pets_dir):
    # the up-front check decodes JPEGs at reduced size; a file cut short must still fail it
    path = pets_dir / "images" / "beagle_2.jpg"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(
        ValueError, match=r"images/beagle_2.jpg: cannot be read.*truncated"
    ):
        ut.load_pets_directory(pets_dir, "train")


def test_sixteen_bit_folder_files_scale_and_never_wrap(pets_dir):
    from PIL import Image

    trimap_path = pets_dir / "annotations" / "trimaps" / "pug_3.png"
    good = np.asarray(Image.open(trimap_path)).astype(np.uint16)
    # 257, 514, 771: as 8 bits they would wrap to 1, 2, 3
    Image.fromarray(good * 257).save(trimap_path)
    with pytest.raises(ValueError, match=r"pug_3.png: the values \[257, 514, 771\]"):
        ut.load_pets_directory(pets_dir, "train")
    # a 16-bit file with the right values is fine
    Image.fromarray(good).save(trimap_path)
    image_path = pets_dir / "images" / "pug_3.jpg"  # official "jpg" names hold PNGs too
    h, w = good.shape
    # 16-bit mid grey
    Image.fromarray(np.full((h, w), 257 * 128, np.uint16)).save(
        image_path, format="PNG"
    )
    from unet_tutorial.engine.folders import check_folder, read_image, read_mask

    image = read_image(image_path, 3)
    trimap = read_mask(trimap_path, check_folder(pets_dir).classes)
    # scaled, not clipped to white
    assert image.dtype == np.uint8 and abs(int(image.mean()) - 128) <= 1
    np.testing.assert_array_equal(trimap, good - 1)


# --------------------------------------------------------------------------- one entry point


def test_load_dataset_reports_the_stand_in(capsys, monkeypatch):
    monkeypatch.setattr(S, "oxford_pets_prepared", lambda data_dir=None: False)
    monkeypatch.setattr(S, "oxford_server_reachable", lambda timeout=3.0: False)
    monkeypatch.delenv(S.OXFORD_DIR_ENV, raising=False)
    S._server_reachable_once.cache_clear()
    ds, info = ut.load_dataset(
        "auto", "test", image_size=32, batch_size=8, num_examples=8
    )
    S._server_reachable_once.cache_clear()
    assert info.source == "synthetic" and info.is_stand_in
    out = capsys.readouterr().out
    assert "SYNTHETIC STAND-IN, not Oxford-IIIT Pet" in out
    x, y = _collect(ds)
    assert x.shape == (8, 32, 32, 3)


def test_load_dataset_uses_oxford_when_tfds_has_it(
    mock_oxford_tfds, monkeypatch, capsys
):
    monkeypatch.setattr(S, "oxford_pets_prepared", lambda data_dir=None: True)
    ds, info = ut.load_dataset("auto", "test", image_size=32, batch_size=2)
    assert info.source == "tfds" and not info.is_stand_in and info.is_full
    assert info.num_breeds == 37
    assert "Oxford-IIIT Pet 4.x" in capsys.readouterr().out
    assert _collect(ds)[1].shape == (MOCK_TFDS_TEST, 32, 32)


def test_load_dataset_reads_a_directory_and_refuses_unknown_sources(pets_dir):
    ds, info = ut.load_dataset(str(pets_dir), "train", image_size=32, verbose=False)
    assert (
        info.kind == "directory"
        and info.source == str(pets_dir)
        and info.num_examples == 2
    )
    assert (
        "2 train / 1 validation / 2 test images of 5 breeds" in info.description
        and not info.is_full
        and info.num_breeds == 5
    )
    # a folder is named by its last part, never by a path of this machine
    assert "folder oxford_pets:" in info.description
    assert str(pets_dir.parent) not in info.description
    with pytest.raises(ValueError, match="source='kaggle' is not known"):
        ut.load_dataset("kaggle")
    with pytest.raises(ValueError, match="split='val'"):
        ut.load_dataset("synthetic", split="val")


# --------------------------------------------------------------------------- class imbalance


def test_class_frequencies_and_weights():
    ds = tf.data.Dataset.from_tensor_slices(
        (
            np.zeros((2, 4, 4, 3), np.float32),
            np.array([[[0] * 4] * 4, [[1] * 4] * 3 + [[2] * 4]], np.int32),
        )
    ).batch(2)
    f = ut.class_frequencies(ds)
    np.testing.assert_allclose(f, [16 / 32, 12 / 32, 4 / 32])
    w = ut.class_weights_from_frequencies(f, "median")
    np.testing.assert_allclose(w, [0.75, 1.0, 3.0])
    np.testing.assert_allclose(
        ut.class_weights_from_frequencies([0.5, 0.5, 0.0], "inverse"), [2 / 3, 2 / 3, 0]
    )
    weighted = next(iter(ut.add_sample_weights(ds, w)))
    np.testing.assert_allclose(weighted[2].numpy()[1, 3], [3.0] * 4)


@pytest.mark.slow
def test_class_weight_is_refused_for_pixel_targets_and_sample_weights_work():
    model = ut.build_unet((16, 16, 3), 3, base_filters=2, depth=1)
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = np.zeros((2, 16, 16, 3), np.float32)
    y = np.zeros((2, 16, 16), np.int32)
    # Keras cannot apply class_weight to (batch, H, W) targets: older releases refuse it with a
    # ValueError, Keras 3.15 fails in its per-example conversion (TypeError) or, for a
    # tf.data input, with a shape error deep inside TensorFlow.
    with pytest.raises((ValueError, TypeError, tf.errors.InvalidArgumentError)):
        model.fit(x, y, class_weight={0: 1.0, 1: 2.0, 2: 5.0}, epochs=1, verbose=0)
    ds = ut.add_sample_weights(
        tf.data.Dataset.from_tensor_slices((x, y)).batch(2), [1.0, 2.0, 5.0]
    )
    hist = model.fit(ds, epochs=1, verbose=0)
    assert np.isfinite(hist.history["loss"][0])


def test_elastic_deformation_moves_image_and_mask_together():
    mask = np.zeros((48, 48), np.int32)
    mask[:, :8] = 1
    mask[30:, 30:] = 2
    image = tf.one_hot(mask, 3).numpy()  # channel c is 1 where the mask is c
    seed = tf.constant([3, 4])
    field = ut.elastic_field(seed, 48, sigma=0.06)
    assert field.shape == (48, 48, 2) and 0.5 < float(tf.reduce_max(tf.abs(field))) < 20
    # same seed, same field
    np.testing.assert_array_equal(field, ut.elastic_field(seed, 48, sigma=0.06))
    warped, warped_mask = ut.elastic_warp(tf.constant(image), tf.constant(mask), field)
    assert set(np.unique(warped_mask)) <= {0, 1, 2}  # nearest neighbour: no new labels
    assert not np.array_equal(warped_mask.numpy(), mask)  # it moved
    agree = np.mean(np.argmax(warped.numpy(), -1) == warped_mask.numpy())
    # the same field moved both (bilinear blends only along edges)
    assert agree > 0.97, agree
    still, still_mask = ut.elastic_warp(
        tf.constant(image), tf.constant(mask), tf.zeros((48, 48, 2))
    )
    np.testing.assert_allclose(still, image)
    np.testing.assert_array_equal(still_mask, mask)


def test_augment_pair_applies_elastic_only_when_asked():
    image = tf.random.stateless_uniform((32, 32, 3), [1, 2])
    mask = tf.cast(
        tf.random.stateless_uniform((32, 32), [3, 4], maxval=3, dtype=tf.int32),
        tf.int32,
    )
    seed = tf.constant([5, 6])
    plain = ut.augment_pair(
        image, mask, seed, ut.AugmentConfig(flip=False, min_scale=1.0)
    )
    np.testing.assert_allclose(plain[0], image, atol=1e-6)
    bent = ut.augment_pair(
        image, mask, seed, ut.AugmentConfig(flip=False, min_scale=1.0, elastic=0.05)
    )
    assert not np.allclose(bent[0], image)
    with pytest.raises(ValueError, match="elastic=0.5 must be in"):
        ut.AugmentConfig(elastic=0.5)
    assert ut.TrainConfig(
        elastic=ut.PAPER_ELASTIC
    ).augment_config().elastic == pytest.approx(10 / 572)


def test_to_rgb8_and_check_split():
    from PIL import Image

    from unet_tutorial.data import check_split

    grey16 = Image.fromarray(np.full((2, 3), 65535, np.uint16))
    rgba = Image.fromarray(np.full((2, 3, 4), 200, np.uint8), mode="RGBA")
    for im in (grey16, rgba, Image.fromarray(np.zeros((2, 3), np.uint8))):
        out = ut.to_rgb8(im)
        assert out.shape == (2, 3, 3) and out.dtype == np.uint8
    assert (ut.to_rgb8(grey16) == 255).all()  # scaled, not wrapped
    for split in ut.SPLITS:
        check_split(split)
    with pytest.raises(ValueError, match="split='val' is not known"):
        check_split("val")


def test_quarter_turns_move_image_and_mask_together():
    rng = np.random.default_rng(0)
    mask = rng.integers(0, 3, (16, 16)).astype(np.int32)
    image = tf.constant(mask[..., None].astype(np.float32) / 2)
    config = ut.AugmentConfig(flip=False, min_scale=1.0, rotate90=True)
    turns = set()
    for s in range(12):
        x, y = ut.augment_pair(image, tf.constant(mask), tf.constant([s, 1]), config)
        np.testing.assert_allclose(x.numpy()[..., 0] * 2, y.numpy())  # still paired
        turns.add(next(k for k in range(4) if (np.rot90(mask, k) == y.numpy()).all()))
    assert len(turns) > 1


def test_16_bit_images_are_scaled_by_the_bit_depth_their_values_use(tmp_path):
    """12-bit microscope data in a 16-bit PNG (0..4095) is read bright, not nearly
    black (4095 / 65535 * 255 = 16); an 8-bit image stored in 16 bits keeps its
    values; a full 16-bit image is scaled by 65535. Nothing is clipped.
    """
    from PIL import Image

    from unet_tutorial.engine.folders import read_image

    ramp = np.arange(4096, dtype=np.uint16).reshape(64, 64)  # 12-bit: 0 .. 4095
    Image.fromarray(ramp).save(tmp_path / "twelve.png")
    Image.fromarray(ramp.astype(np.int32), mode="I").save(tmp_path / "twelve.tif")
    for name in ("twelve.png", "twelve.tif"):
        with Image.open(tmp_path / name) as im:
            assert im.mode.startswith("I")  # read as more than 8 bits
            grey = ut.to_rgb8(im)[..., 0]
        assert grey.min() == 0 and grey.max() == 255, name
        assert grey[32, 0] == round(2048 * 255 / 4095), name  # the middle is mid-grey
        np.testing.assert_array_equal(read_image(tmp_path / name, 1)[..., 0], grey)
    cases = {200: 200, 1000: round(1000 * 255 / 1023), 60000: round(60000 / 257)}
    for top, expected in cases.items():
        image = np.linspace(0, top, 16).astype(np.uint16).reshape(4, 4)
        grey = ut.to_rgb8(Image.fromarray(image))[..., 0]
        assert grey.max() == expected, top


@pytest.mark.parametrize(
    "args, native, message",
    [
        (("train", 8, 4), False, r"image_size=8 must be an integer of at least 16 \(e"),
        (("train", None, 4), False, "image_size=None must be an integer"),
        (("train", 8, 4), True, "at least 16, or None for native resolution"),
        (("train", 32, 0), False, "batch_size=0 must be a positive integer"),
        (("tain", 32, 4), False, "split='tain' is not known"),
    ],
)
def test_check_sizes_refuses_a_bad_split_image_size_or_batch_size(
    args, native, message
):
    from unet_tutorial.engine.folders import check_sizes

    with pytest.raises(ValueError, match=message):
        check_sizes(*args, native=native)
    check_sizes("test", None if native else 16, 1, native=native)  # the smallest good


def test_load_synthetic_pets_refuses_an_image_size_below_16():
    with pytest.raises(ValueError, match=r"image_size=8 .* \(e\.g\. 128\)"):
        ut.load_synthetic_pets("train", 8, 4)
