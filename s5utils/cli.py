"""`python -m s5utils {data,summary,train,resume,sweep,app}`: provision MNIST, print the model table, train or resume
a run, sweep the notebook over a grid, serve a run as an app."""

import argparse
import difflib
import json
import sys

from s5utils.app.cli import add_app_parser
from s5utils.config import RECIPE_DEFAULTS, RESUMABLE, ConfigError, TrainConfig, make_config
from s5utils.sweep.cli import add_sweep_parser, run_sweep_command

DEFAULTS = TrainConfig()


def default_text(name: str) -> str:
    """A flag's default for --help; epochs, batch size, lr and momentum depend on the recipe."""
    if name in RECIPE_DEFAULTS["seed"]:
        return "the recipe's own: " + ", ".join(
            f"{recipe} {values[name]}" for recipe, values in RECIPE_DEFAULTS.items()
        )
    return str(getattr(DEFAULTS, name))


TRAIN_FLAGS = [  # (flag, config name, help)
    ("--epochs", "epochs", "training epochs"),
    ("--batch-size", "batch_size", "images per batch"),
    ("--lr", "lr", "SGD learning rate; for fast, the OneCycle peak"),
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
    (
        "--data-path",
        "data_path",
        "tensor (MNIST on the device, batched augmentation), loader (seed DataLoader) or auto (= tensor)",
    ),
    (
        "--amp",
        "amp",
        "autocast: auto (CUDA: bf16 from compute capability 8.0, fp16 on 7.x, else off; CPU: bf16 "
        "with AMX or AVX512_BF16, else off; MPS: off), off, bf16, fp16 (CUDA only)",
    ),
    ("--channels-last", "channels_last", "auto (on except MPS), on or off"),
    ("--compile", "compile", "torch.compile mode: off, default, reduce-overhead, max-autotune"),
    (
        "--checkpoint-seconds",
        "checkpoint_seconds",
        "also checkpoint inside an epoch every N seconds, for cluster jobs shorter than an epoch",
    ),
]
RESUME_FLAGS = [f for f in TRAIN_FLAGS if f[1] in RESUMABLE]


class Parser(argparse.ArgumentParser):
    """argparse that reports a mistake in one line, without the usage block."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="python -m s5utils", description=__doc__, allow_abbrev=False)
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)
    debug = dict(action="store_true", default=argparse.SUPPRESS, help="show full tracebacks on errors")

    data = commands.add_parser("data", help="provision MNIST and verify its md5s")
    data.add_argument("--root", help="data folder (default: $S5UTILS_DATA or ~/.cache/s5utils/data)")
    data.add_argument("--debug", **debug)

    commands.add_parser("summary", help="print the seed network's layer table").add_argument("--debug", **debug)

    train = commands.add_parser(
        "train",
        allow_abbrev=False,  # so --epoch is an error, not --epochs
        help="train Net with the seed recipe and record a new run directory",
    )
    # Values stay strings here: make_config() is the one validator for every entry point.
    for flag, name, help_text in TRAIN_FLAGS:
        train.add_argument(flag, dest=name, metavar=name.upper(), help=f"{help_text} (default: {default_text(name)})")
    train.add_argument(
        "--deterministic",
        action="store_const",
        const="true",
        help="CUDA: deterministic kernels (torch.use_deterministic_algorithms), slower",
    )
    train.add_argument("--run-dir", help="exact run directory instead of a new one under --out")
    train.add_argument("--overwrite", action="store_true", help="allow --run-dir to replace an existing run")
    train.add_argument("--debug", **debug)

    resume = commands.add_parser(
        "resume", allow_abbrev=False, help="continue a run from its checkpoint.pt, bit for bit"
    )
    resume.add_argument("run_dir", metavar="RUN_DIR", help="the run directory (or its checkpoint.pt)")
    for flag, name, help_text in RESUME_FLAGS:
        resume.add_argument(flag, dest=name, metavar=name.upper(), help=f"{help_text} (default: the run's own)")
    resume.add_argument("--debug", **debug)
    sweep = add_sweep_parser(commands, default_text)
    app = add_app_parser(commands)
    parser.commands = {"data": data, "train": train, "resume": resume, "sweep": sweep, "app": app}
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    sub = parser.commands.get(args.command, parser)
    if extra:
        sub.error(_unrecognized(sub, extra))
    try:
        return _run(args, sub)
    except ConfigError as exc:
        if args.debug:
            raise
        flag = f"argument --{exc.name.replace('_', '-')}: " if exc.name else ""
        sub.error(f"{flag}{exc}")
    except KeyboardInterrupt:
        if args.debug:
            raise
        if args.command not in ("train", "resume"):  # those already said what was kept and how to resume
            print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a student gets one line; --debug shows the traceback
        if args.debug:
            raise
        known = type(exc).__module__.startswith("s5utils") or isinstance(exc, (OSError, ValueError))
        first = (str(exc).splitlines() or [""])[0]
        print(
            f"error: {exc}" if known else f"error: {type(exc).__name__}: {first} (--debug shows the traceback)",
            file=sys.stderr,
        )
        return 1


def _unrecognized(sub: argparse.ArgumentParser, extra: list[str]) -> str:
    flags = [opt for action in sub._actions for opt in action.option_strings]
    word = extra[0].split("=")[0]
    close = difflib.get_close_matches(word, flags, n=1) if word.startswith("-") else []
    return f"unrecognized arguments: {' '.join(extra)}" + (f"; did you mean {close[0]}?" if close else "")


def _run(args: argparse.Namespace, sub: argparse.ArgumentParser) -> int:
    if args.command == "data":
        from s5utils.data.mnist import default_data_root
        from s5utils.data.provision import provision_mnist

        root = args.root or default_data_root()
        print(provision_mnist(root, repair=True))
        return 0
    if args.command == "sweep":
        return run_sweep_command(args, sub)
    if args.command == "app":
        from s5utils.app.cli import run_app_command

        return run_app_command(args, sub)
    if args.command == "summary":
        from s5utils.models import Net
        from s5utils.study.summary import summary

        summary(Net())
        return 0

    from s5utils.runs.recipe_runner import resume_run, run_recipe

    names = [name for _, name, _ in (RESUME_FLAGS if args.command == "resume" else TRAIN_FLAGS)]
    overrides = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
    if args.command == "resume":
        run_dir, history = resume_run(args.run_dir, **overrides)
    else:
        if args.deterministic:
            overrides["deterministic"] = args.deterministic
        if args.overwrite and not args.run_dir:
            sub.error("--overwrite needs --run-dir: a new run under --out never overwrites anything")
        run_dir, history = run_recipe(make_config(**overrides), args.run_dir, overwrite=args.overwrite)
    print(f"Run directory: {run_dir} (test accuracy {history[-1]['test_acc']:.2f}%)")
    tta = json.loads((run_dir / "metrics.json").read_text()).get("final_tta")
    if tta:
        print(
            f"Test accuracy with test-time augmentation: {tta['test_correct']}/{tta['test_seen']} "
            f"({tta['test_acc']:.2f}%)"
        )
    return 0
