"""The Gradio Blocks app of a loaded run: draw or upload a digit, its top k classes, GradCAM, the run's mistakes, its
curves; and serve(), which checks the port, loads the run and starts the server.

The stable API: the upload box's endpoint is api_name="/predict" (an image in, a gr.Label's value out:
{"label": "7", "confidences": [{"label": "7", "confidence": 0.98}, ...]}), top 3 unless k is given.
"""

import os
import socket
import tempfile
import threading

import numpy as np

from s5utils.app.inference import enlarge, gradcam_overlay, probabilities, top_k
from s5utils.app.loading import LoadedRun, load_run, model_file
from s5utils.app.preprocess import EmptyImageError, mnist_like
from s5utils.app.testset import (
    EXAMPLES_DIR,
    MISTAKES_FILE,
    Mistakes,
    find_mistakes,
    load_mistakes,
    mnist_test_digits,
    write_examples,
)

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 7860
INPUT_SHAPE = (1, 28, 28)


class AppError(ValueError):
    """The app cannot start (the port is taken, gradio is missing); one line says how to fix it."""


def check_port(host: str, port: int) -> None:
    """AppError if host:port cannot be bound (in use, or not an address of this machine)."""
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError as exc:
            raise AppError(f"cannot serve on {host}:{port} ({exc.strerror or exc}); pick another with --port") from None


class RunPictures:
    """The examples and mistakes the app shows, from the run folder's own files (an exported Space) or else from
    the MNIST test set the run trained with; mistakes are found on first use, once."""

    def __init__(self, run: LoadedRun) -> None:
        self.run, self._lock, self._mistakes = run, threading.Lock(), None
        self._tmp = tempfile.TemporaryDirectory(prefix="s5utils-app-")
        own = sorted((run.run_dir / EXAMPLES_DIR).glob("digit-*.png"))
        self.digits = None if own and (run.run_dir / MISTAKES_FILE).is_file() else mnist_test_digits(run.data_root)
        self.examples = own or ([] if self.digits is None else write_examples(*self.digits, self._tmp.name))

    def mistakes(self) -> tuple[Mistakes, int] | None:
        """(mistakes, how many in all), or None where neither the files nor the test set are here."""
        with self._lock:
            if self._mistakes is None:
                if (self.run.run_dir / MISTAKES_FILE).is_file():
                    self._mistakes = load_mistakes(self.run.run_dir / MISTAKES_FILE)
                elif self.digits is not None:
                    found = find_mistakes(self.run, *self.digits)
                    self._mistakes = (found, len(found.targets))
            return self._mistakes


def run_summary(run: LoadedRun) -> str:
    """The run's final metrics as a Markdown table."""
    record, final = run.record, (run.history[-1] if run.history else {})
    rows = [
        ("model", f"`{run.model_class}` from `{run.model_file.name}`"),
        ("status", record.get("status", "unknown")),
        ("recipe", record.get("config", {}).get("recipe", "unknown")),
        ("epochs", len(run.history)),
        ("test accuracy", f"{final['test_acc']:.2f} %" if "test_acc" in final else "not recorded"),
        ("test loss", f"{final['test_loss']:.4f}" if "test_loss" in final else "not recorded"),
        ("served on", f"{run.device} ({'float32' if run.amp_dtype is None else str(run.amp_dtype)[6:]})"),
    ]
    return "| | |\n|---|---|\n" + "\n".join(f"| {name} | {value} |" for name, value in rows)


