"""export_model: a LiteRT file that predicts what the Keras model predicts, its sidecar,
and the export command's refusals."""

import json
import warnings

import numpy as np
import pytest
import tensorflow as tf

import unet_tutorial as ut
from unet_tutorial.engine import cli

PROBABILITY_TOLERANCE = {False: 1e-4, True: 2e-2}
"""Largest allowed difference of a softmax probability: float32 weights give the
same arithmetic up to rounding; float16 weights round each weight to 11 bits."""


def litert_outputs(path, x: np.ndarray) -> np.ndarray:
    """The LiteRT file's output for the batch of one ``x``, by TensorFlow's interpreter."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its notice that ai_edge_litert replaces it
        interpreter = tf.lite.Interpreter(str(path))
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])


def model_for(padding: str, channels: int, classes: int):
    size = ut.nearest_valid_sizes(44, 2, padding)[-1]
    tf.keras.utils.set_random_seed(1)
    return ut.build_unet((size, size, channels), classes, 4, 2, padding=padding)


@pytest.mark.slow
@pytest.mark.parametrize(
    "padding, channels, classes, float16",
    [
        ("same", 3, 3, False),
        ("same", 1, 2, False),
        ("valid", 1, 2, False),
        ("valid", 3, 3, False),
        ("same", 3, 3, True),
        ("valid", 1, 2, True),
    ],
)
def test_litert_file_predicts_what_keras_predicts(
    tmp_path, padding, channels, classes, float16
):
    model = model_for(padding, channels, classes)
    path = ut.export_model(model, tmp_path / "m.tflite", float16=float16)
    x = np.random.default_rng(0).random((1, *model.input_shape[1:]), np.float32)
    want = np.asarray(model(x, training=False))
    got = litert_outputs(path, x)
    assert got.shape == want.shape
    assert np.mean(got.argmax(-1) == want.argmax(-1)) >= 0.995
    diff = np.abs(np.asarray(tf.nn.softmax(got)) - np.asarray(tf.nn.softmax(want)))
    assert diff.max() <= PROBABILITY_TOLERANCE[float16]


@pytest.mark.slow
def test_any_size_model_is_exported_at_the_size_given(tmp_path):
    model = ut.build_unet((None, None, 1), 2, 4, 2)
    path = ut.export_model(model, tmp_path / "em.tflite", input_size=32)
    x = np.random.default_rng(1).random((1, 32, 32, 1), np.float32)
    assert (
        np.mean(litert_outputs(path, x).argmax(-1) == model(x).numpy().argmax(-1))
        >= 0.995
    )
    assert json.loads(path.with_suffix(".json").read_text())["input_shape"] == [
        1,
        32,
        32,
        1,
    ]


def test_sidecar_says_what_a_page_needs():
    model = ut.build_unet((32, 32, 3), 3, 4, 2)
    side = ut.export_sidecar(model, 32, "pets.tflite", colors=[(1, 2, 3)] * 8)
    assert side["input_shape"] == [1, 32, 32, 3] and side["channels"] == 3
    assert side["class_names"] == list(ut.CLASS_NAMES)
    assert side["colors"] == [[1, 2, 3]] * 3  # one per class
    assert side["preprocessing"]["scale"] == pytest.approx(1 / 255)
    assert side["preprocessing"]["resize"].startswith("bilinear, antialiased")
    em = ut.export_sidecar(ut.build_unet((None, None, 1), 2, 4, 2), 512, "em.tflite")
    assert em["class_names"] == ["class 0", "class 1"] and em["colors"] is None
    assert em["preprocessing"]["resize"] == "none"
    assert em["preprocessing"]["multiple"] == 4  # depth 2: sides padded to 4 px
    assert side["output_shape"] == [1, 32, 32, 3] and em["output_shape"][1] == 512
    # an unpadded model predicts the centre: a page must know it is smaller
    valid = ut.build_unet((44, 44, 1), 2, 4, 2, padding="valid")
    small = ut.export_sidecar(valid, 44, "valid.tflite")["output_shape"]
    assert small == [
        1,
        ut.output_size(44, 2, "valid"),
        ut.output_size(44, 2, "valid"),
        2,
    ]


def test_export_refuses_bad_arguments_before_converting(tmp_path):
    model = ut.build_unet((32, 32, 3), 3, 4, 2)
    with pytest.raises(ValueError, match="unknown format 'onnx'"):
        ut.export_model(model, tmp_path / "m.tflite", format="onnx")
    with pytest.raises(ValueError, match="must end in .tflite"):
        ut.export_model(model, tmp_path / "m.keras")
    with pytest.raises(ValueError, match="leave out input_size"):
        ut.export_model(model, tmp_path / "m.tflite", input_size=64)
    with pytest.raises(ValueError, match="give input_size"):
        ut.export_model(ut.build_unet((None, None, 1), 2, 4, 2), tmp_path / "m.tflite")
    with pytest.raises(ValueError, match="class_names has 2"):
        ut.export_model(model, tmp_path / "m.tflite", class_names=["a", "b"])
    assert list(tmp_path.iterdir()) == []


def test_a_failed_conversion_is_one_line_and_leaves_no_file(tmp_path, monkeypatch):
    model = ut.build_unet((32, 32, 3), 3, 4, 2)
    target = tmp_path / "m.tflite"
    target.write_bytes(b"the previous export")

    def fail(*args, **kwargs):
        raise RuntimeError("op not supported\nlong converter log")

    monkeypatch.setattr(model, "export", fail)
    with pytest.raises(
        ValueError,
        match=r"cannot convert this model \(RuntimeError: op not supported\)\.$",
    ):
        ut.export_model(model, target)
    assert target.read_bytes() == b"the previous export"
    assert [p.name for p in tmp_path.iterdir()] == ["m.tflite"]  # no temporary left


def test_export_command_names_a_file_that_is_not_a_model(tmp_path, capsys):
    notes = tmp_path / "notes.keras"
    notes.write_text("not a model")
    assert cli.main(["export", str(notes), "--output", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "notes.keras is not a loadable .keras model" in err[0]
    assert cli.main(["export", str(tmp_path / "missing.keras")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "missing.keras does not exist" in err[0]


def test_export_command_refuses_an_unknown_format_and_an_unconvertible_shape(
    tmp_path, capsys
):
    ut.build_unet((32, 32, 3), 3, 4, 2).save(tmp_path / "m.keras")
    args = ["export", str(tmp_path / "m.keras"), "--output", str(tmp_path / "out")]
    assert cli.main([*args, "--format", "onnx"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown format 'onnx'; use one of ('litert',)" in err[0]
    ut.build_unet((32, 64, 3), 3, 4, 2).save(tmp_path / "wide.keras")
    assert (
        cli.main(
            ["export", str(tmp_path / "wide.keras"), "--output", str(tmp_path / "out")]
        )
        == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "takes 32x64 images; export takes squares" in err[0]


@pytest.mark.slow
def test_export_command_writes_a_run_folders_model_and_sidecar(tmp_path, capsys):
    run = tmp_path / "pets"
    run.mkdir()
    ut.build_unet((32, 32, 3), 3, 4, 2).save(run / "best.keras")
    assert cli.main(["export", str(run), "--output", str(tmp_path / "site")]) == 0
    side = json.loads((tmp_path / "site" / "pets.json").read_text())
    assert side["model"] == "pets.tflite" and side["colors"][0] == [230, 159, 0]
    assert (tmp_path / "site" / "pets.tflite").stat().st_size > 0
    # a run that scored its final checkpoint on test exports that one
    ut.build_unet((32, 32, 3), 2, 4, 2).save(run / "final.keras")
    test = {"model": "final", "data": {"class_names": ["membrane", "cell"]}}
    (run / "test.json").write_text(json.dumps(test))
    assert cli.main(["export", str(run), "--output", str(tmp_path / "site")]) == 0
    side = json.loads((tmp_path / "site" / "pets.json").read_text())
    assert side["class_names"] == ["membrane", "cell"]


def test_export_command_has_help(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["export", "--help"])
    assert exc.value.code == 0
    assert "usage: unet-tutorial export" in capsys.readouterr().out
