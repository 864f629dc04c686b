"""unet_tutorial: the companion package of the U-Net tutorial book.

Every chapter of the book imports this package (``import unet_tutorial as ut``)
and shows its source, so what you read is what runs.

* Model: ``build_unet`` and its blocks ``conv_block``, ``encoder_block``,
  ``decoder_block``; ``feature_maps`` taps every level.
* Sizes: ``output_size``, ``valid_input_sizes``, ``level_sizes``.
* Data: ``load_dataset`` (Oxford-IIIT Pet or the synthetic stand-in), the
  routes behind it, paired augmentation and class weights.
"""

from .data import (
    CLASS_NAMES,
    NUM_CLASSES,
    AugmentConfig,
    DataInfo,
    DataUnavailableError,
    add_sample_weights,
    augment_pair,
    augmentation_params,
    class_frequencies,
    class_weights_from_frequencies,
    load_dataset,
    load_oxford_pets,
    load_pets_directory,
    load_synthetic_pets,
    preprocess_pair,
    resize_image,
    resize_mask,
    trimap_to_labels,
)
from .download import ChecksumError, download_oxford_pets, safe_extract
from .model import (
    build_unet,
    center_crop_amounts,
    conv_block,
    decoder_block,
    encoder_block,
    feature_maps,
    feature_model,
    level_names,
    unet_depth,
)
from .shapes import (
    check_input_size,
    is_valid_input_size,
    level_sizes,
    nearest_valid_sizes,
    output_size,
    valid_input_sizes,
)
from .synthetic import make_synthetic_pets, make_trimap

__version__ = "0.1.0"

__all__ = [
    "CLASS_NAMES",
    "NUM_CLASSES",
    "AugmentConfig",
    "ChecksumError",
    "DataInfo",
    "DataUnavailableError",
    "__version__",
    "add_sample_weights",
    "augment_pair",
    "augmentation_params",
    "build_unet",
    "center_crop_amounts",
    "check_input_size",
    "class_frequencies",
    "class_weights_from_frequencies",
    "conv_block",
    "decoder_block",
    "download_oxford_pets",
    "encoder_block",
    "feature_maps",
    "feature_model",
    "is_valid_input_size",
    "level_names",
    "level_sizes",
    "load_dataset",
    "load_oxford_pets",
    "load_pets_directory",
    "load_synthetic_pets",
    "make_synthetic_pets",
    "make_trimap",
    "nearest_valid_sizes",
    "output_size",
    "preprocess_pair",
    "resize_image",
    "resize_mask",
    "safe_extract",
    "trimap_to_labels",
    "unet_depth",
    "valid_input_sizes",
]
