"""Reading users' images: orientation, 16-bit depth, huge files (unet_tutorial.evaluation.load_image)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import unet_tutorial as ut


def test_sixteen_bit_images_are_scaled_not_clipped(tmp_path):
    grey = np.array([[0, 257 * 100, 65535]], np.uint16).repeat(4, axis=0)
    path = tmp_path / "deep.png"
    Image.fromarray(grey).save(path)
    assert Image.open(path).mode.startswith("I")  # really stored as 16 bit
    image = ut.load_image(path)
    assert image.dtype == np.uint8 and image.shape == (4, 3, 3)
    np.testing.assert_array_equal(image[0, :, 0], [0, 100, 255])  # mid grey stays mid grey, not white


def test_exif_orientation_is_applied(tmp_path):
    pixels = np.zeros((20, 40, 3), np.uint8)
    pixels[:, :10] = 255  # a white band on the left of the stored pixels
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    path = tmp_path / "phone.jpg"
    Image.fromarray(pixels).save(path, exif=exif, quality=95)
    image = ut.load_image(path)
    assert image.shape == (40, 20, 3)  # displayed upright: portrait
    assert image[:10].mean() > 200 and image[-10:].mean() < 50  # the band is now at the top


def test_an_image_over_the_decompression_bomb_limit_is_refused_in_one_line(tmp_path, monkeypatch):
    path = tmp_path / "huge.png"
    Image.fromarray(np.zeros((100, 100, 3), np.uint8)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # as if it were 20000 x 20000
    for read in (ut.load_image, ut.check_image):
        with pytest.raises(ValueError, match="too large to open safely.*Downscale it first"):
            read(path)


def test_check_image_reads_only_the_header(tmp_path):
    path = tmp_path / "cut.png"
    Image.fromarray(np.zeros((30, 50, 3), np.uint8)).save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # a truncated file: the header is fine, the pixels are not
    assert ut.check_image(path) == (50, 30)
    with pytest.raises(ValueError, match="not a readable image"):
        ut.load_image(path)
