"""Rockchip-demo preprocessing and the one-line errors for bad images."""

import numpy as np
import pytest

from rklab.errors import RklabError
from rklab.measure.vision.preprocess import (PAD_GREY_U8, load_image, pad_to_square, preprocess, preprocess_batch,
                                     resize_bilinear)
from rklab.measure.vision.testimages import demo_image_path, write_test_images


def test_pad_grey_is_opencv_rounding_of_127_5():
    assert PAD_GREY_U8 == 128  # cvRound(127.5): round half to even


def test_pad_to_square_centres_landscape_and_portrait():
    img = np.full((2, 6, 3), 7, np.uint8)
    sq = pad_to_square(img)
    assert sq.shape == (6, 6, 3)
    assert (sq[2:4] == 7).all() and (sq[:2] == 128).all() and (sq[4:] == 128).all()
    tall = pad_to_square(np.full((5, 2, 3), 9, np.uint8))
    assert tall.shape == (5, 5, 3)
    assert (tall[:, 1:3] == 9).all() and (tall[:, :1] == 128).all() and (tall[:, 3:] == 128).all()


def test_resize_bilinear_half_pixel_centres():
    # a 2x2 image upscaled to 4x4 with half-pixel centres (OpenCV INTER_LINEAR)
    img = np.array([[0, 100], [100, 200]], np.uint8)[:, :, None].repeat(3, axis=2)
    out = resize_bilinear(img, 4)[:, :, 0]
    assert out[0].tolist() == [0, 25, 75, 100]
    assert out[:, 0].tolist() == [0, 25, 75, 100]
    assert out[3].tolist() == [100, 125, 175, 200]
    # shrinking a constant image keeps it constant; identity size is a copy
    const = np.full((640, 640, 3), 77, np.uint8)
    assert (resize_bilinear(const, 448) == 77).all()
    assert resize_bilinear(img, 2).tolist() == img.tolist()


def test_resize_downscale_matches_two_tap_average():
    # 4 -> 2: each output pixel sits between source pixels 2i and 2i+1 (weights 0.5/0.5)
    row = np.array([[0, 10, 20, 30]], np.uint8)
    img = np.repeat(row, 4, axis=0)[:, :, None].repeat(3, axis=2)
    assert resize_bilinear(img, 2)[0, :, 0].tolist() == [5, 25]


def test_preprocess_demo_image_nhwc_uint8():
    x = preprocess(demo_image_path(), 448)
    assert x.shape == (1, 448, 448, 3) and x.dtype == np.uint8
    # shapes.png is 640x480: 80 px of grey above and below the content, i.e. 56 px after resizing
    assert (x[0, :50] == 128).all() and (x[0, -50:] == 128).all()
    assert (x[0, 60:400, :] != 128).any()
    # inside the blue square (300..500, 60..260 in the 640x640 padded frame -> *0.7)
    assert x[0, int((80 + 160) * 0.7), int(400 * 0.7)].tolist() == [30, 60, 220]


def test_preprocess_accepts_pil_and_arrays_and_rgba(tmp_path):
    from PIL import Image

    rgba = Image.new("RGBA", (10, 20), (1, 2, 3, 4))
    a = preprocess(rgba, 16)
    gray = preprocess(np.zeros((20, 10), np.uint8), 16)
    p = tmp_path / "x.png"
    rgba.save(p)
    b = preprocess(p, 16)
    assert a.shape == gray.shape == b.shape == (1, 16, 16, 3)
    assert a[0, 8, 8].tolist() == [1, 2, 3] and (a == b).all()
    assert preprocess_batch([p, p], 16).shape == (2, 16, 16, 3)


@pytest.mark.parametrize("case, words", [
    ("empty", "empty (0 bytes)"),
    ("not_an_image", "not an image"),
    ("truncated", "truncated or corrupt"),
    ("truncated_jpeg", "truncated or corrupt"),
    ("bomb", "megapixels"),
])
def test_bad_images_raise_one_line(bad_images, case, words):
    with pytest.raises(RklabError) as exc:
        preprocess(bad_images[case])
    msg = str(exc.value)
    assert words in msg and str(bad_images[case]) in msg and "\n" not in msg


def test_missing_directory_and_bad_size(tmp_path, bad_images):
    with pytest.raises(RklabError, match="does not exist"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(RklabError, match="is a directory"):
        load_image(tmp_path)
    with pytest.raises(RklabError, match="image_size"):
        preprocess(bad_images["good"], 3)
    with pytest.raises(RklabError, match="not HxWx3"):
        preprocess(np.zeros((4, 4, 5), np.uint8))
    with pytest.raises(RklabError, match="images is empty"):
        preprocess_batch([])


def test_custom_pixel_limit(bad_images):
    with pytest.raises(RklabError, match="megapixels"):
        load_image(bad_images["good"], max_pixels=100)


def test_testimages_are_deterministic(tmp_path):
    a = write_test_images(tmp_path / "a")
    b = write_test_images(tmp_path / "b")
    assert [p.name for p in a] == ["shapes.png", "chart.png"]
    for pa, pb in zip(a, b):
        assert np.array_equal(np.asarray(load_image(pa)), np.asarray(load_image(pb)))
    shipped = np.asarray(load_image(demo_image_path()))
    assert np.array_equal(shipped, np.asarray(load_image(a[0])))
