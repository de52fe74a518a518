"""Any picture of a digit made into what MNIST looks like: light ink on black, cropped to its strokes, scaled into a
20x20 box, centred by its centre of mass in 28x28, then normalised with the run's statistics.

The rule for a picture that is already 28x28: it is taken as an MNIST digit and only turned grey (and inverted if
its background is light); it is not cropped, scaled or re-centred, so a test-set digit saved as a PNG gives the
model exactly the tensor the test loader gives it.
"""

import numpy as np
import torch
from PIL import Image

SIDE, BOX = 28, 20  # MNIST: the digit's longer side scaled to 20 px, inside a 28x28 frame
INK = 0.1  # a pixel with more ink than this (of the brightest) belongs to the strokes


class EmptyImageError(ValueError):
    """The picture holds no strokes."""


def as_array(image) -> np.ndarray:
    """A PIL image, a numpy array or a Gradio editor value ({"composite": ...}) as a numpy array."""
    if isinstance(image, dict):  # gr.Sketchpad / gr.ImageEditor: the layers merged
        image = image.get("composite")
    if image is None:
        raise EmptyImageError("no image: draw a digit or upload a picture of one")
    if isinstance(image, Image.Image):
        image = np.asarray(image.convert("RGBA") if image.mode in ("P", "LA", "PA") else image)
    array = np.asarray(image)
    if array.ndim not in (2, 3) or min(array.shape[:2]) < 1:
        raise ValueError(f"an image must be H x W or H x W x channels, got the shape {array.shape}")
    return array


def ink(image) -> np.ndarray:
    """The picture as ink in [0, 1] (1 = stroke): grey, transparency taken as background, a light page inverted."""
    array = as_array(image)
    if np.issubdtype(array.dtype, np.integer):
        array = array.astype(np.float32) / np.iinfo(array.dtype).max  # uint8: / 255, as ToTensor does
    else:
        array = array.astype(np.float32)
        array = array / 255.0 if array.max() > 1.0 else array
    if array.ndim == 3 and array.shape[2] in (2, 4) and array[..., -1].min() < 1.0:
        return array[..., -1]  # transparent background: the opaque pixels are the strokes (a sketchpad drawing)
    if array.ndim == 3 and (array.shape[2] < 3 or (array[..., :3] == array[..., :1]).all()):
        array = array[..., 0]  # grey already, in however many channels: kept exact
    elif array.ndim == 3:
        array = array[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R 601 luma, as PIL's "L"
    border = np.concatenate([array[0], array[-1], array[:, 0], array[:, -1]])
    return 1.0 - array if border.mean() > 0.5 else array


def centre_of_mass(x: np.ndarray) -> tuple[float, float]:
    """(row, column) of the ink's centre of mass."""
    rows, cols = np.indices(x.shape)
    total = x.sum()
    return float((rows * x).sum() / total), float((cols * x).sum() / total)


def mnist_like(image) -> np.ndarray:
    """The picture as a 28x28 float32 MNIST digit in [0, 1]; EmptyImageError if it holds no strokes."""
    x = ink(image)
    if x.shape == (SIDE, SIDE):
        return x  # already an MNIST digit (see the module's docstring)
    if x.max() < 0.05:
        raise EmptyImageError("the image holds no strokes: draw a digit or upload a picture of one")
    rows, cols = np.nonzero(x > INK * x.max())
    x = x[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    scale = BOX / max(x.shape)
    size = (max(1, round(x.shape[1] * scale)), max(1, round(x.shape[0] * scale)))  # PIL: (width, height)
    small = np.asarray(Image.fromarray(x).resize(size, Image.Resampling.LANCZOS)).clip(0, None)
    small = small / small.max()
    # Place it so that its centre of mass sits at the frame's centre, as MNIST was made; never off the frame.
    r, c = centre_of_mass(small)
    top = int(np.clip(round(SIDE / 2 - r), 0, SIDE - small.shape[0]))
    left = int(np.clip(round(SIDE / 2 - c), 0, SIDE - small.shape[1]))
    frame = np.zeros((SIDE, SIDE), dtype=np.float32)
    frame[top : top + small.shape[0], left : left + small.shape[1]] = small
    return frame


def to_tensor(digit: np.ndarray, mean: float, std: float) -> torch.Tensor:
    """A 28x28 digit in [0, 1] as the model's (1, 1, 28, 28) input, normalised with mean and std."""
    return ((torch.from_numpy(np.ascontiguousarray(digit, dtype=np.float32)) - mean) / std)[None, None]
