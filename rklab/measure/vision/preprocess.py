"""Image preprocessing as in Rockchip's multimodal demo (rknn-llm ``multimodal_demo``).

Steps (``docs`` facts, board-rk3588.md "Multimodal pipeline"):

1. decode the file and convert to RGB (the C++ demo reads BGR with OpenCV and swaps to RGB);
2. pad to a square with grey (127.5, 127.5, 127.5), the image centred;
3. bilinear resize to the encoder input (448x448 for Qwen3-VL and InternVL3.5);
4. hand the encoder uint8 NHWC: shape ``(1, size, size, 3)``. Mean/std normalisation is
   baked into the .rknn at export, so no float conversion happens here.

The grey 127.5 cannot be stored in uint8; OpenCV's ``saturate_cast`` rounds half to even,
so the demo's padding pixels are 128. The resize is OpenCV ``INTER_LINEAR`` semantics
(half-pixel centres, two taps, no anti-aliasing when shrinking), written in numpy here so
the result does not depend on Pillow's anti-aliased BILINEAR filter.

Bad input raises :class:`rklab.errors.RklabError` with one line naming the file:
zero-byte files, files that are not images, truncated/corrupt images, and images whose
pixel count is absurd (a decompression bomb: a tiny PNG that expands to gigabytes).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Union

import numpy as np

from rklab.errors import RklabError

PAD_GREY = 127.5
# uint8 value of the grey padding: OpenCV saturate_cast<uchar>(127.5) = cvRound(127.5) = 128.
PAD_GREY_U8 = int(np.rint(PAD_GREY))
# Larger than any camera image a user would reasonably feed (about 16k x 12k), far below a bomb.
MAX_PIXELS = 200_000_000

ImageLike = Union[str, os.PathLike, "np.ndarray", "Image.Image"]  # noqa: F821


class ImageError(RklabError):
    """An input image is empty, not an image, truncated, or absurdly large."""


def load_image(path: str | os.PathLike, *, max_pixels: int = MAX_PIXELS):
    """Open and fully decode an image file as an RGB ``PIL.Image``; one-line errors on bad files."""
    from PIL import Image, UnidentifiedImageError

    p = Path(path).expanduser()
    if not p.exists():
        raise ImageError(f"image {p} does not exist; give the path of a PNG or JPEG file")
    if p.is_dir():
        raise ImageError(f"image {p} is a directory; give the path of a PNG or JPEG file")
    if p.stat().st_size == 0:
        raise ImageError(f"image {p} is empty (0 bytes); copy the image again")
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
                img.load()  # decode now, so a truncated file fails here and not later
                rgb = img.convert("RGB")
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
    return rgb


def to_rgb_array(image: ImageLike, *, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """An image file, PIL image or HxWx3 / HxW array as a uint8 RGB array (H, W, 3)."""
    if isinstance(image, (str, os.PathLike)):
        return np.asarray(load_image(image, max_pixels=max_pixels), dtype=np.uint8)
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
    return arr


def pad_to_square(rgb: np.ndarray, fill: float = PAD_GREY) -> np.ndarray:
    """Centre the image on a square canvas of side max(H, W) filled with grey (demo's expand2square)."""
    h, w = rgb.shape[:2]
    side = max(h, w)
    out = np.full((side, side, 3), int(np.rint(fill)), dtype=np.uint8)
    top = (side - h) // 2
    left = (side - w) // 2
    out[top : top + h, left : left + w] = rgb
    return out


def _axis_weights(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source indices and weights of a half-pixel-centre linear resize along one axis."""
    scale = n_in / n_out
    src = (np.arange(n_out, dtype=np.float64) + 0.5) * scale - 0.5
    src = np.clip(src, 0.0, n_in - 1)
    i0 = np.floor(src).astype(np.int64)
    i1 = np.minimum(i0 + 1, n_in - 1)
    frac = src - i0
    return i0, i1, frac


def resize_bilinear(rgb: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """Bilinear resize with OpenCV INTER_LINEAR semantics to ``size`` (side or (H, W)); uint8 out."""
    out_h, out_w = (size, size) if isinstance(size, int) else size
    h, w = rgb.shape[:2]
    if (h, w) == (out_h, out_w):
        return rgb.copy()
    y0, y1, fy = _axis_weights(h, out_h)
    x0, x1, fx = _axis_weights(w, out_w)
    img = rgb.astype(np.float32)
    top = img[y0][:, x0] * (1 - fx)[None, :, None] + img[y0][:, x1] * fx[None, :, None]
    bot = img[y1][:, x0] * (1 - fx)[None, :, None] + img[y1][:, x1] * fx[None, :, None]
    out = top * (1 - fy)[:, None, None] + bot * fy[:, None, None]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def preprocess(image: ImageLike, size: int = 448, *, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Rockchip demo preprocessing: RGB, pad square with grey 127.5, bilinear resize, uint8 NHWC.

    Returns an array of shape ``(1, size, size, 3)``, dtype uint8.
    """
    if not isinstance(size, (int, np.integer)) or size < 8 or size > 4096:
        raise RklabError(f"image_size {size!r} is not a sensible encoder input side; use e.g. 448")
    rgb = to_rgb_array(image, max_pixels=max_pixels)
    square = pad_to_square(rgb)
    resized = resize_bilinear(square, int(size))
    return resized[None, ...]


def preprocess_batch(images: list, size: int = 448) -> np.ndarray:
    """Several images preprocessed and stacked: ``(N, size, size, 3)`` uint8."""
    if not images:
        raise RklabError("images is empty; give at least one image path (or leave it empty for the demo image)")
    return np.concatenate([preprocess(im, size) for im in images], axis=0)
