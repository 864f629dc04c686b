"""The classes of the Oxford-IIIT Pet masks (TensorFlow-free).

The dataset's trimaps store **1 = pet, 2 = background, 3 = border** (its
README: "1: Foreground 2: Background 3: Not classified"). The package subtracts
one, so a mask holds class indices ``0 = pet, 1 = background, 2 = border``:
``CLASS_NAMES[i]`` is the name of class ``i``. TensorFlow's segmentation
tutorial subtracts one too, but names the classes in another order; plots and
per-class metrics must follow this module.
"""

from __future__ import annotations

CLASS_NAMES = ("pet", "background", "border")
"""Class of each mask value: 0 = pet, 1 = background, 2 = border."""

NUM_CLASSES = len(CLASS_NAMES)

TRIMAP_VALUES = {"pet": 1, "background": 2, "border": 3}
"""The value each class has in an Oxford trimap file (class index + 1)."""

TRIMAP_OFFSET = 1
"""Subtract this from a trimap value to get the class index (``trimap_to_labels``)."""
