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
  ``animate_training`` (GIFs) and the static figures.
"""

from .animation import (
    animate_decoder,
    animate_encoder,
    animate_feature_maps,
    animate_training,
    decoder_steps,
    encoder_steps,
    load_example_image,
    write_gif,
)
from .book import ATTRIBUTION, BookProfile, book_profile, glue
from .data import (
    CLASS_NAMES,
    NUM_CLASSES,
    SPLITS,
    AugmentConfig,
    DataInfo,
    add_sample_weights,
    augment_pair,
    augmentation_params,
    class_frequencies,
    class_weights_from_frequencies,
    describe_source,
    load_dataset,
    load_oxford_pets,
    load_pets_directory,
    load_synthetic_pets,
    preprocess_pair,
    read_split_file,
    resize_image,
    resize_mask,
    trimap_to_labels,
)
from .download import ChecksumError, download_oxford_pets, safe_extract
from .evaluation import (
    Evaluation,
    boundary_accuracy,
    boundary_band,
    evaluate,
    load_image,
    per_image_mean_iou,
    predict_dataset,
    predict_mask,
)
from .figures import CLASS_COLORS, mask_to_rgb, overlay_mask, plot_learning_curves, plot_samples
from .flops import conv2d_flops, conv2d_transpose_flops, layer_flops, model_flops
from .losses import CEDiceLoss, DiceLoss, add_unet_weight_maps, cross_entropy_loss, get_loss, unet_weight_map
from .metrics import MeanDice, segmentation_metrics
from .model import (
    build_unet,
    center_crop_amounts,
    conv_block,
    decoder_block,
    encoder_block,
    feature_maps,
    feature_model,
    layer_level,
    level_names,
    parameters_by_level,
    unet_depth,
)
from .shapes import (
    check_input_size,
    is_valid_input_size,
    level_sizes,
    nearest_valid_sizes,
    output_size,
    receptive_fields,
    valid_input_sizes,
)
from .sources import (
    OXFORD_DIR_ENV,
    DataSource,
    DataUnavailableError,
    resolve_source,
    validation_holdout,
)
from .synthetic import make_synthetic_pets, make_trimap
from .training import (
    PRESETS,
    TrainConfig,
    TrainResult,
    learning_rate_schedule,
    load_snapshots,
    read_history,
    read_test_scores,
    set_seed,
    train,
    train_or_load,
)
from .upsampling import overlap_counts, resize_conv_counts, transposed_conv2d

__version__ = "0.1.0"

__all__ = [
    "ATTRIBUTION",
    "AugmentConfig",
    "BookProfile",
    "CEDiceLoss",
    "CLASS_COLORS",
    "CLASS_NAMES",
    "ChecksumError",
    "DataInfo",
    "DataSource",
    "DataUnavailableError",
    "DiceLoss",
    "Evaluation",
    "MeanDice",
    "NUM_CLASSES",
    "OXFORD_DIR_ENV",
    "PRESETS",
    "SPLITS",
    "TrainConfig",
    "TrainResult",
    "__version__",
    "add_sample_weights",
    "add_unet_weight_maps",
    "animate_decoder",
    "animate_encoder",
    "animate_feature_maps",
    "animate_training",
    "augment_pair",
    "augmentation_params",
    "book_profile",
    "boundary_accuracy",
    "boundary_band",
    "build_unet",
    "center_crop_amounts",
    "check_input_size",
    "class_frequencies",
    "class_weights_from_frequencies",
    "conv2d_flops",
    "conv2d_transpose_flops",
    "conv_block",
    "cross_entropy_loss",
    "decoder_block",
    "decoder_steps",
    "describe_source",
    "download_oxford_pets",
    "encoder_block",
    "encoder_steps",
    "evaluate",
    "feature_maps",
    "feature_model",
    "get_loss",
    "glue",
    "is_valid_input_size",
    "layer_flops",
    "layer_level",
    "learning_rate_schedule",
    "level_names",
    "level_sizes",
    "load_dataset",
    "load_example_image",
    "load_image",
    "load_oxford_pets",
    "load_pets_directory",
    "load_snapshots",
    "load_synthetic_pets",
    "make_synthetic_pets",
    "make_trimap",
    "mask_to_rgb",
    "model_flops",
    "nearest_valid_sizes",
    "output_size",
    "overlap_counts",
    "overlay_mask",
    "parameters_by_level",
    "per_image_mean_iou",
    "plot_learning_curves",
    "plot_samples",
    "predict_dataset",
    "predict_mask",
    "preprocess_pair",
    "read_history",
    "read_split_file",
    "read_test_scores",
    "receptive_fields",
    "resize_conv_counts",
    "resize_image",
    "resize_mask",
    "resolve_source",
    "safe_extract",
    "segmentation_metrics",
    "set_seed",
    "train",
    "train_or_load",
    "transposed_conv2d",
    "trimap_to_labels",
    "unet_depth",
    "unet_weight_map",
    "valid_input_sizes",
    "validation_holdout",
    "write_gif",
]
