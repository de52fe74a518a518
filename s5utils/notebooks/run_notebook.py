"""Run a notebook with papermill from the command line, printing one line per epoch while it runs (make run).

    python -m s5utils.run_notebook notebooks/S5.ipynb runs/x/S5.ipynb -p epochs 2 -p max_batches 20

The -p values are read as papermill's own command line reads them; see s5utils.notebooks.execute.
"""

import argparse
import sys

from s5utils.notebooks.execute import execute_notebook


def parameter_value(text: str) -> int | float | bool | str | None:
    """A -p value as papermill's command line reads it: int, float, True/False/None, else the string."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"True": True, "False": False, "None": None}.get(text, text)


def main(argv: list[str] | None = None) -> int:
    """`python -m s5utils.run_notebook NOTEBOOK OUTPUT [-p NAME VALUE]...`; 1 if a cell failed."""
    parser = argparse.ArgumentParser(
        prog="python -m s5utils.run_notebook", description=__doc__.split("\n\n")[0], allow_abbrev=False
    )
    parser.add_argument("notebook")
    parser.add_argument("output")
    parser.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="a notebook parameter, as papermill's -p (repeat it)",
    )
    parser.add_argument("-k", "--kernel", help="kernel name (default: the notebook's own)")
    parser.add_argument("--cwd", help="working directory of the kernel (default: this one)")
    args = parser.parse_args(argv)
    parameters = {name: parameter_value(value) for name, value in args.parameter}
    try:
        execute_notebook(args.notebook, args.output, parameters, kernel_name=args.kernel, cwd=args.cwd)
    except Exception as exc:  # papermill's error names the cell; the executed notebook holds the traceback
        first = str(exc).strip().splitlines() or [type(exc).__name__]
        name = getattr(exc, "ename", type(exc).__name__)
        value = getattr(exc, "evalue", first[-1])
        print(
            f"error: the notebook stopped: {name}: {value} (the executed notebook {args.output} shows where)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
