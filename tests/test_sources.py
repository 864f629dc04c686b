"""Where the data comes from (one resolver, a fixed order), the validation hold-out, and real files."""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from conftest import MOCK_TFDS_TEST, MOCK_TFDS_TRAIN

import unet_tutorial as ut
from unet_tutorial.engine import sources as S

MINI = Path(__file__).parent / "fixtures" / "oxford-pets-mini"
SHARED_SUBSET = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "oxford-pets-subset"
)


def _collect(ds):
    xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in ds], strict=True)
    return np.concatenate(xs), np.concatenate(ys)


# --------------------------------------------------------------------------- the order of "auto"


def test_auto_order_tfds_then_folder_then_download_then_stand_in(offline):
    assert ut.resolve_source("auto").kind == "synthetic"
    offline.setenv(S.OXFORD_DIR_ENV, str(MINI))
    data = ut.resolve_source("auto")
    assert (data.kind, data.path, data.download) == ("directory", str(MINI), False)
    assert S.OXFORD_DIR_ENV in data.reason
    offline.setattr(S, "oxford_pets_prepared", lambda data_dir=None: True)
    # a prepared tfds copy wins over the folder
    assert ut.resolve_source("auto").kind == "tfds"
    offline.setattr(S, "oxford_pets_prepared", lambda data_dir=None: False)
    offline.delenv(S.OXFORD_DIR_ENV)
    offline.setattr(S, "oxford_server_reachable", lambda timeout=3.0: True)
    S._server_reachable_once.cache_clear()
    data = ut.resolve_source("auto")
    assert (data.kind, data.download) == ("tfds", True)


