"""Rockchip-demo preprocessing (byte-identical to the demo's OpenCV calls) and the one-line errors for bad images."""

import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from rklab.errors import RklabError
from rklab.measure.vision.preprocess import expand2square, load_image, preprocess, preprocess_batch
from rklab.measure.vision.testimages import demo_image_path, write_test_images
from tests.vendor import require_vendor


def test_expand2square_centres_landscape_and_portrait_with_opencv_grey():
    img = np.full((2, 6, 3), 7, np.uint8)
    sq = expand2square(img)
    assert sq.shape == (6, 6, 3)
    # OpenCV converts the demo's 127.5 with saturate_cast (round half to even): 128
    assert (sq[2:4] == 7).all() and (sq[:2] == 128).all() and (sq[4:] == 128).all()
    tall = expand2square(np.full((5, 2, 3), 9, np.uint8))
    assert tall.shape == (5, 5, 3)
    # x offset (5 - 2) / 2 = 1 with integer division, as the demo computes it
    assert (tall[:, 1:3] == 9).all() and (tall[:, :1] == 128).all() and (tall[:, 3:] == 128).all()
    square = np.arange(27, dtype=np.uint8).reshape(3, 3, 3)
    assert np.array_equal(expand2square(square), square) and expand2square(square) is not square


def test_resize_is_opencv_inter_linear():
    # an 8x8 edge (0 | 100) upscaled to 16x16 with half-pixel centres: two taps, 25 and 75 at the edge
    img = np.zeros((8, 8, 3), np.uint8)
    img[:, 4:] = 100
    out = preprocess(img, 16)[0, :, :, 0]
    assert out[0].tolist() == [0] * 7 + [25, 75] + [100] * 7 and (out == out[0]).all()
    const = np.full((640, 640, 3), 77, np.uint8)
    assert (preprocess(const, 448) == 77).all()
    assert preprocess(img, (16, 8)).shape == (1, 16, 8, 3)  # (height, width) as the model's input says


# --------------------------------------------------------------------------- the demo's bytes

def exif_rotated_copy(src: Path, dst: Path, orientation: int) -> Path:
    """``src`` with its EXIF orientation tag set to ``orientation``; the JPEG pixel data untouched."""
    data = bytearray(src.read_bytes())
    tiff = data.find(b"Exif\x00\x00") + 6
    assert tiff > 5, f"{src} has no EXIF block"
    e = "<" if data[tiff:tiff + 2] == b"II" else ">"
    ifd = tiff + struct.unpack_from(e + "I", data, tiff + 4)[0]
    for k in range(struct.unpack_from(e + "H", data, ifd)[0]):
        entry = ifd + 2 + 12 * k
        tag, typ, count = struct.unpack_from(e + "HHI", data, entry)
        if tag == 0x0112:  # Orientation, SHORT x 1, stored in the value field
            assert (typ, count) == (3, 1)
            struct.pack_into(e + "H", data, entry + 8, orientation)
            dst.write_bytes(bytes(data))
            return dst
    raise AssertionError(f"{src} has no orientation tag")


@pytest.fixture(scope="module")
def demo_jpgs(tmp_path_factory) -> dict[str, Path]:
    """Rockchip's demo.jpg (EXIF orientation 1) and copies tagged 3 (180), 6 (90 CW) and 8 (90 CCW)."""
    demo = require_vendor("v1.3.0", "demo.jpg")
    d = tmp_path_factory.mktemp("exif")
    out = {"1": demo}
    for o in (3, 6, 8):
        out[str(o)] = exif_rotated_copy(demo, d / f"demo-orientation-{o}.jpg", o)
    return out


@pytest.fixture(scope="module")
def demo_cpp(tmp_path_factory) -> Path:
    """tests/groundtruth/demo_preprocess.cpp built against Debian's OpenCV (`make test` installs it)."""
    gxx = shutil.which("g++")
    headers = Path("/usr/include/opencv4/opencv2")
    if gxx is None or not (headers / "imgcodecs.hpp").is_file() or not (headers / "imgproc.hpp").is_file():
        pytest.skip("g++ or Debian's OpenCV headers are missing: run scripts/ensure-opencv-dev.sh (make test does)")
    exe = tmp_path_factory.mktemp("groundtruth") / "demo_preprocess"
    src = Path(__file__).parent / "groundtruth" / "demo_preprocess.cpp"
    proc = subprocess.run([gxx, "-O1", "-I/usr/include/opencv4", "-o", str(exe), str(src), "-lopencv_imgcodecs",
                           "-lopencv_imgproc", "-lopencv_core"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return exe


def demo_bytes(exe: Path, image: Path, width: int, height: int, tmp: Path) -> np.ndarray:
    out = tmp / f"{image.stem}-{width}x{height}.raw"
    subprocess.run([str(exe), str(image), str(width), str(height), str(out)], check=True)
    return np.frombuffer(out.read_bytes(), np.uint8).reshape(height, width, 3)


@pytest.mark.parametrize("orientation", ["1", "3", "6", "8"])
@pytest.mark.parametrize("size", [(448, 448), (392, 392), (448, 336)])
def test_preprocess_is_byte_identical_to_the_demo(demo_cpp, demo_jpgs, orientation, size, tmp_path):
    """rklab's preprocess vs a C++ program making the demo's OpenCV calls (Debian's OpenCV), byte for byte."""
    h, w = size
    mine = preprocess(demo_jpgs[orientation], (h, w))[0]
    assert np.array_equal(mine, demo_bytes(demo_cpp, demo_jpgs[orientation], w, h, tmp_path))


def test_exif_orientation_is_applied(demo_jpgs):
    """A photo taken in portrait is fed upright: orientation 6 = the stored pixels turned 90 degrees clockwise."""
    upright = load_image(demo_jpgs["1"])
    assert upright.shape == (640, 1024, 3)
    assert np.array_equal(load_image(demo_jpgs["6"]), np.rot90(upright, k=-1))
    assert np.array_equal(load_image(demo_jpgs["8"]), np.rot90(upright, k=1))
    assert np.array_equal(load_image(demo_jpgs["3"]), np.rot90(upright, k=2))
    assert not np.array_equal(preprocess(demo_jpgs["6"]), preprocess(demo_jpgs["1"]))


def test_the_old_float_resize_was_off(demo_jpgs):
    """Why OpenCV itself: a float bilinear resize in numpy differs from cv::resize by 1 on several % of values."""
    rgb = expand2square(load_image(demo_jpgs["1"]))
    src = (np.arange(448) + 0.5) * (rgb.shape[0] / 448) - 0.5
    i0 = np.clip(np.floor(src), 0, rgb.shape[0] - 1).astype(int)
    i1, f = np.minimum(i0 + 1, rgb.shape[0] - 1), np.clip(src - i0, 0, 1)
    x = rgb.astype(np.float64)
    rows = x[i0] * (1 - f)[:, None, None] + x[i1] * f[:, None, None]
    flt = rows[:, i0] * (1 - f)[None, :, None] + rows[:, i1] * f[None, :, None]
    naive = np.clip(np.rint(flt), 0, 255).astype(np.uint8)
    diff = np.abs(naive.astype(int) - preprocess(demo_jpgs["1"])[0].astype(int))
    assert diff.max() == 1 and 0.02 < (diff > 0).mean() < 0.2


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