def build_app(run: LoadedRun):
    """The gr.Blocks app of a loaded run (not launched)."""
    import gradio as gr

    from s5utils.study.gradcam import cam_layers

    pictures = RunPictures(run)
    layers = [name for name, _ in cam_layers(run.model, INPUT_SHAPE)]

    def digit_of(image) -> np.ndarray | None:
        try:
            return mnist_like(image)
        except EmptyImageError:
            return None

    def classify(image, k=3):
        """An image in, its top k classes out (the /predict endpoint)."""
        digit = digit_of(image)
        return None if digit is None else top_k(probabilities(run, digit), k)

    def look(image, cam_on, layer, opacity):
        """What the network sees (28x28, enlarged) and, when asked, GradCAM over it."""
        digit = digit_of(image)
        if digit is None:
            return None, None, None
        seen = enlarge((255 * (1 - digit)).astype(np.uint8))
        cam = enlarge(gradcam_overlay(run, digit, layer, opacity)) if cam_on and layer else None
        return seen, cam, digit

    def redraw_cam(digit, cam_on, layer, opacity):
        if digit is None or not cam_on or not layer:
            return None
        return enlarge(gradcam_overlay(run, digit, layer, opacity))

    def rank(digit, k):
        return None if digit is None else top_k(probabilities(run, digit), k)

    def show_mistakes(count):
        found = pictures.mistakes()
        if found is None:
            return "The MNIST test set is not on this machine, so the run's mistakes cannot be shown.", []
        mistakes, made = found
        n = min(int(count), len(mistakes.targets))
        line = f"{made} of {mistakes.total} test images misclassified; the {n} most confident mistakes:"
        captions = mistakes.captions()[:n]
        return line, [(enlarge(im, 4), caption) for im, caption in zip(mistakes.images[:n], captions, strict=True)]

    private = dict(api_visibility="private")
    with gr.Blocks(title=f"s5utils app: {run.run_dir.name}") as demo:
        gr.Markdown(f"## {run.run_dir.name}\nDraw a digit or upload a picture of one; the run's model answers.")
        digit = gr.State(None)
        with gr.Row():
            with gr.Column():
                with gr.Tab("Draw"):
                    sketch = gr.Sketchpad(
                        type="numpy",
                        image_mode="RGBA",
                        canvas_size=(280, 280),
                        brush=gr.Brush(default_size=18, colors=["#000000"], color_mode="fixed"),
                        label="Draw a digit",
                        elem_id="sketchpad",
                    )
                with gr.Tab("Upload"):
                    upload = gr.Image(type="numpy", image_mode=None, label="A picture of a digit", elem_id="upload")
                    if pictures.examples:
                        gr.Examples([[str(p)] for p in pictures.examples], inputs=upload, label="Test-set digits")
                k = gr.Slider(1, 10, value=3, step=1, label="Top k classes")
            with gr.Column():
                label = gr.Label(num_top_classes=10, label="Prediction", elem_id="prediction")
                with gr.Row():
                    seen = gr.Image(label="What the network sees (28x28)", interactive=False, height=224)
                    cam = gr.Image(label="GradCAM", interactive=False, height=224)
                with gr.Row():
                    cam_on = gr.Checkbox(value=bool(layers), label="GradCAM", interactive=bool(layers))
                    layer = gr.Dropdown(layers, value=layers[-1] if layers else None, label="Layer (>= 5x5 px)")
                    opacity = gr.Slider(0, 1, value=0.5, step=0.05, label="Opacity")
        with gr.Tab("Mistakes"):
            count = gr.Slider(1, 64, value=16, step=1, label="How many")
            mistakes_line = gr.Markdown()
            gallery = gr.Gallery(columns=8, label="Misclassified test images", height="auto")
        with gr.Tab("The run"):
            plot = run.run_dir / "training_plot.png"
            if plot.is_file():
                gr.Image(str(plot), label="Training curves", interactive=False)
            gr.Markdown(run_summary(run))

        upload.change(classify, [upload, k], label, api_name="predict").then(
            look, [upload, cam_on, layer, opacity], [seen, cam, digit], **private
        )
        sketch.change(classify, [sketch, k], label, **private).then(
            look, [sketch, cam_on, layer, opacity], [seen, cam, digit], **private
        )
        k.change(rank, [digit, k], label, **private)
        for control in (cam_on, layer, opacity):
            control.change(redraw_cam, [digit, cam_on, layer, opacity], cam, **private)
        demo.load(show_mistakes, count, [mistakes_line, gallery], **private)
        count.change(show_mistakes, count, [mistakes_line, gallery], **private)
    demo.pictures = pictures  # keeps the examples' folder alive as long as the app
    return demo


def serve(run_dir: str | os.PathLike, host: str | None = None, port: int | None = None, device: str = "auto"):
    """Load the run and serve its app until interrupted; host and port default to $GRADIO_SERVER_NAME and
    $GRADIO_SERVER_PORT (what a Hugging Face Space sets), else 127.0.0.1:7860."""
    host = host or os.environ.get("GRADIO_SERVER_NAME", DEFAULT_HOST)
    port = int(port or os.environ.get("GRADIO_SERVER_PORT", DEFAULT_PORT))
    model_file(run_dir)  # a wrong folder is named before a busy port
    check_port(host, port)
    run = load_run(run_dir, device)
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    try:
        import gradio  # noqa: F401
    except ImportError:
        raise AppError("the app needs gradio: pip install 's5utils[app]'") from None
    demo = build_app(run)
    print(f"Serving {run.run_dir} ({run.model_class}) at http://{host}:{port}", flush=True)
    demo.launch(server_name=host, server_port=port, ssr_mode=False, show_error=True, quiet=True)