def test_explicit_choices_and_errors(offline, tmp_path):
    assert ut.resolve_source("synthetic").is_stand_in
    assert ut.resolve_source(MINI).kind == "directory" and ut.resolve_source(
        str(MINI)
    ).path == str(MINI)
    start = time.monotonic()
    with pytest.raises(ut.DataUnavailableError, match="download_oxford_pets") as exc:
        ut.resolve_source("oxford")
    # no minutes of retries (behaviour, not a benchmark: a generous bound)
    assert time.monotonic() - start < 30
    assert S.OXFORD_DIR_ENV in str(exc.value) and "data_dir" in str(exc.value)
    with pytest.raises(ut.DataUnavailableError):
        ut.resolve_source("tfds")
    with pytest.raises(ValueError, match="source='kaggle' is not known"):
        ut.resolve_source("kaggle")
    for not_a_source in (None, 3):  # one message, not a TypeError from pathlib
        with pytest.raises(ValueError, match=f"source={not_a_source} is not known"):
            ut.resolve_source(not_a_source)
    with pytest.raises(FileNotFoundError, match="annotations/test.txt missing"):
        (tmp_path / "images").mkdir()
        (tmp_path / "annotations" / "trimaps").mkdir(parents=True)
        (tmp_path / "annotations" / "trainval.txt").write_text("x 1 1 1\n")
        ut.resolve_source(tmp_path)
    offline.setenv(S.OXFORD_DIR_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(
        FileNotFoundError, match=f"{S.OXFORD_DIR_ENV}=.*nowhere.*unset it"
    ):
        ut.resolve_source("auto")


def test_info_source_selects_the_same_data_again(offline):
    offline.setenv(S.OXFORD_DIR_ENV, str(MINI))
    _, info = ut.load_dataset("auto", "test", 32, 4, verbose=False)
    # the variable's name, not this machine's path: it selects the same folder again
    assert (info.kind, info.source) == ("directory", S.OXFORD_DIR_SOURCE)
    _, again = ut.load_dataset(info.source, "test", 32, 4, verbose=False)
    assert again == info
    _, syn = ut.load_dataset(
        "synthetic", "validation", 32, 4, num_examples=6, verbose=False
    )
    assert (
        syn.source == "synthetic" and syn.kind == "synthetic" and syn.num_examples == 6
    )


def test_the_recipe_follows_the_resolved_source(offline):
    assert ut.recipe_for(ut.resolve_source("auto"), gpu=False).source == "synthetic"
    offline.setenv(S.OXFORD_DIR_ENV, str(MINI))
    data = ut.resolve_source("auto")
    config = ut.recipe_for(data, gpu=False)
    assert config.source == S.OXFORD_DIR_SOURCE and data.path == str(MINI)
    assert config.base_filters == ut.PRESETS["cpu"]["base_filters"]
    note = ut.about_data(data).note
    assert "8 train / 1 validation / 3 test images of 3 breeds" in note
    assert "folder oxford-pets-mini:" in note  # in the folded details
    assert "not an Oxford-IIIT Pet result in the usual sense" in note
    assert str(MINI.parent) not in note
    assert (
        ut.recipe_for(data, gpu=True).base_filters == ut.PRESETS["full"]["base_filters"]
    )


def _no_path(text: str, *folders: Path) -> bool:
    """Whether ``text`` names none of ``folders`` by path (nor any absolute path)."""
    return not any(str(f) in text or str(f.resolve()) in text for f in folders) and (
        os.sep + "tmp" + os.sep not in text
    )


def test_the_folder_named_by_the_variable_is_recorded_by_name(offline, tmp_path):
    with pytest.raises(ut.DataUnavailableError, match="not set here"):
        ut.resolve_source(ut.OXFORD_DIR_SOURCE)
    offline.setenv(S.OXFORD_DIR_ENV, str(MINI))
    for asked in ("auto", "oxford", ut.OXFORD_DIR_SOURCE):
        data = ut.resolve_source(asked)
        assert (data.kind, data.path, data.env) == (
            "directory",
            str(MINI),
            S.OXFORD_DIR_ENV,
        )
        assert data.source == "$" + S.OXFORD_DIR_ENV
        assert "oxford-pets-mini" in data.reason and _no_path(data.reason, MINI)
    # a folder asked for by its path keeps that path as its source= value, but the
    # sentences a page prints name it by its last part
    asked = ut.resolve_source(MINI)
    assert asked.source == str(MINI) and asked.env is None
    assert _no_path(asked.reason, MINI) and "oxford-pets-mini" in asked.reason
    for source in ("auto", MINI, "."):
        if source == ".":
            offline.chdir(MINI)
        for split in ("train", "validation", "test"):
            _, info = ut.load_dataset(source, split, 32, 4, verbose=False)
            for text in (info.description, info.notice):
                assert _no_path(text, MINI) and "oxford-pets-mini" in text, text
            if source == "auto":
                assert not os.path.isabs(info.source)


# --------------------------------------------------------------------------- the validation hold-out


def test_holdout_is_stratified_fixed_and_disjoint():
    names = [
        f"{breed}_{i}"
        for breed in ("Abyssinian", "Bengal", "pug")
        for i in range(1, 101)
    ]
    names += [f"beagle_{i}" for i in range(1, 41)]
    held = ut.validation_holdout(names, [ut.breed_of(n) for n in names])
    per_breed = Counter(ut.breed_of(n) for n in held)
    assert per_breed == {"Abyssinian": 10, "Bengal": 10, "pug": 10, "beagle": 4}
    assert held == ut.validation_holdout(
        list(reversed(names)), [ut.breed_of(n) for n in reversed(names)]
    )
    assert held != ut.validation_holdout(names, [ut.breed_of(n) for n in names], seed=1)
    with pytest.raises(ValueError, match="at least two"):
        ut.validation_holdout(["a_1"], ["a"])
    with pytest.raises(ValueError, match="fraction"):
        ut.validation_holdout(names, names, fraction=0.9)


def test_real_fixture_splits_and_quirk_files():
    train = ut.read_split_file(MINI, "train")
    val = ut.read_split_file(MINI, "validation")
    test = ut.read_split_file(MINI, "test")
    assert (len(train), len(val), len(test)) == (8, 1, 3)
    assert not {r.name for r in train} & {r.name for r in val}
    trainval = [
        line.split()[0]
        for line in (MINI / "annotations" / "trainval.txt").read_text().splitlines()
    ]
    assert sorted(r.name for r in train + val) == sorted(trainval)
    # Abyssinian_5.jpg is a PNG with alpha and Abyssinian_34.jpg a GIF with an all-background trimap
    assert (MINI / "images" / "Abyssinian_5.jpg").read_bytes()[:4] == b"\x89PNG"
    assert (MINI / "images" / "Abyssinian_34.jpg").read_bytes()[:3] == b"GIF"
    x, y = _collect(ut.load_pets_directory(MINI, "test", image_size=64, batch_size=2))
    assert x.shape == (3, 64, 64, 3) and set(np.unique(y)) == {0, 1, 2}
    names, masks = [], []
    for split, records in (("train", train), ("validation", val)):
        ds = ut.load_pets_directory(
            MINI, split, image_size=64, batch_size=4, augment=False, shuffle=False
        )
        names += [r.name for r in records]
        masks.append(_collect(ds)[1])
    masks = np.concatenate(masks)
    assert masks.shape == (9, 64, 64)
    assert (
        masks[names.index("Abyssinian_34")] == 1
    ).all()  # the GIF decodes; its trimap is all background


@pytest.mark.skipif(
    not SHARED_SUBSET.is_dir(),
    reason="the shared 600-image subset is not beside this checkout",
)
def test_shared_subset_counts():
    counts = {
        split: len(ut.read_split_file(SHARED_SUBSET, split)) for split in ut.SPLITS
    }
    assert counts["train"] + counts["validation"] == 300 and counts["test"] == 298
    val = ut.read_split_file(SHARED_SUBSET, "validation")
    assert Counter(ut.breed_of(r.name) for r in val) == {
        "Abyssinian": 10,
        "Bengal": 10,
        "american_bulldog": 10,
    }
    assert (
        "270 train / 30 validation / 298 test images of 3 breeds"
        in ut.describe_source(ut.resolve_source(SHARED_SUBSET))
    )


# --------------------------------------------------------------------------- tfds (mocked, offline)


def test_tfds_validation_is_held_out_of_trainval(mock_oxford_tfds):
    _, ytr = _collect(ut.load_oxford_pets("train", 32, 4, augment=False, shuffle=False))
    _, yval = _collect(ut.load_oxford_pets("validation", 32, 4))
    _, yte = _collect(ut.load_oxford_pets("test", 32, 4))
    assert (
        len(yval) == 2
        and len(ytr) == MOCK_TFDS_TRAIN - 2
        and len(yte) == MOCK_TFDS_TEST
    )
    _, info = ut.load_dataset("tfds", "validation", 32, 4, verbose=False)
    assert (
        info.num_examples == 2
        and info.kind == "tfds"
        and "37 breeds" in info.description
    )


def test_tfds_offline_fails_fast_and_leaves_nothing(tmp_path, monkeypatch):
    import tensorflow_datasets as tfds

    monkeypatch.setattr(
        "unet_tutorial.engine.loading.oxford_server_reachable",
        lambda timeout=3.0: False,
    )

    def must_not_run(*args, **kwargs):
        raise AssertionError("download_and_prepare must not be tried offline")

    monkeypatch.setattr(tfds.core.DatasetBuilder, "download_and_prepare", must_not_run)
    with pytest.raises(ut.DataUnavailableError, match="server does not answer"):
        ut.load_oxford_pets("train", data_dir=tmp_path)
    assert not [p for p in tmp_path.rglob("*") if ".tmp" in p.name]


def test_tfds_builder_reaches_the_download_step(tmp_path, monkeypatch):
    """A fresh install can prepare Oxford through tfds: its imports (importlib_resources among them) resolve."""
    import tensorflow_datasets as tfds

    class ReachedDownload(Exception):
        pass

    def stop(*args, **kwargs):
        raise ReachedDownload

    monkeypatch.setattr(tfds.download.DownloadManager, "download_and_extract", stop)
    monkeypatch.setattr(tfds.download.DownloadManager, "download", stop)
    builder = tfds.builder("oxford_iiit_pet:4.*.*", data_dir=os.fspath(tmp_path))
    with pytest.raises(ReachedDownload):
        builder.download_and_prepare()


def test_oxford_builder_is_version_4_in_the_folder_asked_for(tmp_path):
    builder = S.oxford_builder(tmp_path)
    assert builder.name == "oxford_iiit_pet" and str(builder.version).startswith("4.")
    assert str(tmp_path) in str(builder.data_dir) and not builder.is_prepared()
    assert not S.oxford_pets_prepared(tmp_path)


EM = Path(__file__).parent / "fixtures" / "isbi2012-em-mini"


def test_the_isbi_variable_names_the_em_folder_without_its_path(monkeypatch):
    monkeypatch.delenv(S.ISBI_DIR_ENV, raising=False)
    with pytest.raises(S.DataUnavailableError, match="UNET_TUTORIAL_ISBI_DIR"):
        S.resolve_source(S.ISBI_DIR_SOURCE)
    monkeypatch.setenv(S.ISBI_DIR_ENV, str(EM))
    data = S.resolve_source(S.ISBI_DIR_SOURCE)
    assert data.kind == "folder" and data.source == "$UNET_TUTORIAL_ISBI_DIR"
    assert str(EM.parent) not in data.reason
    assert S.isbi_source(verbose=False) == S.ISBI_DIR_SOURCE
    monkeypatch.setenv(S.ISBI_DIR_ENV, str(EM / "images"))
    with pytest.raises(FileNotFoundError, match="no images/ and masks/"):
        S.resolve_source(S.ISBI_DIR_SOURCE)


def test_isbi_source_falls_back_to_an_announced_stand_in(monkeypatch, tmp_path, capsys):
    from unet_tutorial.engine import download

    monkeypatch.delenv(S.ISBI_DIR_ENV, raising=False)

    def offline(*args, **kwargs):
        raise OSError("cannot download it. offline")

    monkeypatch.setattr(download, "download_isbi2012", offline)
    source = S.isbi_source(tmp_path)
    assert "SYNTHETIC STAND-IN" in capsys.readouterr().out
    report = ut.check_folder(source)
    assert report.ok and report.classes.names == ("membrane", "cell")
