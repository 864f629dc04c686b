"""The page helpers (unet_tutorial.engine.book): profiles, shared runs, show_source and say."""

import pytest

import unet_tutorial as ut
from unet_tutorial.engine import book, sources, training


def test_recipe_for_picks_the_preset_for_the_data_and_the_machine(offline, tmp_path):
    from pathlib import Path

    from unet_tutorial.engine import config

    stand_in = ut.resolve_source("auto")
    assert stand_in.is_stand_in
    assert ut.recipe_for(stand_in) == ut.TrainConfig.preset("cpu-synthetic")
    offline.setattr(sources, "oxford_pets_prepared", lambda data_dir=None: True)
    full = ut.resolve_source("auto")
    assert ut.recipe_for(full, gpu=True) == ut.TrainConfig.preset("full", source="tfds")
    # the full dataset without a GPU: the CPU recipe's steps per epoch, not an hour
    cpu = ut.recipe_for(full, gpu=False)
    assert cpu.base_filters == ut.PRESETS["cpu"]["base_filters"]
    assert cpu.steps_per_epoch == config.CPU_STEPS_PER_EPOCH
    assert cpu.epochs == ut.PRESETS["cpu"]["epochs"]  # trained to its end
    # a subset: the recipe as it was measured, every image every epoch
    mini = Path(__file__).parent / "fixtures" / "oxford-pets-mini"
    subset = ut.recipe_for(ut.resolve_source(str(mini)), gpu=False)
    assert subset == ut.TrainConfig.preset("cpu", source=str(mini))


def test_the_run_cache_folder_is_named_by_settings_data_and_version(offline, tmp_path):
    offline.setenv(ut.RUNS_ENV, str(tmp_path / "runs"))
    config = ut.TrainConfig.preset("cpu-synthetic")
    a, b = ut.in_run_cache(config, "pets"), ut.in_run_cache(config, "pets")
    assert a == b and a.output_dir.startswith(str(tmp_path / "runs" / "pets-"))
    # other settings, other name: other folder
    other = ut.TrainConfig.preset("cpu-synthetic", epochs=config.epochs + 1)
    assert ut.in_run_cache(other, "pets").output_dir != a.output_dir
    assert ut.in_run_cache(config, "other").output_dir != a.output_dir
    # a patch release keeps the folder, another minor version does not
    offline.setattr(ut, "__version__", ut.__version__ + ".1")
    assert ut.in_run_cache(config, "pets").output_dir == a.output_dir
    offline.setattr(ut, "__version__", "99.0.0")
    assert ut.in_run_cache(config, "pets").output_dir != a.output_dir
    with pytest.raises(ValueError, match="plain name"):
        ut.in_run_cache(config, "../up")
    offline.delenv(ut.RUNS_ENV)
    offline.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert ut.runs_dir() == tmp_path / "cache" / "unet-tutorial" / "runs"


def test_show_source_is_the_installed_source_verbatim():
    from pathlib import Path

    shown = ut.source_of(ut.conv_block)
    file = Path(ut.__file__).parent / "model.py"
    lines = file.read_text().splitlines(keepends=True)
    n = shown.code.count("\n")
    assert shown.code == "".join(lines[shown.first_line - 1 : shown.first_line - 1 + n])
    assert (
        shown.code.startswith("def conv_block(")
        and shown.path == "unet_tutorial/model.py"
    )
    # the whole function: the next line of the file is not part of it (blank or a new definition)
    assert not lines[shown.first_line - 1 + n].startswith((" ", "\t"))
    md = shown._repr_markdown_()
    assert (
        "```python\n" + shown.code + "```" in md and f"lines {shown.first_line}" in md
    )


def test_source_of_shows_whole_objects_named_from_the_package_root():
    fn = training.train
    code = ut.source_of(fn)
    assert code.code.startswith("def train(") and code.first_line > 1
    assert code.path == "unet_tutorial/engine/training.py"
    assert ut.source_of(ut.draw_unet).path == "unet_tutorial/pictures/animation.py"
    assert ut.source_of(ut.build_unet).path == "unet_tutorial/model.py"
    # a listing is a whole object: no markers to cut a slice out of one
    with pytest.raises(TypeError):
        ut.source_of(fn, start_at="with strategy.scope():")
    with pytest.raises(ValueError, match="no Python source"):
        ut.source_of(3)


def test_show_source_and_say_print_outside_ipython(capsys):
    ut.show_source(ut.resize_mask)
    ut.say("**3** pets")
    out = capsys.readouterr().out
    assert out.startswith("def resize_mask(") and out.endswith("**3** pets\n")


def test_about_data_names_the_data_as_what_it_is(offline, tmp_path):
    import shutil
    from pathlib import Path

    stand_in = ut.about_data("synthetic")
    assert stand_in.is_stand_in and "synthetic stand-in" in stand_in.label
    assert "not Oxford-IIIT Pet" in stand_in.credit
    mini = Path(__file__).parent / "fixtures" / "oxford-pets-mini"
    offline.setenv(sources.OXFORD_DIR_ENV, str(mini))
    subset = ut.about_data(ut.resolve_source("auto"))
    breeds = len(
        {
            line.split()[0].rsplit("_", 1)[0]
            for name in ("trainval", "test")
            for line in open(mini / "annotations" / f"{name}.txt")
            if line.strip()
        }
    )
    assert subset.label == f"the Oxford-IIIT Pet subset ({breeds} of the 37 breeds)"
    line, details = subset.note.split("<details>")
    assert "not an Oxford-IIIT Pet result in the usual sense" in line
    assert len(line.strip().splitlines()) == 1  # one line, the rest folded
    assert str(mini) not in subset.note and "UNET_TUTORIAL" not in subset.note
    assert subset._repr_markdown_() == subset.note
    # the EM slices, named by what they are, and their stand-in
    em = Path(__file__).parent / "fixtures" / "isbi2012-em-mini"
    offline.setenv(ut.ISBI_DIR_ENV, str(em))
    slices = ut.about_data(ut.ISBI_DIR_SOURCE)
    assert "6 slices of the ISBI 2012 EM training stack" in slices.note
    assert "Cardona" in slices.credit and str(em) not in slices.note
    fake = tmp_path / sources.EM_STAND_IN_FOLDER
    shutil.copytree(em, fake)
    assert ut.about_data(str(fake)).is_stand_in
    assert "synthetic stand-in for the EM slices" in ut.about_data(str(fake)).note


def test_recorded_results_are_the_benchmarks_own_files():
    import json
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    for name in book.RECORDED:
        recorded = json.loads((root / "benchmarks" / "results" / f"{name}.json").read_text())
        assert ut.recorded_results(name) == recorded
    with pytest.raises(ValueError, match="no recorded results named"):
        ut.recorded_results("nothing")
