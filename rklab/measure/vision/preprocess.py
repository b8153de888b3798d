"""Image preprocessing byte-identical to Rockchip's multimodal demo, with OpenCV itself.

The demo (rknn-llm ``examples/multimodal_model_demo/deploy/src/main.cpp``, 1.2.3 and 1.3.0) does:

1. ``cv::imread(path)``: decode to BGR; ``IMREAD_COLOR`` applies the EXIF orientation, so a
   portrait photo is upright;
2. ``cv::cvtColor(img, img, cv::COLOR_BGR2RGB)``;
3. ``expand2square(img, cv::Scalar(127.5, 127.5, 127.5))``: a square of side max(H, W) filled
   with the grey (OpenCV converts 127.5 to uint8 with ``saturate_cast``: 128), the image pasted at
   ((side - W) / 2, (side - H) / 2) with integer division; a square image is copied unchanged;
4. ``cv::resize(square, resized, cv::Size(model_width, model_height), 0, 0, cv::INTER_LINEAR)``;
5. the uint8 RGB pixels go to the encoder as NHWC (normalisation is baked into the .rknn).

:func:`preprocess` makes the same OpenCV calls from Python (``opencv-python-headless``), so
its bytes equal the demo's for the same OpenCV build; ``tests/test_vision_preprocess.py``
compares them with a C++ program doing exactly the demo's calls against Debian's OpenCV, on
``demo.jpg`` and on EXIF-rotated copies of it.

Bad input raises :class:`rklab.errors.RklabError` with one line naming the file: missing, a
directory, zero bytes, not an image, truncated/corrupt, or an absurd pixel count (a
decompression bomb: a tiny PNG that expands to gigabytes). OpenCV says none of this (``imread``
returns None, or a grey-filled partial image), so :func:`check_image` reads the header and
decodes once with Pillow first; :func:`load_image` (check + decode) is what runs before any
model is loaded, and :func:`preprocess` (the measured stage) checks only the header.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Union

import cv2
import numpy as np

from rklab.errors import RklabError

PAD_GREY = 127.5  # the demo's cv::Scalar(127.5, 127.5, 127.5)
# Larger than any camera image a user would reasonably feed (about 16k x 12k), far below a bomb.
MAX_PIXELS = 200_000_000

ImageLike = Union[str, os.PathLike, "np.ndarray", "Image.Image"]  # noqa: F821


class ImageError(RklabError):
    """An input image is empty, not an image, truncated, or absurdly large."""


def _existing_file(path) -> Path:
    p = Path(path).expanduser()
    if not p.exists():
        raise ImageError(f"image {p} does not exist; give the path of a PNG or JPEG file")
    if p.is_dir():
        raise ImageError(f"image {p} is a directory; give the path of a PNG or JPEG file")
    if p.stat().st_size == 0:
        raise ImageError(f"image {p} is empty (0 bytes); copy the image again")
    return p


def check_image(path: str | os.PathLike, *, max_pixels: int = MAX_PIXELS, decode: bool = True) -> Path:
    """One-line errors for a bad image file: header checks, then (``decode``) a full decode with Pillow.

    Returns the path. ``decode=False`` reads only the header (format and size), which is cheap.
    """
    from PIL import Image, UnidentifiedImageError

    p = _existing_file(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(p) as img:
                w, h = img.size
                if w * h > max_pixels:
                    raise ImageError(
                        f"image {p} is {w}x{h} = {w * h / 1e6:.0f} megapixels, more than the "
                        f"{max_pixels / 1e6:.0f} MP limit (decompression bomb?); downscale it first"
                    )
                if decode:
                    img.load()  # decode now, so a truncated file fails here and not later
    except ImageError:
        raise
    except UnidentifiedImageError as exc:
        raise ImageError(f"image {p} is not an image Pillow can read; give a PNG or JPEG file") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        limit = (Image.MAX_IMAGE_PIXELS or 0) / 1e6
        raise ImageError(f"image {p} has more than {limit:.0f} megapixels (decompression bomb guard); "
                         "downscale it first") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ImageError(f"image {p} is truncated or corrupt ({msg}); copy the image again") from exc
    return p


def imread_rgb(path: str | os.PathLike) -> np.ndarray:
    """The demo's decode: ``cv::imread`` (EXIF orientation applied) then ``COLOR_BGR2RGB``; uint8 (H, W, 3)."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ImageError(f"image {path} is truncated or corrupt (OpenCV cannot decode it); copy the image again")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def load_image(path: str | os.PathLike, *, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Check a file fully (:func:`check_image`) and decode it as the demo does; RGB uint8 (H, W, 3)."""
    return imread_rgb(check_image(path, max_pixels=max_pixels))


def to_rgb_array(image: ImageLike, *, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """An image file (decoded as the demo does), PIL image or HxWx3 / HxW array as uint8 RGB (H, W, 3)."""
    if isinstance(image, (str, os.PathLike)):
        return imread_rgb(check_image(image, max_pixels=max_pixels, decode=False))
    try:
        from PIL import Image

        if isinstance(image, Image.Image):
            return np.asarray(image.convert("RGB"), dtype=np.uint8)
    except ImportError:  # pragma: no cover
        pass
    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4) or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ImageError(f"image array of shape {arr.shape} is not HxWx3 RGB; pass an RGB image")
    if arr.shape[2] == 4:
        arr = arr[:, :, :3]
    if arr.dtype != np.uint8:
        arr = np.clip(np.rint(arr), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(arr)


def expand2square(rgb: np.ndarray, background: float = PAD_GREY) -> np.ndarray:
    """The demo's ``expand2square``: centred on a square of side max(H, W) filled with ``background``.

    The fill goes through OpenCV's own scalar conversion (``copyMakeBorder`` with a constant
    border, as ``cv::Mat(size, size, type, cv::Scalar(127.5, ...))``): 127.5 becomes 128.
    """
    h, w = rgb.shape[:2]
    if h == w:
        return rgb.copy()
    side = max(h, w)
    top, left = (side - h) // 2, (side - w) // 2
    return cv2.copyMakeBorder(rgb, top, side - h - top, left, side - w - left, cv2.BORDER_CONSTANT,
                              value=(background, background, background))


def _size_hw(size) -> tuple[int, int]:
    if isinstance(size, (int, np.integer)):
        h = w = int(size)
    else:
        try:
            h, w = (int(x) for x in size)
        except (TypeError, ValueError):
            raise RklabError(f"image_size {size!r} is not a side or (height, width); use e.g. 448") from None
    if not (8 <= h <= 4096 and 8 <= w <= 4096):
        raise RklabError(f"image_size {size!r} is not a sensible encoder input side; use e.g. 448")
    return h, w


def preprocess(image: ImageLike, size: int | tuple[int, int] = 448, *, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """The demo's preprocessing: imread (EXIF) -> RGB -> expand2square(127.5) -> resize INTER_LINEAR.

    ``size`` is the encoder's input side, or (height, width). Returns uint8 NHWC ``(1, H, W, 3)``.
    """
    h, w = _size_hw(size)
    square = expand2square(to_rgb_array(image, max_pixels=max_pixels))
    resized = cv2.resize(square, (w, h), interpolation=cv2.INTER_LINEAR)
    return resized[None, ...]


def preprocess_batch(images: list, size: int | tuple[int, int] = 448) -> np.ndarray:
    """Several images preprocessed and stacked: ``(N, H, W, 3)`` uint8."""
    if not images:
        raise RklabError("images is empty; give at least one image path (or leave it empty for the demo image)")
    return np.concatenate([preprocess(im, size) for im in images], axis=0)
