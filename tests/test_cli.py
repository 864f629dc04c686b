"""The console script, run in-process through its main()."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
from conftest import TINY, TINY_CLI
from PIL import Image

import unet_tutorial as ut
from unet_tutorial.engine import cli


def test_sizes_traces_the_paper_tile(capsys):
    assert cli.main(["sizes", "--size", "572", "--padding", "valid"]) == 0
    out = capsys.readouterr().out
    assert "dec1:  392 ->  388" in out


def test_bad_value_gives_one_line_error_and_exit_2(capsys):
    assert cli.main(["summary", "--size", "100"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "96 and 112" in err[0]


def test_debug_shows_the_traceback_instead_of_one_line(capsys, monkeypatch):
    assert cli.main(["sizes", "--size", "100", "--depth", "30"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    with pytest.raises(ValueError, match="depth=30 is more than 12"):
        cli.main(["--debug", "sizes", "--size", "100", "--depth", "30"])
    monkeypatch.setenv(cli.DEBUG_ENV, "1")
    with pytest.raises(ValueError, match="depth=30"):
        cli.main(["sizes", "--size", "100", "--depth", "30"])


def test_argparse_errors_exit_2():
    with pytest.raises(SystemExit) as exc:
        cli.main(["summary", "--padding", "full"])
    assert exc.value.code == 2


@pytest.mark.parametrize(
    "command", ["summary", "sizes", "train", "evaluate", "predict", "animate", "info"]
)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main([command, "--help"])
    assert exc.value.code == 0
    assert "usage: unet-tutorial" in capsys.readouterr().out


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One tiny training run through the CLI, shared by the commands that need a model."""
    out = tmp_path_factory.mktemp("cli") / "run"
    code = cli.main(
        [
            "train",
            "--source",
            "synthetic",
            "--size",
            "32",
            "--base-filters",
            "4",
            "--depth",
            "2",
            "--epochs",
            "1",
            "--batch-size",
            "8",
            "--synthetic-examples",
            "16",
            "8",
            "8",
            "--output",
            str(out),
            "--verbose",
            "0",
        ]
    )
    assert code == 0
    return out


@pytest.mark.slow
def test_train_command_writes_the_run(trained):
    for name in ("best.keras", "final.keras", "history.csv", "config.json"):
        assert (trained / name).is_file()


@pytest.mark.slow
def test_train_no_test_leaves_the_test_split_for_one_evaluate_at_the_end(
    tmp_path, capsys
):
    out = tmp_path / "run"
    args = ["train", *TINY_CLI, "--epochs", "1", "--output", str(out), "--verbose", "0"]
    assert cli.main([*args, "--no-test"]) == 0
    assert "test split" not in capsys.readouterr().out
    assert (out / "final.keras").is_file() and not (out / "test.json").exists()
    # the settings kept: the test split, scored once, by the evaluate command
    test_size = TINY["num_examples"][2]
    evaluate = ["evaluate", str(out / "final.keras"), "--split", "test"]
    data = ["--source", TINY["source"], "--synthetic-examples", str(test_size)]
    assert cli.main([*evaluate, *data]) == 0
    assert f"this is the test split ({test_size})" in capsys.readouterr().out


