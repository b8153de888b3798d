"""Test images drawn with Pillow (shipped in ``data/images/``; regenerate with
``python -m rklab.measure.vision.testimages``).

- ``shapes.png`` 640x480 (landscape: exercises the grey padding): a red circle, a blue square,
  a green triangle and a yellow bar on white, with a caption. A VLM should name the shapes.
- ``chart.png`` 320x480 (portrait): a bar chart with four coloured bars and axis ticks.

Drawn deterministically (no randomness, Pillow's default font), so they are identical on every host.
"""

from __future__ import annotations

import sys
from pathlib import Path

from rklab.paths import data_dir

IMAGES = ("shapes.png", "chart.png")


def images_dir() -> Path:
    return data_dir() / "images"


def draw_shapes():
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (640, 480), (255, 255, 255))
    d = ImageDraw.Draw(img)
    d.ellipse((40, 60, 240, 260), fill=(220, 30, 30), outline=(0, 0, 0), width=3)
    d.rectangle((300, 60, 500, 260), fill=(30, 60, 220), outline=(0, 0, 0), width=3)
    d.polygon([(120, 440), (220, 290), (320, 440)], fill=(30, 170, 60), outline=(0, 0, 0))
    d.rectangle((380, 330, 600, 380), fill=(240, 210, 20), outline=(0, 0, 0), width=2)
    d.text((380, 400), "red circle, blue square,\ngreen triangle, yellow bar", fill=(0, 0, 0))
    return img


def draw_chart():
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (320, 480), (250, 250, 250))
    d = ImageDraw.Draw(img)
    d.line((40, 20, 40, 440), fill=(0, 0, 0), width=2)
    d.line((40, 440, 310, 440), fill=(0, 0, 0), width=2)
    for i, (h, colour) in enumerate([(120, (200, 40, 40)), (260, (40, 90, 200)),
                                     (340, (40, 160, 70)), (200, (230, 150, 20))]):
        x0 = 60 + i * 62
        d.rectangle((x0, 440 - h, x0 + 44, 439), fill=colour)
        d.text((x0 + 14, 448), "ABCD"[i], fill=(0, 0, 0))
    for y in range(440, 60, -80):
        d.line((34, y, 40, y), fill=(0, 0, 0))
    d.text((60, 20), "bar chart: C is tallest", fill=(0, 0, 0))
    return img


DRAWERS = {"shapes.png": draw_shapes, "chart.png": draw_chart}


def write_test_images(out_dir: str | Path | None = None, force: bool = False) -> list[Path]:
    """Draw the test images into ``out_dir`` (default ``data/images``); returns their paths."""
    out = Path(out_dir) if out_dir else images_dir()
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, draw in DRAWERS.items():
        p = out / name
        if force or not p.exists() or p.stat().st_size == 0:
            draw().save(p, optimize=True)
        paths.append(p)
    return paths


def demo_image_path() -> Path:
    """``data/images/shapes.png`` (drawn on first use when missing, e.g. in a read-only checkout copy)."""
    p = images_dir() / "shapes.png"
    if not p.exists():
        write_test_images()
    return p


if __name__ == "__main__":  # pragma: no cover
    for path in write_test_images(sys.argv[1] if len(sys.argv) > 1 else None, force=True):
        print(path)
