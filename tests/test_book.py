"""The page helpers (unet_tutorial.engine.book): profiles, shared runs, show_source and say."""

import pytest

import unet_tutorial as ut
from unet_tutorial.engine import book, sources, training


def test_book_profile_choices(offline):
    p = ut.book_profile("cpu-synthetic")
    assert p.is_stand_in and "SYNTHETIC STAND-IN, not Oxford-IIIT Pet" in p.banner()
    assert (
        p.train_config(epochs=2).epochs == 2 and p.train_config().source == "synthetic"
    )
    # the profile wraps the preset, no copy
    assert p.config == ut.TrainConfig.preset("cpu-synthetic")
    offline.setattr(sources, "oxford_pets_prepared", lambda data_dir=None: True)
    full = ut.book_profile("full")
    assert not full.is_stand_in and full.train_config().base_filters == 64
    assert full.config == ut.TrainConfig.preset("full", source="tfds")
    assert "Oxford-IIIT Pet 4.x" in full.banner() and "37 breeds" in full.banner()
    offline.setattr(book, "_has_gpu", lambda: False)
    # full Oxford, no GPU: the CPU recipe's budget, not an hour of training
    cpu = ut.book_profile()
    assert cpu.name == "cpu" and cpu.config.steps_per_epoch == book.CPU_STEPS_PER_EPOCH
    assert f"{book.CPU_STEPS_PER_EPOCH} steps per epoch" in cpu.banner()
    # the pages train fewer epochs than the recipe, and say so
    recipe = ut.PRESETS["cpu"]["epochs"]
    assert cpu.config.epochs == book.BOOK_CPU_EPOCHS < recipe
    assert f"{book.BOOK_CPU_EPOCHS} of the recipe's {recipe} epochs" in cpu.banner()
    offline.setenv("UNET_TUTORIAL_PROFILE", "cpu")
    assert ut.book_profile().config.base_filters == ut.PRESETS["cpu"]["base_filters"]
    with pytest.raises(ValueError, match="profile 'huge'"):
        ut.book_profile("huge")


def test_shared_runs_live_outside_the_page_and_are_named_by_their_settings(
    offline, tmp_path
):
    offline.setenv(ut.RUNS_ENV, str(tmp_path / "runs"))
    p = ut.book_profile("cpu-synthetic")
    a, b = p.shared_run("book"), p.shared_run("book")
    assert a == b and a.output_dir.startswith(str(tmp_path / "runs" / "book-"))
    # other settings, other folder
    assert p.shared_run("book", epochs=a.epochs + 1).output_dir != a.output_dir
    assert p.shared_run("other").output_dir != a.output_dir
    offline.setattr(ut, "__version__", "99.0.0")
    # another package version never reuses a run
    assert p.shared_run("book").output_dir != a.output_dir
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


def test_the_profile_names_its_data_for_captions_as_what_it_is(offline):
    from pathlib import Path

    assert "synthetic stand-in" in ut.book_profile("cpu-synthetic").data_label
    mini = Path(__file__).parent / "fixtures" / "oxford-pets-mini"
    offline.setenv(sources.OXFORD_DIR_ENV, str(mini))
    subset = ut.book_profile("cpu")
    breeds = len(
        {
            line.split()[0].rsplit("_", 1)[0]
            for line in open(mini / "annotations" / "trainval.txt")
            if line.strip()
        }
        | {
            line.split()[0].rsplit("_", 1)[0]
            for line in open(mini / "annotations" / "test.txt")
            if line.strip()
        }
    )
    assert subset.data_label == (
        f"the Oxford-IIIT Pet subset ({breeds} of the 37 breeds)"
    )
    offline.delenv(sources.OXFORD_DIR_ENV)
    offline.setattr(sources, "oxford_pets_prepared", lambda data_dir=None: True)
    assert ut.book_profile("full").data_label == (
        "Oxford-IIIT Pet (the full official splits)"
    )


def test_em_data_names_the_slices_and_what_a_page_trains(monkeypatch, tmp_path):
    import shutil
    from pathlib import Path

    mini = Path(__file__).parent / "fixtures" / "isbi2012-em-mini"
    monkeypatch.setattr(book, "_has_gpu", lambda: False)
    monkeypatch.setenv(ut.ISBI_DIR_ENV, str(mini))
    em = ut.em_data()
    assert em.source == ut.ISBI_DIR_SOURCE and not em.is_stand_in
    assert "6 slices of the ISBI 2012 EM training stack" in em.box
    assert "Cardona" in em.credit and str(mini) not in em.box  # no machine path
    assert em.epochs == book.BOOK_ISBI_EPOCHS < ut.PRESETS["isbi"]["epochs"]
    monkeypatch.setattr(book, "_has_gpu", lambda: True)
    assert ut.em_data().epochs == ut.PRESETS["isbi"]["epochs"]  # a GPU: all of them
    # the stand-in, by the folder name isbi_source gives it: announced as such
    stand_in = tmp_path / sources.EM_STAND_IN_FOLDER
    shutil.copytree(mini, stand_in)
    em = ut.em_data(str(stand_in))
    assert em.is_stand_in and "synthetic stand-in" in em.box
    assert "not ISBI 2012" in em.credit
