"""The one folder reader on the layouts real datasets ship (Carvana, PASCAL VOC,
Kvasir-SEG, colour masks, TIFF stacks, Oxford-IIIT Pet), built small in tmp_path
from the real pets and EM slices of tests/fixtures.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import unet_tutorial as ut
from unet_tutorial.engine import cli
from unet_tutorial.engine.folders import detect_layout, parse_colors

FIXTURES = Path(__file__).parent / "fixtures"
PETS = FIXTURES / "oxford-pets-mini"
EM = FIXTURES / "isbi2012-em-mini"
VOC_NAMES = (
    "background aeroplane bicycle bird boat bottle bus car cat chair cow diningtable "
    "dog horse motorbike person pottedplant sheep sofa train tvmonitor"
).split()


def pets(n: int = 8, size: int = 40) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``(name, RGB image, trimap)`` of ``n`` real pets, resized small."""
    out = []
    for path in sorted((PETS / "images").iterdir())[:n]:
        image = Image.open(path).convert("RGB").resize((size, size))
        trimap = Image.open(PETS / "annotations" / "trimaps" / f"{path.stem}.png")
        trimap = np.asarray(trimap.resize((size, size), Image.NEAREST))
        out.append((path.stem, np.asarray(image), trimap))
    return out


def classes_of(ds) -> set[int]:
    return {int(v) for batch in ds for v in np.unique(batch[1].numpy())}


def carvana(root: Path) -> Path:
    """data/imgs/NAME.jpg and data/masks/NAME_mask.gif (0 car, 1 background)."""
    for folder in ("imgs", "masks"):
        (root / folder).mkdir(parents=True)
    for name, image, trimap in pets():
        Image.fromarray(image).save(root / "imgs" / f"{name}.jpg", quality=95)
        mask = Image.fromarray((trimap == 1).astype(np.uint8))
        mask.save(root / "masks" / f"{name}_mask.gif")
    return root


def test_carvana_layout_is_detected_with_its_mask_suffix(tmp_path):
    root = carvana(tmp_path / "data")
    report = ut.check_folder(root)
    assert report.ok, report.problems
    assert report.layout.mask_suffix == "_mask"
    assert report.layout.images_dir.name == "imgs" and len(report.pairs) == 8
    text = str(report).splitlines()
    assert "imgs/" in text[1] and "<image name>_mask" in text[1]
    assert "GIF" in text[2] and "palette" in text[2]
    ds, info = ut.load_dataset(root, "train", image_size=32, verbose=False)
    assert info.num_classes == 2 and info.ignore_value is None
    assert classes_of(ds) == {0, 1}


def test_options_override_detection(tmp_path):
    root = carvana(tmp_path / "data")
    (root / "imgs").rename(root / "photos")
    with pytest.raises(FileNotFoundError, match="no images folder"):
        detect_layout(root)
    layout = detect_layout(root, images_dir="photos", mask_suffix="_mask")
    assert layout.images_dir == root / "photos" and layout.mask_suffix == "_mask"
    assert ut.check_folder(root, images_dir="photos").ok


