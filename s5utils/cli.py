"""`python -m s5utils {data,summary,train,sweep}`: provision MNIST, print the model table, train the seed recipe,
sweep the notebook over a grid."""
import argparse
import dataclasses
import sys
from pathlib import Path

from .config import ConfigError, TrainConfig, make_config
from .device import get_device
from .provision import DataError

DEFAULTS = TrainConfig()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m s5utils", description=__doc__, allow_abbrev=False)
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    data = commands.add_parser("data", help="provision MNIST and verify its md5s")
    data.add_argument("--root", help="data folder (default: $S5UTILS_DATA or ~/.cache/s5utils/data)")

    commands.add_parser("summary", help="print the seed network's layer table")

    train = commands.add_parser("train", allow_abbrev=False,  # so --epoch is an error, not --epochs
                                  help="train Net with the seed recipe and record a run directory")
    # Values stay strings here: make_config() is the one validator for every entry point.
    for flag, name, help_text in [
        ("--epochs", "epochs", "training epochs"),
        ("--batch-size", "batch_size", "images per batch"),
        ("--lr", "lr", "SGD learning rate"),
        ("--momentum", "momentum", "SGD momentum"),
        ("--step-size", "step_size", "StepLR: epochs between decays"),
        ("--gamma", "gamma", "StepLR: decay factor"),
        ("--seed", "seed", "random seed"),
        ("--device", "device", "auto, cpu, cuda, cuda:N or mps"),
        ("--num-workers", "num_workers", "DataLoader worker processes"),
        ("--max-batches", "max_batches", "stop each epoch after N batches (smoke runs)"),
        ("--data-root", "data_root", "data folder"),
        ("--out", "out_dir", "folder that receives the new run directory"),
    ]:
        train.add_argument(flag, dest=name, metavar=name.upper(),
                           help=f"{help_text} (default: {getattr(DEFAULTS, name)})")
    add_sweep_parser(commands)
    return parser


def add_sweep_parser(commands) -> None:
    """`sweep`: run the notebook once per combination of the listed values."""
    sweep = commands.add_parser("sweep", allow_abbrev=False,
                                help="execute notebooks/S5.ipynb with papermill over a grid of parameters")
    for field in dataclasses.fields(TrainConfig):
        flag = "--out" if field.name == "out_dir" else "--" + field.name.replace("_", "-")   # as in `train`
        sweep.add_argument(flag, dest=field.name, nargs="+", metavar=field.name.upper(),
                           help=f"one or more values (default: {getattr(DEFAULTS, field.name)})")
    sweep.add_argument("--notebook", help="the notebook to run (default: notebooks/S5.ipynb of this checkout)")


def run_sweep_command(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Validate the grid, run it, print where the table and plot are; 1 if any run failed."""
    from .sweep import sweep

    names = [f.name for f in dataclasses.fields(TrainConfig)]
    given = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
    for name in ("data_root", "out_dir"):   # the notebooks run in their own folders: pin paths to this cwd
        if name in given:
            given[name] = [str(Path(v).expanduser().resolve()) for v in given[name]]
    out_dir = given.pop("out_dir", [DEFAULTS.out_dir])
    if len(out_dir) > 1:
        parser.error("argument --out: give one folder")
    axes = {name: values for name, values in given.items() if len(values) > 1}
    fixed = {name: values[0] for name, values in given.items() if len(values) == 1}
    try:
        folder, rows = sweep(axes, fixed, out_dir[0], args.notebook)
    except ConfigError as exc:
        parser.error(f"argument --{str(exc).split()[0].replace('_', '-')}: {exc}")
    failed = sum(row["status"] != "completed" for row in rows)
    print(f"Sweep: {len(rows) - failed} of {len(rows)} runs completed; table {folder / 'results.md'}, "
          f"plot {folder / 'test_accuracy.png'}")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _run(args, parser)
    except (DataError, ValueError, OSError) as exc:
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        if args.debug:
            raise
        print("interrupted: the run directory keeps every finished epoch", file=sys.stderr)
        return 130


def _run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.command == "data":
        from .data import default_data_root
        from .provision import provision_mnist

        root = args.root or default_data_root()
        print(provision_mnist(root, repair=True))
        return 0
    if args.command == "sweep":
        return run_sweep_command(args, parser)
    if args.command == "summary":
        from .models import Net
        from .summary import summary

        summary(Net())
        return 0

    overrides = {k: v for k, v in vars(args).items() if k not in ("command", "debug") and v is not None}
    try:
        config = make_config(**overrides)
        get_device(config.device)
    except ConfigError as exc:
        parser.error(f"argument --{str(exc).split()[0].replace('_', '-')}: {exc}")
    except ValueError as exc:
        parser.error(f"argument --device: {exc}")
    from .experiment import run_seed_recipe

    run_dir, history = run_seed_recipe(config)
    print(f"Run directory: {run_dir} (test accuracy {history[-1]['test_acc']:.2f}%)")
    return 0
