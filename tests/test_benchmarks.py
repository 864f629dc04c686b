"""The benchmark scripts' logic (never their timings): FLOP bookkeeping, tables and the race verdict."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import peers  # noqa: E402
import train_step  # noqa: E402

import unet_tutorial as ut  # noqa: E402


def test_race_verdict_covers_every_outcome():
    assert "undecided" in peers.race_verdict(None, [None, 50.0], 0.9, 600, 600)
    assert peers.race_verdict(100.0, [None, None], 0.9, 600, 200).startswith(
        "**Target met:**"
    )
    assert peers.race_verdict(100.0, [None, 250.0], 0.9, 600, 200).startswith(
        "**Target met:**"
    )
    slow = peers.race_verdict(100.0, [150.0, None], 0.9, 600, 200)
    assert slow.startswith("**Target not met:**") and "0.67x" in slow


def test_convs_alone_counts_every_convolution_by_level():
    model = ut.build_unet((32, 32, 3), 3, base_filters=4, depth=2)
    out = train_step.convs_alone(model, batch=2, jit=False)
    assert list(out["levels"]) == ["enc1", "enc2", "bottleneck", "dec2", "dec1", "head"]
    assert out["seconds_per_step"] == pytest.approx(
        sum(v["seconds"] for v in out["levels"].values())
    )
    assert out["images_per_s"] == pytest.approx(2 / out["seconds_per_step"])


def test_train_step_table_renders_from_results():
    row = {"base": 16, "xla": True, "mixed_precision": False, "images_per_s": 10.0, "forward_gflop_per_image": 1.5,
           "achieved_gflop_per_s": 45.0, "fraction_of_peak": 0.45, "convs_alone_fraction_of_peak": 0.4,
           "step_over_convs_alone": 1.12}  # fmt: skip
    results = {"peak_used": 100.0, "image_size": 128, "batch_size": 8, "steps": 6, "runs": [row],
               "convs_alone": {"base16_xla": {"levels": {"enc1": {"gflop_per_s": 18.0}}}}}  # fmt: skip
    table = train_step.render(results)
    assert "| 16 | on | off | 10.00 | 1.50 | 45.0 | 45% | 40% | 112% |" in table
    assert "| enc1 | 18% |" in table


def test_recipe_verdict_and_table():
    import recipe

    row = {"train_minutes": 5.9, "best_val_mean_iou": 0.7, "test_mean_iou": 0.69, "test_pixel_accuracy": 0.9,
           "test_per_class_iou": {"pet": 0.8, "background": 0.85, "border": 0.42}}  # fmt: skip
    assert recipe.verdict(row) == {
        "test_mean_iou": False,
        "test_pixel_accuracy": True,
        "train_minutes": True,
    }
    results = {"preset": "cpu", "data": "a folder", "config": {"epochs": 40, "output_dir": "x"}, "result": row,
               "machine": {"cpu": "c", "cores": 2, "date": "d"}}  # fmt: skip
    table = recipe.render(results)
    assert (
        "| test mean IoU (subset) | 0.690 | ≥ 0.7 | no |" in table
        and "output_dir" not in table
    )


def test_unseen_breed_folder_keeps_the_breed_out_of_training(tmp_path):
    import recipe

    mini = Path(__file__).parent / "fixtures" / "oxford-pets-mini"
    folder = recipe.unseen_breed_folder(str(mini), "Bengal", str(tmp_path))
    names = {s: [r.name for r in ut.read_split_file(folder, s)] for s in ut.SPLITS}
    assert names["test"] == ["Bengal_192"]
    assert not any(n.startswith("Bengal") for n in names["train"] + names["validation"])
    assert len(names["train"]) + len(names["validation"]) == 6
    with pytest.raises(SystemExit, match="no image"):
        recipe.unseen_breed_folder(str(mini), "pug", str(tmp_path / "again"))
