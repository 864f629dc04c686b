"""unet_tutorial: the companion package of the U-Net tutorial book.

Every chapter of the book imports this package (``import unet_tutorial as ut``)
and shows its source, so what you read is what runs. It has three wings:

* **The teaching core** (this folder), what the chapters show: the model
  (``build_unet`` and its blocks), sizes, the input pipeline and paired
  augmentation, losses and metrics, ``compile_and_fit``, evaluation and
  overlap-tile prediction. It never imports the other two wings.
* **The engine** (``unet_tutorial.engine``): settings and presets, where the
  data comes from, run folders that survive a kill, ``train``, distributed
  workers, the ``unet-tutorial`` command line and the book's helpers.
* **The pictures** (``unet_tutorial.pictures``): animations, figures and the
  frame stepper.

``ut.NAME`` reaches every name the chapters and the README use, whichever
wing defines it; the engine's other names are under ``ut.engine``.

The names load lazily (PEP 562): ``import unet_tutorial`` is instant and does
not import TensorFlow, so the console script answers ``--help`` at once. The
package's Keras classes (its losses and metrics) are registered as soon as
Keras is imported, so ``keras.saving.load_model`` reads a saved model in a
fresh process after a plain ``import unet_tutorial``.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

__version__ = "0.1.0"

_EXPORTS: dict[str, tuple[str, ...]] = {
    # ---------------------------------------------------------------- the teaching core
    "anatomy": (
        "decoder_steps",
        "encoder_steps",
        "feature_maps",
        "feature_model",
        "layer_level",
        "level_names",
        "parameters_by_level",
        "shape_label",
        "Step",
        "unet_depth",
    ),
    "augment": (
        "apply_geometry",
        "augment_pair",
        "augmentation_params",
        "elastic_field",
        "elastic_warp",
        "random_crop_pair",
        "random_quarter_turn",
        "random_view",
    ),
    "checks": ("SPLITS",),
    "reading": ("breed_of", "to_rgb8", "validation_holdout"),
    "data": (
        "add_sample_weights",
        "class_frequencies",
        "class_weights_from_frequencies",
        "finish_pipeline",
        "preprocess_pair",
        "resize_image",
        "resize_mask",
        "trimap_to_labels",
    ),
    "evaluation": (
        "at_threshold",
        "boundary_accuracy",
        "boundary_band",
        "check_image",
        "check_model_for_data",
        "choose_threshold",
        "constant_prediction_scores",
        "em_scores",
        "EMScores",
        "evaluate",
        "Evaluation",
        "flip_averaged_logits",
        "is_unpadded",
        "load_image",
        "majority_class",
        "membrane_probabilities",
        "outputs_probabilities",
        "per_image_mean_iou",
        "predict_dataset",
        "predict_mask",
        "predicted_classes",
        "symmetry_averaged_probabilities",
        "whole_image_logits",
    ),
    "export": ("export_model", "export_sidecar", "EXPORT_FORMATS"),
    "fit": (
        "compile_and_fit",
        "EpochLog",
        "learning_rate_schedule",
        "make_optimizer",
        "set_seed",
        "shard_by_data",
        "synchronize_batch_norm",
    ),
    "flops": (
        "conv2d_flops",
        "conv2d_transpose_flops",
        "flops_by_level",
        "layer_flops",
        "model_flops",
    ),
    "footprint": (
        "available_memory",
        "check_model_fits",
        "check_training_fits",
        "machine_memory",
        "unet_activations",
        "unet_parameters",
    ),
    "labels": ("CLASS_NAMES", "NUM_CLASSES", "TRIMAP_VALUES"),
    "losses": (
        "add_unet_weight_maps",
        "CEDiceLoss",
        "cross_entropy_loss",
        "DiceLoss",
        "get_loss",
        "two_nearest_distances",
        "unet_weight_map",
    ),
    "masks": ("binary_to_class_mask", "palette_to_class_mask", "rgb_to_class_mask"),
    "metrics": (
        "cell_instances",
        "class_iou",
        "MeanDice",
        "pixel_error",
        "rand_error",
        "segmentation_metrics",
    ),
    "model": (
        "build_unet",
        "center_crop_amounts",
        "check_unet_arguments",
        "conv_block",
        "decoder_block",
        "encoder_block",
    ),
    "pretrained": ("build_pretrained_unet", "IMAGENET_SIZES"),
    "receptive_field": ("central_square", "effective_receptive_field"),
    "settings": (
        "AugmentConfig",
        "FitConfig",
        "LOSSES",
        "LR_SCHEDULES",
        "OPTIMIZERS",
        "PAPER_ELASTIC",
        "PAPER_ELASTIC_PX",
    ),
    "shapes": (
        "check_input_size",
        "is_valid_input_size",
        "level_sizes",
        "nearest_valid_sizes",
        "output_size",
        "receptive_fields",
        "valid_input_sizes",
    ),
    "synthetic": ("make_synthetic_cells", "make_synthetic_pets", "make_trimap"),
    "tiling": ("mirror_pad", "predict_tiles", "Tile", "tile_layout"),
    "upsampling": ("overlap_counts", "resize_conv_counts", "transposed_conv2d"),
    # ------------------------------------------------------------------- the pictures
    "pictures.animation": (
        "animate_decoder",
        "animate_encoder",
        "animate_feature_maps",
        "animate_training",
        "decoder_figures",
        "draw_unet",
        "encoder_figures",
        "load_example_image",
        "write_gif",
    ),
    "pictures.figures": (
        "ATTRIBUTION",
        "CLASS_COLOR_NAMES",
        "CLASS_COLORS",
        "MASK_COLORS",
        "OKABE_ITO",
        "add_credit",
        "captioned",
        "class_legend",
        "data_credit",
        "DISPLAY_PX",
        "Drawing",
        "draw_overlap_tiles",
        "illegible_texts",
        "MIN_TEXT_PX",
        "mask_colors",
        "mask_to_rgb",
        "overlay_mask",
        "plot_learning_curves",
        "plot_receptive_fields",
        "plot_samples",
    ),
    "pictures.stepper": ("FrameStepper",),
    # ----------------------------- the engine names that the chapters and README use
    "engine.book": (
        "about_data",
        "AboutData",
        "recorded_results",
        "say",
        "show_source",
        "source_of",
        "SourceCode",
    ),
    "engine.config": ("PRESETS", "recipe_for", "TrainConfig"),
    "engine.loading": (
        "DataInfo",
        "describe_source",
        "load_dataset",
        "load_oxford_pets",
        "load_synthetic_pets",
        "OXFORD_LIST_SIZES",
    ),
    "engine.download": ("download_isbi2012", "download_oxford_pets"),
    "engine.folders": (
        "check_folder",
        "FolderReport",
        "load_mask_folder",
        "load_pets_directory",
        "read_split_file",
    ),
    "engine.runs": ("load_run_model", "read_history"),
    "engine.sources": (
        "DataSource",
        "DataUnavailableError",
        "isbi_source",
        "ISBI_DIR_ENV",
        "ISBI_DIR_SOURCE",
        "OXFORD_DIR_ENV",
        "OXFORD_DIR_SOURCE",
        "resolve_source",
        "RUNS_ENV",
        "runs_dir",
    ),
    "engine.training": (
        "in_run_cache",
        "read_test_scores",
        "train",
        "train_or_load",
        "TrainingDiverged",
        "TrainResult",
    ),
}
"""Module -> the public names it defines; ``ut.NAME`` imports the module on first use.
"""

_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = ["__version__", *sorted(_WHERE, key=str.lower)]

KERAS_OBJECT_MODULES = ("losses", "metrics")
"""The modules that define the Keras classes a saved model may name
(``CEDiceLoss``, ``DiceLoss``, ``MeanDice``), registered as ``unet_tutorial>NAME``.
"""


def load_model(path, **kwargs):
    """``keras.saving.load_model(path)`` with the package's Keras classes registered."""
    import keras

    _register_keras_objects()
    return keras.saving.load_model(path, **kwargs)


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
        globals()[name] = value  # later lookups skip this function
        return value
    try:  # a submodule or wing: ut.losses, ut.engine, ut.pictures, ...
        return importlib.import_module(f".{name}", __name__)
    except ModuleNotFoundError as err:
        if err.name != f"{__name__}.{name}":
            raise
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


