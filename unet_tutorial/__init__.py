"""unet_tutorial: the companion package of the U-Net tutorial book.

Every chapter of the book imports this package (``import unet_tutorial as ut``)
and shows its source, so what you read is what runs.

* Model: ``build_unet`` and its blocks ``conv_block``, ``encoder_block``,
  ``decoder_block``; ``feature_maps`` taps every level.
* Sizes: ``output_size``, ``valid_input_sizes``, ``level_sizes``.
* Data: ``load_dataset`` (Oxford-IIIT Pet or the synthetic stand-in), with
  ``resolve_source`` deciding which, the routes behind it, the fixed
  validation hold-out, paired augmentation and class weights.
* Training: ``train(TrainConfig(...))``, the losses (``CEDiceLoss``, the
  paper's ``unet_weight_map``) and metrics; ``evaluate`` and ``predict_mask``.
* Pictures: ``animate_encoder``, ``animate_decoder``, ``animate_feature_maps``,
  ``animate_training`` (GIFs), ``FrameStepper`` (step through them on a
  page), ``draw_unet`` (the whole U) and the static figures.

The names load lazily (PEP 562): ``import unet_tutorial`` is instant, and
TensorFlow is imported only when a name that needs it is first used, so the
console script answers ``--help`` at once.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS: dict[str, tuple[str, ...]] = {
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
    "animation": (
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
    "book": (
        "RUNS_ENV",
        "book_profile",
        "BookProfile",
        "runs_dir",
        "say",
        "settings_digest",
        "show_source",
        "source_of",
        "SourceCode",
    ),
    "config": ("PAPER_ELASTIC", "PRESETS", "AugmentConfig", "TrainConfig"),
    "data": (
        "CLASS_NAMES",
        "NUM_CLASSES",
        "SPLITS",
        "add_sample_weights",
        "augment_pair",
        "augmentation_params",
        "class_frequencies",
        "class_weights_from_frequencies",
        "DataInfo",
        "describe_source",
        "elastic_field",
        "elastic_warp",
        "load_dataset",
        "load_oxford_pets",
        "load_pets_directory",
        "load_synthetic_pets",
        "preprocess_pair",
        "read_split_file",
        "resize_image",
        "resize_mask",
        "trimap_to_labels",
    ),
    "distribute": (
        "COLLECTIVES",
        "is_multi_worker",
        "local_cluster",
        "make_strategy",
        "parse_tf_config",
        "run_local_workers",
        "shard_by_data",
        "STRATEGIES",
        "synchronize_batch_norm",
        "worker_role",
        "worker_scratch_dir",
        "WorkerRole",
        "WorkerRun",
    ),
    "download": ("ChecksumError", "download_oxford_pets", "safe_extract"),
    "evaluation": (
        "boundary_accuracy",
        "boundary_band",
        "check_image",
        "evaluate",
        "Evaluation",
        "flip_averaged_logits",
        "load_image",
        "per_image_mean_iou",
        "predict_dataset",
        "predict_mask",
    ),
    "figures": (
        "ATTRIBUTION",
        "CLASS_COLORS",
        "add_credit",
        "captioned",
        "class_legend",
        "data_credit",
        "DISPLAY_PX",
        "Drawing",
        "illegible_texts",
        "MIN_TEXT_PX",
        "mask_to_rgb",
        "overlay_mask",
        "plot_learning_curves",
        "plot_samples",
    ),
    "flops": ("conv2d_flops", "conv2d_transpose_flops", "layer_flops", "model_flops"),
    "losses": (
        "add_unet_weight_maps",
        "CEDiceLoss",
        "cross_entropy_loss",
        "DiceLoss",
        "get_loss",
        "unet_weight_map",
    ),
    "metrics": ("MeanDice", "segmentation_metrics"),
    "model": (
        "build_unet",
        "center_crop_amounts",
        "conv_block",
        "decoder_block",
        "encoder_block",
    ),
    "pretrained": ("build_pretrained_unet", "IMAGENET_SIZES"),
    "runs": (
        "load_snapshots",
        "read_history",
        "RUN_FILES",
        "load_run_model",
        "run_state",
        "RunFolderError",
        "RunLock",
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
    "sources": (
        "OXFORD_DIR_ENV",
        "DataSource",
        "DataUnavailableError",
        "resolve_source",
        "validation_holdout",
    ),
    "stepper": ("FrameStepper",),
    "synthetic": ("make_synthetic_pets", "make_trimap"),
    "tiling": (
        "draw_overlap_tiles",
        "mirror_pad",
        "predict_tiles",
        "Tile",
        "tile_layout",
    ),
    "training": (
        "EpochLog",
        "learning_rate_schedule",
        "read_test_scores",
        "set_seed",
        "train",
        "train_or_load",
        "TrainingDiverged",
        "TrainResult",
    ),
    "upsampling": ("overlap_counts", "resize_conv_counts", "transposed_conv2d"),
}
"""Submodule -> the public names it defines; ``ut.NAME`` imports the submodule on first
use.
"""

_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = ["__version__", *sorted(_WHERE, key=str.lower)]


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
        globals()[name] = value  # later lookups skip this function
        return value
    try:  # a submodule: ut.training, ut.book, ...
        return importlib.import_module(f".{name}", __name__)
    except ModuleNotFoundError as err:
        if err.name != f"{__name__}.{name}":
            raise
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
