"""A run folder as a Hugging Face Space folder: app.py, requirements.txt, README.md with the Space's metadata, the
model's weights, its record and plot, example digits and its mistakes; `python app.py` in it serves the app."""

import os
import shutil
from pathlib import Path

from s5utils.app.loading import MODEL_NAME, load_run
from s5utils.app.testset import (
    EXAMPLES_DIR,
    MISTAKES_FILE,
    find_mistakes,
    mnist_test_digits,
    save_mistakes,
    write_examples,
)
from s5utils.atomic import atomic_save, write_json_atomic
from s5utils.version import __version__

APP_PY = '''"""The Gradio app of the run in this folder (made by `python -m s5utils app export`): python app.py"""

from pathlib import Path

from s5utils.app.server import serve

if __name__ == "__main__":
    # Host and port from $GRADIO_SERVER_NAME and $GRADIO_SERVER_PORT (a Space sets them), else 127.0.0.1:7860.
    serve(Path(__file__).resolve().parent)
'''

README = """---
title: {title}
emoji: ✍️
colorFrom: gray
colorTo: blue
sdk: gradio
sdk_version: {gradio}
python_version: "3.11"
app_file: app.py
pinned: false
license: mit
short_description: An MNIST digit classifier trained with s5utils
---

# {title}

`{model}` trained with s5utils {version} ({recipe} recipe, {epochs} epoch(s), test accuracy {accuracy}).
Draw a digit or upload a picture of one; the app shows the top classes, GradCAM and the run's mistakes.

Run it here: `pip install -r requirements.txt && python app.py`, then open http://127.0.0.1:7860.
As a Space: push this folder to a new Gradio Space. If s5utils is not on the Space's package index, replace the
first line of requirements.txt with `s5utils[app] @ git+https://github.com/ORG/NAME@REF` (the kit's repository).

The API: `gradio_client.Client(url).predict(handle_file("digit.png"), api_name="/predict")`.
"""


class ExportError(ValueError):
    """The Space folder cannot be written where asked."""


def requirements() -> str:
    """requirements.txt: s5utils at this version with its app extra (gradio, grad-cam), which brings the rest."""
    return f"s5utils[app]=={__version__}\n"


def export_space(run_dir: str | os.PathLike, out: str | os.PathLike) -> Path:
    """Write the Space folder of run_dir into out (new or empty); returns out."""
    import gradio

    out = Path(out).expanduser()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExportError(f"{out} exists and is not an empty folder; pass a new folder for the Space")
    run = load_run(run_dir, device="cpu")  # refuses a run that cannot be served, before anything is written
    out.mkdir(parents=True, exist_ok=True)
    atomic_save(run.model.state_dict(), out / MODEL_NAME)  # the weights only, also from an unfinished run's checkpoint
    module, name = run.model_class.split(":")
    write_json_atomic(out / "metrics.json", {**run.record, "model": {"class": name, "module": module}})
    if (run.run_dir / "training_plot.png").is_file():
        shutil.copy2(run.run_dir / "training_plot.png", out / "training_plot.png")
    digits = mnist_test_digits(run.data_root)
    if digits is not None:
        write_examples(*digits, out / EXAMPLES_DIR)
        save_mistakes(find_mistakes(run, *digits), out / MISTAKES_FILE)
    (out / "app.py").write_text(APP_PY)
    (out / "requirements.txt").write_text(requirements())
    final = run.history[-1] if run.history else {}
    (out / "README.md").write_text(
        README.format(
            title=f"MNIST {run.run_dir.name}"[:60],
            gradio=gradio.__version__,
            model=run.model_class,
            version=__version__,
            recipe=run.record.get("config", {}).get("recipe", "unknown"),
            epochs=len(run.history),
            accuracy=f"{final['test_acc']:.2f} %" if "test_acc" in final else "not recorded",
        )
    )
    return out


def describe(out: Path) -> str:
    """The Space folder's files, one per line (the examples as one line), for the command's report."""
    files = [p for p in sorted(out.rglob("*")) if p.is_file() and p.parent.name != EXAMPLES_DIR]
    lines = [f"  {p.relative_to(out)}" for p in files]
    examples = list((out / EXAMPLES_DIR).glob("*.png"))
    return "\n".join(lines + ([f"  {EXAMPLES_DIR}/ ({len(examples)} test-set digits)"] if examples else []))