def voc(root: Path) -> Path:
    """JPEGImages/, SegmentationClass/ palette PNGs (cat 8 / dog 12, border 255),
    ImageSets/Segmentation/train.txt + val.txt, no test list, 21 class names."""
    for folder in ("JPEGImages", "SegmentationClass", "ImageSets/Segmentation"):
        (root / folder).mkdir(parents=True)
    names = []
    for name, image, trimap in pets():
        Image.fromarray(image).save(root / "JPEGImages" / f"{name}.jpg")
        pet = VOC_NAMES.index("cat" if name[0].isupper() else "dog")
        index = np.select([trimap == 1, trimap == 3], [pet, 255], 0).astype(np.uint8)
        mask = Image.fromarray(index, "L").convert("P")
        mask.putpalette([v for i in range(256) for v in (i, 255 - i, i // 2)])
        mask.save(root / "SegmentationClass" / f"{name}.png")
        names.append(name)
    lists = root / "ImageSets" / "Segmentation"
    (lists / "train.txt").write_text("\n".join(names[:6]) + "\n")
    (lists / "val.txt").write_text("\n".join(names[6:]) + "\n")
    (root / "classes.txt").write_text("\n".join(VOC_NAMES) + "\n")
    return root


def test_voc_palette_masks_with_255_borders_and_no_test_list(tmp_path):
    root = voc(tmp_path / "VOC2012")
    report = ut.check_folder(root)
    assert report.ok, report.problems
    assert Image.open(report.layout.masks_dir / "Abyssinian_100.png").mode == "P"
    assert report.classes.num_classes == 21 and report.classes.ignore_value == 255
    assert "VOC convention" in report.classes.rule and report.ignored_pixels > 0
    assert not report.has_test and report.splits["validation"]
    assert "no test split" in str(report) and "evaluate_test=False" in str(report)
    ds, info = ut.load_dataset(root, "validation", image_size=32, verbose=False)
    assert info.class_names == tuple(VOC_NAMES) and not info.has_test
    x, y, w = next(iter(ds))
    assert (w.numpy() == 0).any() and set(np.unique(y)) <= {0, 8, 12}
    with pytest.raises(ValueError, match="has no test split") as exc:
        ut.load_dataset(root, "test", image_size=32, verbose=False)
    assert "\n" not in str(exc.value)


def kvasir(root: Path) -> Path:
    """images/*.jpg and masks/*.jpg: binary masks saved as (RGB) JPEG."""
    for folder in ("images", "masks"):
        (root / folder).mkdir(parents=True)
    for name, image, trimap in pets(6, 48):
        Image.fromarray(image).save(root / "images" / f"{name}.jpg")
        mask = np.repeat(((trimap == 1) * 255).astype(np.uint8)[..., None], 3, -1)
        Image.fromarray(mask).save(root / "masks" / f"{name}.jpg", quality=75)
    return root


def test_binary_jpeg_masks_are_thresholded_and_others_refused(tmp_path):
    root = kvasir(tmp_path / "kvasir")
    report = ut.check_folder(root)
    assert report.ok, report.problems
    assert report.classes.values == (0, 255) and report.classes.ignore_value is None
    assert any("neither near 0 nor near 255" in n for n in report.notes)
    assert "JPEG binary" in str(report).splitlines()[2]
    ds, info = ut.load_dataset(root, "test", image_size=32, verbose=False)
    assert info.num_classes == 2 and classes_of(ds) <= {0, 1}
    three = np.zeros((48, 48), np.uint8)
    three[:16], three[16:32] = 128, 255
    Image.fromarray(three).save(root / "masks" / "Abyssinian_100.jpg")
    problems = ut.check_folder(root).problems
    assert len(problems) == 1 and "more than two levels" in problems[0]
    assert problems[0].startswith("masks/Abyssinian_100.jpg")


def colour_folder(root: Path) -> Path:
    """images/*.png and RGB masks/*.png: pet red, background black, border white
    (ignored), named by a colour table in classes.txt."""
    for folder in ("images", "masks"):
        (root / folder).mkdir(parents=True)
    colours = {1: (255, 0, 0), 2: (0, 0, 0), 3: (255, 255, 255)}
    for name, image, trimap in pets(5):
        Image.fromarray(image).save(root / "images" / f"{name}.png")
        rgb = np.zeros(trimap.shape + (3,), np.uint8)
        for value, colour in colours.items():
            rgb[trimap == value] = colour
        Image.fromarray(rgb).save(root / "masks" / f"{name}.png")
    (root / "classes.txt").write_text(
        "background 0 0 0\npet 255 0 0\nignore 255 255 255\n"
    )
    return root


def test_colour_masks_read_through_the_colour_table(tmp_path):
    root = colour_folder(tmp_path / "colours")
    report = ut.check_folder(root)
    assert report.ok, report.problems
    assert report.classes.names == ("background", "pet")
    assert report.ignored_pixels > 0
    ds, info = ut.load_dataset(root, "test", image_size=None, verbose=False)
    x, y, w = next(iter(ds))
    assert info.num_classes == 2 and set(np.unique(y)) == {0, 1}
    odd = np.zeros((40, 40, 3), np.uint8)
    odd[0, 0] = (1, 2, 3)
    Image.fromarray(odd).save(root / "masks" / "Abyssinian_100.png")
    problems = ut.check_folder(root).problems
    assert len(problems) == 1, problems
    assert "masks/Abyssinian_100.png" in problems[0] and "(1, 2, 3)" in problems[0]


def test_parse_colors():
    table = parse_colors(["road 128 64 128", "sky 70 130 180", "ignore 0 0 0"])
    assert table.names == ("road", "sky") and table.ignore_value == 255
    assert table.colors == {(128, 64, 128): 0, (70, 130, 180): 1, (0, 0, 0): 255}
    assert parse_colors(["membrane 0", "cell 255"]) is None
    with pytest.raises(ValueError, match="no colour"):
        parse_colors(["road 128 64 128", "sky"])


def write_stack(path: Path, pages: list[np.ndarray]) -> None:
    frames = [Image.fromarray(p) for p in pages]
    frames[0].save(path, save_all=True, append_images=frames[1:])


def em_stack(root: Path, n_masks: int = 12) -> Path:
    """images/stack.tif and masks/stack.tif: 12 EM slices (the 6 real ones and
    their mirror images), 64 px."""
    for folder in ("images", "masks"):
        (root / folder).mkdir(parents=True)
    images, masks = [], []
    for flip in (False, True):
        for path in sorted((EM / "images").iterdir()):
            image = np.asarray(Image.open(path))[:64, :64]
            mask = np.asarray(Image.open(EM / "masks" / path.name))[:64, :64]
            images.append(image[:, ::-1].copy() if flip else image)
            masks.append(mask[:, ::-1].copy() if flip else mask)
    write_stack(root / "images" / "stack.tif", images)
    write_stack(root / "masks" / "stack.tif", masks[:n_masks])
    return root


def test_a_tiff_stack_gives_one_pair_per_page(tmp_path):
    root = em_stack(tmp_path / "em")
    report = ut.check_folder(root)
    assert report.ok, report.problems
    assert len(report.pairs) == 12 and report.classes.values == (0, 255)
    assert report.splits["test"][-1] == "stack page 12"
    ds, info = ut.load_dataset(root, "validation", image_size=None, verbose=False)
    x, y = next(iter(ds))
    page = report.splits["validation"][0]
    k = report.records[page].page
    with Image.open(root / "masks" / "stack.tif") as im:
        im.seek(k)
        want = (np.asarray(im) == 255).astype(np.int32)
    np.testing.assert_array_equal(y[0], want)
    root = em_stack(tmp_path / "short", n_masks=11)
    problems = ut.check_folder(root).problems
    assert len(problems) == 1 and "12 pages" in problems[0] and "11" in problems[0]


def test_oxford_goes_through_the_same_reader():
    report = ut.check_folder(PETS)
    assert report.ok, report.problems
    assert report.layout.oxford and report.classes.names == ut.CLASS_NAMES
    assert report.classes.values == (1, 2, 3)
    assert "Oxford-IIIT Pet" in str(report).splitlines()[1]
    assert {s: len(v) for s, v in report.splits.items()} == {
        "train": 8,
        "validation": 1,
        "test": 3,
    }
    ds, info = ut.load_dataset(PETS, "test", image_size=32, verbose=False)
    assert info.kind == "directory" and info.num_classes == 3
    assert classes_of(ds) == {0, 1, 2}


def test_on_corrupt_skip_leaves_a_truncated_image_out_and_names_it(tmp_path):
    root = carvana(tmp_path / "data")
    image = root / "imgs" / "Abyssinian_34.jpg"
    image.write_bytes(image.read_bytes()[:300])
    report = ut.check_folder(root)
    assert report.problems == (
        next(p for p in report.problems if p.startswith("imgs/Abyssinian_34.jpg")),
    )
    skipping = ut.check_folder(root, on_corrupt="skip")
    assert skipping.ok and list(skipping.skipped) == ["Abyssinian_34"]
    assert any("Abyssinian_34" in n for n in skipping.notes)
    split = next(s for s, v in report.splits.items() if "Abyssinian_34" in v)
    with pytest.warns(UserWarning, match="skipped 1 corrupt example.*Abyssinian_34"):
        ds, info = ut.load_dataset(
            root, split, image_size=32, on_corrupt="skip", verbose=False
        )
    assert info.num_examples == len(report.splits[split]) - 1


def test_a_refusal_fits_on_a_screen_and_names_each_cause_once(tmp_path, capsys):
    root = tmp_path / "many"
    for folder in ("images", "masks"):
        (root / folder).mkdir(parents=True)
    for i in range(40):
        Image.fromarray(np.zeros((16, 16), np.uint8)).save(root / "images" / f"{i}.png")
        (root / "masks" / f"{i}.png").write_bytes(b"not a png")
    report = ut.check_folder(root)
    assert len(report.problems) == 1, report.problems  # no follow-on problems
    assert report.problems[0].startswith("40 files cannot be read")
    with pytest.raises(ValueError) as exc:
        ut.load_dataset(root, "train", image_size=None, verbose=False)
    assert len(str(exc.value).splitlines()) <= 25
    assert cli.main(["check-data", str(root)]) == 1
    assert len(capsys.readouterr().out.splitlines()) <= 25


def test_check_data_options_override_detection(tmp_path, capsys):
    root = carvana(tmp_path / "data")
    (root / "imgs").rename(root / "photos")
    (root / "masks").rename(root / "truth")
    assert cli.main(["check-data", str(root)]) != 0
    capsys.readouterr()
    args = ["--images", "photos", "--masks", "truth", "--mask-suffix", "_mask"]
    assert cli.main(["check-data", str(root), *args]) == 0
    out = capsys.readouterr().out
    assert "photos/" in out and "8 image/mask pairs" in out


def test_a_tiff_stack_is_never_read_as_its_first_page_by_predict(tmp_path):
    root = em_stack(tmp_path / "em")
    with pytest.raises(ValueError, match="stack of 12 pages"):
        ut.load_image(root / "images" / "stack.tif")
    with pytest.raises(ValueError, match="multi-page TIFF"):
        cli._split_images(str(root), "test")


def test_jpeg_masks_of_class_indices_are_refused_not_read_as_black(tmp_path):
    root = kvasir(tmp_path / "kvasir")
    for path in (root / "masks").iterdir():  # class indices 0 and 1, as JPEG
        mask = (np.asarray(Image.open(path).convert("L")) > 127).astype(np.uint8)
        Image.fromarray(mask).save(path, quality=95)
    problems = ut.check_folder(root).problems
    assert len(problems) == 1 and "hold no white" in problems[0], problems
    assert "save them as PNG" in problems[0]


@pytest.mark.slow
@pytest.mark.parametrize("layout", ["carvana", "voc", "kvasir", "colours", "tiff"])
def test_each_shipped_layout_passes_check_data_and_a_tiny_train(
    tmp_path, capsys, layout
):
    build = {
        "carvana": carvana,
        "voc": voc,
        "kvasir": kvasir,
        "colours": colour_folder,
        "tiff": em_stack,
    }[layout]
    root = build(tmp_path / layout)
    assert cli.main(["check-data", str(root)]) == 0  # no conversion, no option
    run = tmp_path / "run"
    args = ["train", "--source", str(root), "--size", "32", "--epochs", "1"]
    args += ["--steps-per-epoch", "1", "--batch-size", "2", "--base-filters", "2"]
    args += ["--depth", "2", "--output", str(run), "--verbose", "0"]
    if layout == "voc":  # train and val lists only: no test split
        args.append("--no-test")
    if layout in ("voc", "colours"):  # ignored pixels: a per-pixel loss, as advised
        args += ["--loss", "ce"]
    assert cli.main(args) == 0, capsys.readouterr().err
    assert len(ut.read_history(run / "history.csv")) == 1
    assert (run / "final.keras").is_file()
