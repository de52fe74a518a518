"""What a trained classifier gets wrong: predictions, misclassified images, a gallery and a confusion matrix."""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
from matplotlib.figure import Figure
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from s5utils.data.cifar10 import denormalize
from s5utils.data.mnist import MNIST_MEAN, MNIST_STD
from s5utils.training.loop import autocast_to, batch_to_device


@dataclass
class Predictions:
    """Every image of a pass over a loader with its true label, predicted label and confidence (max probability)."""

    images: torch.Tensor  # (N, C, H, W), as the loader gave them (normalized), on the CPU
    targets: torch.Tensor  # (N,)
    predicted: torch.Tensor  # (N,)
    confidence: torch.Tensor  # (N,) softmax probability of the predicted class

    def wrong(self) -> "Predictions":
        """Only the misclassified images, most confident mistakes first."""
        idx = (self.predicted != self.targets).nonzero().flatten()
        idx = idx[self.confidence[idx].argsort(descending=True)]
        return Predictions(self.images[idx], self.targets[idx], self.predicted[idx], self.confidence[idx])

    def __len__(self) -> int:
        return len(self.targets)


def take(dataset: Dataset, n: int, transform=None) -> tuple[torch.Tensor, torch.Tensor]:
    """The first n (images, labels) of a torchvision MNIST-style dataset, through transform if given
    (else the dataset's own, random augmentation included)."""
    if transform is None:
        items = [dataset[i] for i in range(n)]
    else:
        items = [(transform(Image.fromarray(dataset.data[i].numpy())), int(dataset.targets[i])) for i in range(n)]
    return torch.stack([x for x, _ in items]), torch.tensor([y for _, y in items])


@torch.no_grad()
def predict(
    model: nn.Module,
    loader: DataLoader,
    device: torch.device | str = "cpu",
    max_batches: int | None = None,
    *,
    amp_dtype: torch.dtype | None = None,
    channels_last: bool = False,
) -> Predictions:
    """Run model over loader (in eval mode) and keep images, labels, predictions and confidences.

    amp_dtype and channels_last run the pass as the run's evaluate() does (bf16 halves it on a CPU with bf16 units).
    """
    model.eval()
    device = torch.device(device)
    parts = {"images": [], "targets": [], "predicted": [], "confidence": []}
    for batch_idx, (x, y) in enumerate(loader):
        if max_batches is not None and batch_idx >= max_batches:
            break
        with autocast_to(device, amp_dtype):
            output = model(batch_to_device(x, device, channels_last))
        # softmax of log_softmax output is the same probabilities, so this works for logits or log-probs.
        probs = output.float().softmax(dim=1).cpu()
        conf, pred = probs.max(dim=1)
        for key, value in zip(parts, (x.cpu(), y.cpu(), pred, conf), strict=False):
            parts[key].append(value)
    return Predictions(**{k: torch.cat(v) for k, v in parts.items()})


def _per_channel(value: float | Sequence[float], channels: int, what: str) -> list[float]:
    values = [float(value)] * channels if isinstance(value, (int, float)) else [float(v) for v in value]
    if len(values) == 1:
        values *= channels
    if len(values) != channels:
        raise ValueError(f"{what} has {len(values)} values for {channels}-channel images; give one per channel")
    return values


def display_images(
    images: torch.Tensor, mean: float | Sequence[float] | None = None, std: float | Sequence[float] | None = None
) -> np.ndarray:
    """(N, C, H, W) normalized images as an array in [0, 1] to show: (N, H, W) for one channel, (N, H, W, 3) for three.

    Normalize(mean, std) is undone; without them one channel takes the seed's MNIST constants and colour images are
    stretched to [0, 1] each. Other channel counts show their first channel.
    """
    x = images.detach().float().cpu()
    if x.ndim == 3:
        x = x.unsqueeze(1)
    channels = x.shape[1]
    if mean is None and std is None and channels != 1:
        low = x.amin(dim=(1, 2, 3), keepdim=True)
        high = x.amax(dim=(1, 2, 3), keepdim=True)
        x = (x - low) / (high - low).clamp_min(1e-12)
    else:
        mean = MNIST_MEAN if mean is None else mean
        std = MNIST_STD if std is None else std
        x = denormalize(x, _per_channel(mean, channels, "mean"), _per_channel(std, channels, "std"))
    if channels == 3:
        return x.permute(0, 2, 3, 1).numpy()
    return x[:, 0].numpy()


