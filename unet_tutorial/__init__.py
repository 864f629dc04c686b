"""unet_tutorial: the companion package of the U-Net tutorial book.

Every chapter of the book imports this package (``import unet_tutorial as ut``)
and shows its source, so what you read is what runs.
"""

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

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "build_unet",
    "center_crop_amounts",
    "check_input_size",
    "conv_block",
    "decoder_block",
    "encoder_block",
    "feature_maps",
    "feature_model",
    "is_valid_input_size",
    "level_names",
    "level_sizes",
    "nearest_valid_sizes",
    "output_size",
    "unet_depth",
    "valid_input_sizes",
]