@pytest.mark.slow
def test_evaluate_command_prints_the_table_and_the_stand_in_note(trained, capsys):
    assert cli.main(["evaluate", str(trained / "best.keras"), "--source", "synthetic",
                     "--synthetic-examples", "8"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "| mean IoU |" in out and "SYNTHETIC STAND-IN" in out


@pytest.mark.slow
def test_predict_command_writes_masks_and_overlays_at_the_image_size(
    trained, tmp_path, capsys
):
    from PIL import Image

    photo = tmp_path / "cat.png"
    Image.fromarray(np.zeros((45, 70, 3), np.uint8)).save(photo)
    out = tmp_path / "pred"
    assert (
        cli.main(
            ["predict", str(trained / "best.keras"), str(photo), "--output", str(out)]
        )
        == 0
    )
    mask = np.asarray(Image.open(out / "cat_mask.png"))
    assert mask.shape == (45, 70) and set(np.unique(mask)) <= {0, 1, 2}
    assert np.asarray(Image.open(out / "cat_overlay.png")).shape == (45, 70, 3)


def test_predict_with_a_grayscale_two_class_model_overlays_and_names_indices(
    tmp_path, capsys
):
    """An EM-like model (1 channel in, 2 classes out): the overlay is drawn on the
    image in colour, and the message names class indices, not the pet classes."""
    from PIL import Image

    model = ut.build_unet((32, 32, 1), 2, base_filters=2, depth=1)
    model.save(tmp_path / "em.keras")
    slice_png = tmp_path / "slice.png"
    Image.fromarray(np.full((40, 48), 120, np.uint8)).save(slice_png)  # grayscale
    out = tmp_path / "pred"
    args = ["predict", str(tmp_path / "em.keras"), str(slice_png), "--output", str(out)]
    assert cli.main(args) == 0
    printed = capsys.readouterr().out
    assert "class indices 0 to 1" in printed and "pet" not in printed
    mask = np.asarray(Image.open(out / "slice_mask.png"))
    assert mask.shape == (40, 48) and set(np.unique(mask)) <= {0, 1}
    assert np.asarray(Image.open(out / "slice_overlay.png")).shape == (40, 48, 3)


@pytest.mark.slow
def test_predict_names_a_missing_or_non_image_file(trained, tmp_path, capsys):
    model = str(trained / "best.keras")
    assert cli.main(["predict", model, str(tmp_path / "missing.jpg")]) == 1
    assert "missing.jpg does not exist" in capsys.readouterr().err
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    assert cli.main(["predict", model, str(text)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "notes.jpg is not a readable image" in err[0]
    # the image is checked first
    assert cli.main(["predict", str(tmp_path / "nomodel.keras"), str(text)]) == 2


@pytest.mark.slow
def test_predict_keeps_inputs_with_the_same_name_apart_and_says_when_it_replaces(
    trained, tmp_path, capsys
):
    from PIL import Image

    for folder, size in (("a", (20, 30)), ("b", (24, 36))):
        (tmp_path / folder).mkdir()
        Image.fromarray(np.zeros((*size, 3), np.uint8)).save(
            tmp_path / folder / "cat.png"
        )
    out = tmp_path / "pred"
    args = ["predict", str(trained / "best.keras"), str(tmp_path / "a" / "cat.png"), str(tmp_path / "b" / "cat.png"),
            "--output", str(out)]  # fmt: skip
    assert cli.main(args) == 0
    assert np.asarray(Image.open(out / "cat_mask.png")).shape == (20, 30)
    # not written over the first
    assert np.asarray(Image.open(out / "cat-2_mask.png")).shape == (
        24,
        36,
    )
    assert "also named cat" in capsys.readouterr().out
    assert cli.main(args) == 0
    assert "NOTE: replacing" in capsys.readouterr().out


@pytest.mark.slow
def test_predict_decodes_one_image_at_a_time(trained, tmp_path, monkeypatch):
    from PIL import Image

    from unet_tutorial import evaluation

    paths = []
    for k in range(3):
        paths.append(tmp_path / f"p{k}.png")
        Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(paths[-1])
    calls = []
    load, predict = evaluation.load_image, evaluation.predict_mask
    monkeypatch.setattr(
        evaluation, "load_image", lambda p: calls.append("load") or load(p)
    )
    monkeypatch.setattr(
        evaluation,
        "predict_mask",
        lambda m, i: calls.append("predict") or predict(m, i),
    )
    out = tmp_path / "pred"
    assert (
        cli.main(
            [
                "predict",
                str(trained / "best.keras"),
                *map(str, paths),
                "--output",
                str(out),
            ]
        )
        == 0
    )
    assert calls == ["load", "predict"] * 3  # never all images in memory at once


@pytest.mark.slow
def test_predict_and_evaluate_explain_folders_and_unusable_models(
    trained, tmp_path, capsys
):
    assert cli.main(["predict", str(trained / "best.keras"), str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err
    assert cli.main(["evaluate", str(trained), "--source", "synthetic"]) == 2
    assert "is a directory" in capsys.readouterr().err
    paper = ut.build_unet(
        (188, 188, 3),
        num_classes=3,
        base_filters=2,
        depth=2,
        padding="valid",
        batch_norm=False,
    )
    # an unpadded model is scored on whole images by overlap-tile
    scored = ut.evaluate(paper, ut.load_synthetic_pets("test", 188, 2, num_examples=2))
    assert scored.num_images == 2
    grey = ut.build_unet((32, 32, 1), num_classes=3, base_filters=4, depth=2)
    with pytest.raises(ValueError, match="1-channel images"):
        ut.predict_mask(grey, np.zeros((40, 40, 3), np.uint8))


@pytest.mark.slow
def test_evaluate_and_predict_read_a_model_trained_with_ce_dice_elsewhere(
    ce_dice_model, tmp_path, capsys
):
    """A ``.keras`` file compiled with ``CEDiceLoss`` by another program, not by ``train``."""
    from PIL import Image

    assert cli.main(["evaluate", str(ce_dice_model), "--source", "synthetic",
                     "--synthetic-examples", "4", "--batch-size", "2"]) == 0  # fmt: skip
    assert "| mean IoU |" in capsys.readouterr().out
    photo = tmp_path / "dog.png"
    Image.fromarray(np.full((40, 50, 3), 128, np.uint8)).save(photo)
    out = tmp_path / "pred"
    assert (
        cli.main(["predict", str(ce_dice_model), str(photo), "--output", str(out)]) == 0
    )
    mask = np.asarray(Image.open(out / "dog_mask.png"))
    assert mask.shape == (40, 50) and set(np.unique(mask)) <= {0, 1, 2}


def test_evaluate_names_a_missing_model(tmp_path, capsys):
    assert (
        cli.main(["evaluate", str(tmp_path / "none.keras"), "--source", "synthetic"])
        == 1
    )
    assert "none.keras does not exist" in capsys.readouterr().err


def test_info_command(capsys):
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert "tensorflow" in out and "Oxford-IIIT Pet 4.x prepared offline" in out


def test_console_script_is_installed():
    import shutil
    import subprocess
    import sys

    # beside this Python (a virtualenv used without activating it), else on PATH
    beside = Path(sys.executable).parent / "unet-tutorial"
    exe = str(beside) if beside.exists() else shutil.which("unet-tutorial")
    assert exe, "pip install the package to get the unet-tutorial console script"
    assert "unet_tutorial.engine.cli import main" in Path(exe).read_text()
    proc = subprocess.run(
        [exe, "--version"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0 and "unet-tutorial" in proc.stdout


@pytest.mark.slow
def test_animate_command_writes_the_gifs(tmp_path, capsys):
    out = tmp_path / "anim"
    args = [
        "animate",
        "--size",
        "64",
        "--base-filters",
        "4",
        "--depth",
        "2",
        "--output",
        str(out),
        "--image",
        "cat",
    ]
    assert cli.main(args) == 0
    assert {p.name for p in out.glob("*.gif")} == {
        "encoder.gif",
        "decoder.gif",
        "features.gif",
    }
    assert "[3/3] writing" in capsys.readouterr().out


def test_animate_command_names_a_bad_image(tmp_path, capsys):
    assert (
        cli.main(
            [
                "animate",
                "--image",
                str(tmp_path / "none.png"),
                "--output",
                str(tmp_path),
            ]
        )
        == 1
    )
    assert "none.png does not exist" in capsys.readouterr().err


@pytest.mark.slow
def test_train_on_a_real_folder_validates_on_the_hold_out_and_scores_test_once(
    tmp_path, capsys, offline
):
    mini = Path(__file__).parent / "fixtures" / "oxford-pets-mini"
    out = tmp_path / "run"
    code = cli.main(
        [
            "train",
            "--source",
            str(mini),
            "--size",
            "32",
            "--base-filters",
            "4",
            "--depth",
            "2",
            "--epochs",
            "1",
            "--batch-size",
            "4",
            "--on-corrupt",
            "skip",
            "--output",
            str(out),
            "--verbose",
            "0",
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert (
        "8 train / 1 validation / 3 test images of 3 breeds" in text
        and "test split (scored once" in text
    )
    stored = json.loads((out / "config.json").read_text())
    assert (
        stored["validation"]["split"] == "validation"
        and stored["validation"]["num_examples"] == 1
    )
    assert stored["on_corrupt"] == "skip"
    test = json.loads((out / "test.json").read_text())
    assert test["data"]["split"] == "test" and test["num_images"] == 3


def test_explicit_oxford_offline_fails_fast_with_the_way_to_get_it(
    tmp_path, capsys, offline
):
    code = cli.main(
        [
            "train",
            "--source",
            "oxford",
            "--output",
            str(tmp_path / "run"),
            "--epochs",
            "1",
        ]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert (
        "Oxford-IIIT Pet is not available" in err and "UNET_TUTORIAL_OXFORD_DIR" in err
    )
    assert "Traceback" not in err and not (tmp_path / "run").exists()


def test_help_needs_no_tensorflow():
    import subprocess
    import sys

    probe = "import sys; from unet_tutorial.engine import cli; cli.build_parser(); print('tensorflow' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    # --help and the defaults come from TensorFlow-free modules
    assert out.strip() == "False"


@pytest.mark.slow
def test_commands_start_quietly(tmp_path):
    import subprocess
    import sys

    exe = Path(sys.executable).parent / "unet-tutorial"
    if not exe.exists():
        pytest.skip("the console script is not installed in this environment")
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    proc = subprocess.run(
        [str(exe), "info"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert proc.returncode == 0 and "unet-tutorial" in proc.stdout
    for noise in ("oneDNN", "cuInit", "absl::InitializeLog", "cpu_feature_guard"):
        assert noise not in proc.stderr, proc.stderr[-2000:]


# ------------------------------------------- clear messages (issue 24, round 2)


@pytest.mark.parametrize("seed", ["-5", str(2**32)])
def test_the_seed_range_message_names_seed_and_leaves_no_folder(seed, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", "--source", "synthetic", "--seed", seed, "--output", str(out)]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "(--seed) must be an integer from 0 to" in err
    assert not out.exists()


def test_a_latin1_list_file_is_named_and_a_bom_is_stripped(pets_dir):
    from unet_tutorial.engine.folders import read_split_file

    test_list = pets_dir / "annotations" / "test.txt"
    text = test_list.read_text()
    test_list.write_bytes(b"\xef\xbb\xbf" + text.encode())  # a UTF-8 BOM
    assert [r.name for r in read_split_file(pets_dir, "test")] == [
        "Bengal_4",
        "boxer_5",
    ]
    test_list.write_bytes(text.encode() + "# café\n".encode("latin-1"))
    with pytest.raises(
        ValueError, match=r"test.txt is not UTF-8 \(line 4 has the byte"
    ):
        read_split_file(pets_dir, "test")


def test_an_image_in_both_test_and_trainval_gives_a_warning(pets_dir):
    from unet_tutorial.engine.folders import read_split_file

    trainval = pets_dir / "annotations" / "trainval.txt"
    trainval.write_text(trainval.read_text() + "boxer_5 1 1 1\n")
    with pytest.warns(UserWarning, match=r"1 image\(s\) .* both test.txt and trainval"):
        read_split_file(pets_dir, "test")


def test_a_refusal_inside_train_leaves_no_empty_folder(pets_dir, tmp_path, capsys):
    (pets_dir / "images" / "pug_3.jpg").write_bytes(b"not a jpeg")  # corrupt
    out = tmp_path / "run"
    args = ["train", "--source", str(pets_dir), "--size", "32", "--depth", "2"]
    assert cli.main([*args, "--output", str(out)]) == 2
    assert "images/pug_3.jpg: cannot be read" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("command", ["train", "predict", "animate"])
def test_an_empty_output_is_refused(command, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    given = {"train": [], "predict": ["m.keras", "a.png"], "animate": []}[command]
    # and a bad value after it, so that an --output "" let through fails at once
    bad = {"train": ["--epochs", "0"], "predict": [], "animate": ["--frame-ms", "0"]}
    with pytest.raises(SystemExit) as exc:
        cli.main([command, *given, "--output", "", *bad[command]])
    assert exc.value.code == 2
    assert "--output: is empty; name a folder" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match=r"output_dir \(--output\) is empty"):
        ut.TrainConfig(output_dir=" ").validate()


@pytest.mark.parametrize("command", ["predict", "animate"])
def test_an_output_that_is_a_file_is_named(command, tmp_path, capsys):
    from PIL import Image

    photo = tmp_path / "a.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(photo)
    taken = tmp_path / "taken"
    taken.write_text("mine")
    given = {"predict": ["m.keras", str(photo)], "animate": []}[command]
    assert cli.main([command, *given, "--output", str(taken)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"--output {taken} is a file, not a folder; name a folder" in err
    assert taken.read_text() == "mine"


def test_evaluate_asks_for_a_size_never_image_size_none(tmp_path, capsys):
    model = ut.build_unet((None, None, 3), 3, base_filters=4, depth=2)
    path = tmp_path / "any.keras"
    model.save(path)
    args = ["evaluate", str(path), "--source", "synthetic", "--synthetic-examples", "4"]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert "image_size=None" not in err
    assert "takes images of any size; give the size to score at with --size" in err
    assert cli.main([*args, "--size", "32"]) == 0
    assert "mean IoU" in capsys.readouterr().out


def test_a_grey_model_is_never_told_to_convert_to_rgb(tmp_path):
    from unet_tutorial.pictures import animation

    model = ut.build_unet((32, 32, 1), 3, base_filters=4, depth=2)
    with pytest.raises(ValueError, match=r"grey; convert it first.*'L'") as err:
        animation.animate_feature_maps(model, np.zeros((8, 8, 3)), tmp_path / "f.gif")
    assert "RGB" not in str(err.value)


def test_animate_leaves_no_part_file_after_a_full_disk(tmp_path, monkeypatch):
    import errno

    from unet_tutorial.pictures import animation

    def half_then_full(self, data):
        with open(self, "wb") as f:
            f.write(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", half_then_full)
    frames = [np.zeros((8, 8, 3), np.uint8)] * 2
    with pytest.raises(OSError, match="cannot write .*encoder.gif: No space left"):
        animation.write_gif(tmp_path / "encoder.gif", frames)
    assert list(tmp_path.iterdir()) == []


def test_info_reports_a_bad_oxford_dir_and_goes_on(tmp_path, capsys, monkeypatch):
    from unet_tutorial.engine.sources import OXFORD_DIR_ENV

    monkeypatch.setenv(OXFORD_DIR_ENV, str(tmp_path))
    assert cli.main(["info"]) == 1
    captured = capsys.readouterr()
    assert captured.err == ""
    assert "tensorflow" in captured.out  # the report, whole
    assert f"--source auto would fail: {OXFORD_DIR_ENV}=" in captured.out


@pytest.mark.slow
def test_train_and_evaluate_an_unpadded_model_on_an_em_folder(tmp_path, capsys):
    em = Path(__file__).parent / "fixtures" / "isbi2012-em-mini"
    out = tmp_path / "em"
    args = [
        "train",
        "--source",
        str(em),
        "--crop-size",
        "92",
        "--padding",
        "valid",
        "--depth",
        "2",
        "--base-filters",
        "4",
        "--batch-size",
        "2",
        "--epochs",
        "1",
        "--steps-per-epoch",
        "2",
        "--weight-map",
        "--rotate90",
        "--elastic-px",
        "10",
        "--loss",
        "ce",
        "--output",
        str(out),
        "--verbose",
        "0",
    ]
    assert cli.main(args) == 0
    printed = " ".join(capsys.readouterr().out.split())  # lines joined
    assert "test split" in printed and "random 92x92 crops" in printed
    stored = json.loads((out / "config.json").read_text())
    assert stored["image_size"] is None and stored["padding"] == "valid"
    assert (
        cli.main(["evaluate", str(out / "final.keras"), "--source", str(em), "--em"])
        == 0
    )
    printed = capsys.readouterr().out
    assert "IoU membrane" in printed and "adapted Rand error" in printed
    # predict --source: the images of one split of the folder, whole, by overlap-tile
    preds = tmp_path / "preds"
    args = ["predict", str(out / "final.keras"), "--source", str(em), "--output"]
    assert cli.main([*args, str(preds), "--split", "validation"]) == 0
    assert sorted(p.name for p in preds.glob("*_mask.png")) == ["slice_04_mask.png"]
    mask = np.asarray(Image.open(preds / "slice_04_mask.png"))
    assert mask.shape == (128, 128) and set(np.unique(mask)) <= {0, 1}


def test_predict_needs_images_or_a_folder_and_names_a_wrong_folder(tmp_path, capsys):
    model = tmp_path / "m.keras"
    ut.build_unet((32, 32, 3), 3, base_filters=4, depth=2).save(model)
    assert cli.main(["predict", str(model)]) == 2
    assert "no images to predict" in capsys.readouterr().err
    assert cli.main(["predict", str(model), "--source", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "is not a folder of images and masks" in err and "check-data" in err
    bad = tmp_path / "bad"  # a folder of images and masks that does not load
    for folder in ("images", "masks"):
        (bad / folder).mkdir(parents=True)
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(bad / "images" / "a.png")
    Image.fromarray(np.full((8, 9), 255, np.uint8)).save(bad / "masks" / "a.png")
    assert cli.main(["predict", str(model), "--source", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "has problems that stop loading it" in err and "fix them first" in err


def test_evaluate_and_predict_a_folder_of_odd_sizes_with_a_model_of_any_size(
    tmp_path, capsys
):
    """A same-padding model trained at native size (input (None, None, C)) on
    whole images of 21x30 and 19x27 px: evaluate used to fail inside Keras, and
    predict resized every image to 128 px. Both now work at the images' own size.
    """
    from PIL import Image

    rng = np.random.default_rng(0)
    root = tmp_path / "odd"
    for part in ("images", "masks"):
        (root / part).mkdir(parents=True)
    sizes = {"a": (21, 30), "b": (19, 27), "c": (21, 30)}
    for stem, (h, w) in sizes.items():
        image = rng.integers(0, 256, (h, w), dtype=np.uint8)
        Image.fromarray(image).save(root / "images" / f"{stem}.png")
        Image.fromarray((image > 127).astype(np.uint8)).save(
            root / "masks" / f"{stem}.png"
        )
    for split, stem in (("train", "a"), ("validation", "b"), ("test", "c")):
        (root / f"{split}.txt").write_text(f"{stem}\n")
    model = ut.build_unet((None, None, 1), 2, base_filters=4, depth=3)
    model.save(tmp_path / "m.keras")
    assert cli.main(["evaluate", str(tmp_path / "m.keras"), "--source", str(root),
                     "--split", "validation"]) == 0  # fmt: skip
    assert "mean IoU" in capsys.readouterr().out
    out = tmp_path / "pred"
    assert cli.main(["predict", str(tmp_path / "m.keras"), "--source", str(root),
                     "--split", "validation", "--output", str(out)]) == 0  # fmt: skip
    mask = np.asarray(Image.open(out / "b_mask.png"))
    image = np.asarray(Image.open(root / "images" / "b.png"), np.float32) / 255
    logits = ut.whole_image_logits(model, image[None, ..., None])
    np.testing.assert_array_equal(mask, np.argmax(logits[0], axis=-1))


# ------------------------------------------- predict: one-class models, names, full disks


def _red_half_model(path: Path, outputs: int) -> Path:
    """A saved model that predicts its last class where the red channel is bright.
    One output (sigmoid): class 1 there, class 0 where it is dark (probabilities
    0.99995 and 0.00005). 21 outputs (softmax): class 20 there, class 9 elsewhere
    (both beyond the eight Okabe-Ito colours)."""
    import keras

    inp = keras.Input((32, 32, 3))
    conv = keras.layers.Conv2D(outputs, 1)
    head = keras.layers.Softmax() if outputs > 1 else keras.layers.Activation("sigmoid")
    out = head(conv(inp))  # builds conv, so that it takes weights
    weights = np.zeros((1, 1, 3, outputs), np.float32)
    weights[0, 0, 0, -1] = 20.0
    bias = np.zeros(outputs, np.float32)
    if outputs == 1:
        bias[0] = -10.0  # sigmoid(20 - 10) where red is bright, sigmoid(-10) where dark
    else:
        bias[9] = 10.0  # class 9 wins where red is dark
    conv.set_weights([weights, bias])
    keras.Model(inp, out).save(path)
    return path


def test_predict_with_a_one_class_model_writes_both_classes(tmp_path, capsys):
    model = _red_half_model(tmp_path / "binary.keras", 1)
    image = np.zeros((40, 48, 3), np.uint8)
    image[:, :24, 0] = 255  # the left half red: class 1
    Image.fromarray(image).save(tmp_path / "half.png")
    out = tmp_path / "pred"
    args = ["predict", str(model), str(tmp_path / "half.png"), "--output", str(out)]
    assert cli.main(args) == 0
    assert "class indices 0 to 1" in capsys.readouterr().out
    mask = np.asarray(Image.open(out / "half_mask.png"))
    assert (mask[:, :20] == 1).all() and (mask[:, 28:] == 0).all()


def _small_model(tmp_path: Path) -> Path:
    path = tmp_path / "m.keras"
    ut.build_unet((32, 32, 3), 3, base_filters=2, depth=1).save(path)
    return path


def test_predict_never_gives_an_input_the_output_name_of_another(tmp_path, capsys):
    """``cat.jpg cat-2.png cat.png``: the second cat was written as cat-2, over
    the outputs of the real cat-2.png, with a NOTE blaming an earlier run."""
    sizes = {"cat.jpg": (20, 30), "cat-2.png": (24, 36), "cat.png": (28, 40)}
    for name, size in sizes.items():
        Image.fromarray(np.zeros((*size, 3), np.uint8)).save(tmp_path / name)
    out = tmp_path / "pred"
    args = ["predict", str(_small_model(tmp_path)),
            *(str(tmp_path / n) for n in sizes), "--output", str(out)]  # fmt: skip
    assert cli.main(args) == 0
    printed = capsys.readouterr().out
    assert "earlier run" not in printed
    assert f"{tmp_path / 'cat.png'} is written as cat-3_*.png" in printed
    for stem, size in (("cat", (20, 30)), ("cat-2", (24, 36)), ("cat-3", (28, 40))):
        assert np.asarray(Image.open(out / f"{stem}_mask.png")).shape == size


def test_predict_refuses_to_write_over_one_of_its_inputs(tmp_path, capsys):
    folder = tmp_path / "dir"
    folder.mkdir()
    Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(folder / "a.jpg")
    drawn = np.full((20, 30), 7, np.uint8)
    Image.fromarray(drawn).save(folder / "a_mask.png")
    args = ["predict", str(_small_model(tmp_path)), str(folder / "a.jpg"),
            str(folder / "a_mask.png"), "--output", str(folder)]  # fmt: skip
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"over the input {folder / 'a_mask.png'}" in err
    np.testing.assert_array_equal(np.asarray(Image.open(folder / "a_mask.png")), drawn)
    assert sorted(p.name for p in folder.iterdir()) == ["a.jpg", "a_mask.png"]


def test_predict_on_a_full_disk_names_the_file_and_leaves_no_half_png(
    tmp_path, capsys, monkeypatch
):
    import errno

    Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(tmp_path / "cat.png")
    model = _small_model(tmp_path)
    save = Image.Image.save
    written = []

    def full_at_the_overlay(self, fp, *args, **kwargs):
        if "overlay" not in str(fp):
            written.append(fp)
            return save(self, fp, *args, **kwargs)
        Path(fp).write_bytes(b"\x89PNG half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", full_at_the_overlay)
    out = tmp_path / "pred"
    assert cli.main(["predict", str(model), str(tmp_path / "cat.png"),
                     "--output", str(out)]) == 1  # fmt: skip
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"no space left on the device while writing {out / 'cat_overlay.png'}" in err
    assert "free some space and run the same command again" in err
    assert len(written) == 2  # the mask and its colours, whole; no overlay at all
    assert sorted(p.name for p in out.iterdir()) == [
        "cat_mask.png",
        "cat_mask_color.png",
    ]


@pytest.mark.slow
def test_predict_stopped_by_sigterm_leaves_only_whole_pngs(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    rng = np.random.default_rng(0)
    images = []
    for k in range(40):
        images.append(tmp_path / f"p{k:02d}.png")
        Image.fromarray(rng.integers(0, 256, (600, 800, 3), np.uint8)).save(images[-1])
    out = tmp_path / "pred"
    cmd = [sys.executable, "-m", "unet_tutorial.engine.cli", "predict",
           str(_small_model(tmp_path)), *map(str, images), "--output", str(out)]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while not list(out.glob("*_overlay.png")) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # in the middle of the next images
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err.decode()[-2000:]
    assert b"terminated (SIGTERM)" in err
    left = sorted(out.iterdir())
    assert 3 <= len(left) < 3 * len(images)
    assert not [p for p in left if p.name.startswith(".")]  # no temporary file left
    for path in left:
        with Image.open(path) as im:
            im.load()  # whole, not cut short


def test_evaluate_on_a_folder_resizes_to_a_fixed_size_model(tmp_path, capsys):
    """A same-padding model of one input size saw each whole 128 px slice as it
    was and failed inside Keras ("expected shape=(None, 32, 32, 1)")."""
    em = Path(__file__).parent / "fixtures" / "isbi2012-em-mini"
    ut.build_unet((32, 32, 1), 2, base_filters=2, depth=1).save(tmp_path / "m.keras")
    args = ["evaluate", str(tmp_path / "m.keras"), "--source", str(em)]
    assert cli.main(args) == 0
    assert "IoU membrane" in capsys.readouterr().out
    assert cli.main([*args, "--size", "64"]) == 2
    assert "takes 32 x 32 images; leave out --size" in capsys.readouterr().err


def test_evaluate_names_the_data_classes_a_model_does_not_predict(tmp_path, capsys):
    em = Path(__file__).parent / "fixtures" / "isbi2012-em-mini"
    ut.build_unet((None, None, 1), 3, base_filters=2, depth=1).save(
        tmp_path / "m.keras"
    )
    assert cli.main(["evaluate", str(tmp_path / "m.keras"), "--source", str(em)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "predicts 3 classes but the data has 2 (membrane, cell)" in err


# ------------------------------------------- train's options come from TrainConfig


def _train_actions() -> dict:
    """``train``'s argparse actions by destination."""
    import argparse

    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {a.dest: a for a in sub.choices["train"]._actions}


def test_every_train_config_field_is_a_train_option_with_help():
    from dataclasses import fields

    actions = _train_actions()
    for field in fields(ut.TrainConfig):
        action = actions[field.name]
        assert "--" + field.name.replace("_", "-") in action.option_strings
        # the help is the field's Attributes line, never empty
        assert action.help and not action.help.startswith(" ("), field.name


def test_a_field_added_with_its_attributes_line_becomes_an_option():
    from dataclasses import dataclass, field

    @dataclass
    class Later(ut.TrainConfig):
        """Settings.

        Attributes:
            tile_overlap: pixels that two tiles share. The rest is
                detail.
            class_weights: one weight per class.
            stems: the images to use.
        """

        tile_overlap: int | None = None
        class_weights: tuple[float, float] = (1.0, 2.0)
        stems: list[str] = field(default_factory=list)

    options = {names[0]: kw for names, kw in cli.train_options(Later)}
    assert options["--tile-overlap"]["help"] == "pixels that two tiles share"
    assert options["--tile-overlap"]["type"]("none") is None
    assert options["--tile-overlap"]["type"]("12") == 12
    assert options["--class-weights"]["nargs"] == 2
    assert options["--class-weights"]["help"].endswith("(default: (1.0, 2.0))")
    assert options["--stems"]["nargs"] == "+" and options["--stems"]["help"] == (
        "the images to use"
    )
    # the base classes' Attributes lines too (FitConfig's)
    assert options["--epochs"]["help"].startswith("passes over the training split")


def test_train_help_lists_the_folder_options(capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    out = capsys.readouterr().out
    for option in ("--channels", "--ignore-value", "--on-corrupt", "--crop-size"):
        assert option in out, option


def test_the_old_option_names_still_reach_their_fields():
    args = ["train", "--size", "64", "--output", "runs/x", "--xla", "--no-test",
            "--synthetic-examples", "4", "2", "2", "--no-augment"]  # fmt: skip
    config = cli._train_config(cli.build_parser().parse_args(args))
    assert (config.image_size, config.output_dir) == (64, "runs/x")
    assert config.jit_compile and not config.deterministic
    assert not config.evaluate_test and not config.augment
    assert config.num_examples == (4, 2, 2)


def test_none_resets_a_field_of_a_preset_and_channels_reach_the_config():
    args = ["train", "--preset", "cpu-synthetic", "--steps-per-epoch", "none"]
    config = cli._train_config(cli.build_parser().parse_args(args))
    assert config.steps_per_epoch is None and config.epochs == 8
    args = ["train", "--channels", "1", "--ignore-value", "255"]
    config = cli._train_config(cli.build_parser().parse_args(args))
    assert (config.channels, config.ignore_value) == (1, 255)


def test_a_bad_train_setting_is_one_line_from_train_config(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(["train", "--epochs", "0", "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "epochs=0" in err and "Traceback" not in err
    assert not out.exists()


def test_the_options_that_data_advice_names_exist_on_train():
    """Every option that a message of the folder reader or of the loaders names
    (``--channels``, ``--on-corrupt skip``) is one that ``train`` has."""
    import re

    from unet_tutorial.engine import folders, loading

    options = {s for a in _train_actions().values() for s in a.option_strings}
    named = set()
    for module in (folders, loading):
        named |= set(
            re.findall(r"--[a-z][a-z0-9-]*", Path(module.__file__).read_text())
        )
    assert {"--channels", "--on-corrupt"} <= named
    assert named <= options, sorted(named - options)


def test_check_data_help_lists_what_it_reads(capsys):
    with pytest.raises(SystemExit):
        cli.main(["check-data", "--help"])
    out = capsys.readouterr().out
    assert "what it reads" in out and "SegmentationClass/" in out and "GIF" in out


def test_predict_writes_index_and_colour_masks_for_a_21_class_model(tmp_path, capsys):
    model = _red_half_model(tmp_path / "voc.keras", 21)
    image = np.zeros((40, 48, 3), np.uint8)
    image[:, :24, 0] = 255  # the left half red: class 20
    Image.fromarray(image).save(tmp_path / "half.png")
    out = tmp_path / "pred"
    args = ["predict", str(model), str(tmp_path / "half.png"), "--output", str(out)]
    assert cli.main(args) == 0
    assert "class indices 0 to 20" in capsys.readouterr().out
    with Image.open(out / "half_mask.png") as im:
        assert im.mode == "L"  # the class indices themselves
        mask = np.asarray(im)
    assert (mask[:, :20] == 20).all() and (mask[:, 28:] == 9).all()
    colours = np.asarray(Image.open(out / "half_mask_color.png"))
    np.testing.assert_array_equal(colours, ut.mask_to_rgb(mask))
    assert len({tuple(c) for c in colours[:, [0, -1]].reshape(-1, 3)}) == 2


def test_check_data_reads_a_folder_without_tensorflow():
    import subprocess
    import sys

    for name in ("isbi2012-em-mini", "oxford-pets-mini"):  # two layouts
        folder = Path(__file__).parent / "fixtures" / name
        probe = (
            "import sys; from unet_tutorial.engine import cli; "
            f"code = cli.main(['check-data', {str(folder)!r}]); "
            "print(code, 'tensorflow' in sys.modules)"
        )
        out = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, check=True
        ).stdout
        assert out.strip().splitlines()[-1] == "0 False", name