def image_grid(
    images: torch.Tensor,
    titles: list[str],
    cols: int = 8,
    colours: list[str] | None = None,
    *,
    mean: float | Sequence[float] | None = None,
    std: float | Sequence[float] | None = None,
) -> Figure:
    """Normalized (N, C, H, W) images in a grid, each with its title; Normalize(mean, std) is undone for display."""
    n = len(titles)
    shown = display_images(images[:n], mean, std)
    rows = max(1, -(-n // cols))
    # Class names make wider titles than digits: a little more room per row keeps them off the images above.
    widest = max((len(line) for title in titles for line in title.splitlines()), default=0)
    fig = Figure(figsize=(1.6 * cols, (1.9 if widest <= 16 else 2.2) * rows))
    axes = fig.subplots(rows, cols, squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        if shown.ndim == 4:
            ax.imshow(shown[i])
        else:
            ax.imshow(shown[i], cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(titles[i], fontsize=9, color=colours[i] if colours else "black")
    fig.tight_layout()
    return fig


def mistake_title(preds: "Predictions", i: int, class_names: Sequence[str] | None = None) -> str:
    """'true 7 / pred 1\n(93%)', or with class names 'true cat\npred dog (93%)'."""
    t, p, conf = int(preds.targets[i]), int(preds.predicted[i]), 100 * float(preds.confidence[i])
    if class_names is None:
        return f"true {t} / pred {p}\n({conf:.0f}%)"
    return f"true {class_names[t]}\npred {class_names[p]} ({conf:.0f}%)"


def gallery(
    preds: Predictions,
    n: int = 16,
    cols: int = 8,
    class_names: Sequence[str] | None = None,
    mean: float | Sequence[float] | None = None,
    std: float | Sequence[float] | None = None,
) -> Figure:
    """A grid of the first n images, each titled 'true 7 / pred 1 (93%)', red where the prediction is wrong.

    class_names puts names in the titles (S8's grid: n=10, cols=5); mean and std undo the data set's Normalize.
    """
    n = min(n, len(preds))
    titles = [mistake_title(preds, i, class_names) for i in range(n)]
    colours = ["tab:red" if preds.targets[i] != preds.predicted[i] else "black" for i in range(n)]
    return image_grid(preds.images[:n], titles, cols, colours, mean=mean, std=std)


def confusion_matrix(
    targets: torch.Tensor, predicted: torch.Tensor, num_classes: int = 10, class_names: Sequence[str] | None = None
) -> torch.Tensor:
    """counts[t, p] = how many images of true class t were predicted as p (class_names, if given, set the count)."""
    if class_names is not None:
        num_classes = len(class_names)
    flat = targets.long() * num_classes + predicted.long()
    return torch.bincount(flat, minlength=num_classes**2).view(num_classes, num_classes)


def _labels(k: int, class_names: Sequence[str] | None) -> list[str]:
    if class_names is None:
        return [str(i) for i in range(k)]
    if len(class_names) != k:
        raise ValueError(f"{len(class_names)} class names for a {k}x{k} confusion matrix; give one name per class")
    return [str(name) for name in class_names]


def format_confusion(counts: torch.Tensor, class_names: Sequence[str] | None = None) -> str:
    """The confusion matrix as a text table: rows are true labels, columns predictions, then per-class recall."""
    k = counts.shape[0]
    labels = _labels(k, class_names)
    col = max(6, *(len(label) + 1 for label in labels))
    row = max(9, *(len(label) for label in labels))
    lines = ["true\\pred".ljust(row) + " " + "".join(f"{label:>{col}}" for label in labels) + "   recall"]
    for t in range(k):
        total = counts[t].sum().item()
        recall = f"{100 * counts[t, t].item() / total:7.2f}%" if total else "      -"
        lines.append(f"{labels[t]:>{row}} " + "".join(f"{c:>{col}}" for c in counts[t].tolist()) + f" {recall}")
    return "\n".join(lines)


def per_class_accuracy(preds: Predictions, class_names: Sequence[str] | None = None) -> dict[str, float]:
    """{class name: percent of its images predicted right}; nan for a class without images."""
    k = len(class_names) if class_names is not None else int(max(preds.targets.max(), preds.predicted.max())) + 1
    counts = confusion_matrix(preds.targets, preds.predicted, k)
    totals = counts.sum(dim=1)
    return {
        label: (100 * counts[i, i].item() / totals[i].item()) if totals[i] else float("nan")
        for i, label in enumerate(_labels(k, class_names))
    }


def plot_confusion(counts: torch.Tensor, class_names: Sequence[str] | None = None) -> Figure:
    """A heat map of the confusion matrix with the count in every cell; the diagonal is what went right."""
    k = counts.shape[0]
    labels = _labels(k, class_names)
    fig = Figure(figsize=(7, 6))
    ax = fig.subplots()
    # Log-ish scale: the diagonal's thousands would otherwise hide the off-diagonal handfuls.
    shown = counts.float().log1p()
    im = ax.imshow(shown.numpy(), cmap="Blues")
    for t in range(k):
        for p in range(k):
            value = counts[t, p].item()
            if value:
                ax.text(
                    p,
                    t,
                    str(value),
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if shown[t, p] > shown.max() / 2 else "black",
                )
    ax.set_xticks(
        range(k), labels, rotation=45 if class_names is not None else 0, ha="right" if class_names else "center"
    )
    ax.set_yticks(range(k), labels)
    ax.set_xlabel("predicted label")
    ax.set_ylabel("true label")
    ax.set_title("Confusion matrix (colour: log count)")
    fig.colorbar(im, ax=ax, label="log(1 + count)")
    fig.tight_layout()
    return fig