# ---------------------------------------------- register the Keras classes with Keras


def _register_keras_objects() -> None:
    for module in KERAS_OBJECT_MODULES:  # importing them runs their registrations
        importlib.import_module(f".{module}", __name__)


class _RegisterAfterKeras(importlib.abc.MetaPathFinder):
    """Registers the package's Keras classes right after ``keras`` is first imported.

    Importing Keras here would import TensorFlow (seconds); waiting for the
    first use of ``ut.losses`` would leave ``keras.saving.load_model`` unable
    to find ``unet_tutorial>CEDiceLoss``. So this finder lets Python find and
    import Keras as usual, and then imports ``losses`` and ``metrics``.
    """

    def __init__(self):
        self.looking = False

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "keras" or self.looking:
            return None
        self.looking = True  # the real finders, not this one, find keras
        try:
            spec = importlib.util.find_spec("keras")
        finally:
            self.looking = False
        if spec is not None and spec.loader is not None:
            spec.loader = _ThenRegister(spec.loader)
        return spec


class _ThenRegister(importlib.abc.Loader):
    """Keras' own loader, followed by ``_register_keras_objects``."""

    def __init__(self, loader):
        self.loader = loader

    def __getattr__(self, name):  # resources and the rest: Keras' own loader
        return getattr(self.loader, name)

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        sys.meta_path[:] = [
            f for f in sys.meta_path if not isinstance(f, _RegisterAfterKeras)
        ]
        _register_keras_objects()


if "keras" in sys.modules:
    _register_keras_objects()
elif not any(isinstance(f, _RegisterAfterKeras) for f in sys.meta_path):
    sys.meta_path.insert(0, _RegisterAfterKeras())
