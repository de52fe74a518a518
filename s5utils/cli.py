"""`python -m s5utils {data,summary,train}`: provision MNIST, print the model table, train the seed recipe."""
import argparse
import json
import sys

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
        ("--recipe", "recipe", "seed (S5's SGD + StepLR) or fast (OneCycle, 6 epochs; see s5utils/recipes.py)"),
        ("--data-path", "data_path", "tensor (MNIST on the device, batched augmentation), loader (seed DataLoader) "
                                     "or auto (= tensor)"),
        ("--amp", "amp", "autocast: auto (bf16 on CUDA), off, bf16, fp16 (CUDA only)"),
        ("--channels-last", "channels_last", "auto (on except MPS), on or off"),
        ("--compile", "compile", "torch.compile mode: off, default, reduce-overhead, max-autotune"),
    ]:
        train.add_argument(flag, dest=name, metavar=name.upper(),
                           help=f"{help_text} (default: {getattr(DEFAULTS, name)})")
    return parser


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
    tta = json.loads((run_dir / "metrics.json").read_text()).get("final_tta")
    if tta:
        print(f"Test accuracy with test-time augmentation: {tta['test_correct']}/{tta['test_seen']} "
              f"({tta['test_acc']:.2f}%)")
    return 0
