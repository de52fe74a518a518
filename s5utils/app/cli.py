"""`python -m s5utils app RUN_DIR [--host H] [--port P]` and `python -m s5utils app export RUN_DIR OUT`: the parser,
and the function that runs it (gradio is imported only once a run has loaded)."""

import argparse


def add_app_parser(commands) -> argparse.ArgumentParser:
    """The `app` subcommand on the CLI's subparsers."""
    app = commands.add_parser(
        "app",
        allow_abbrev=False,
        help="serve a run's model as a Gradio app (draw a digit), or export it as a Hugging Face Space folder",
        description="python -m s5utils app RUN_DIR serves the run on 127.0.0.1; "
        "python -m s5utils app export RUN_DIR OUT writes a Space folder (a run folder named export: ./export)",
    )
    app.add_argument("paths", nargs="+", metavar="RUN_DIR | export RUN_DIR OUT")
    app.add_argument("--host", help="address to serve on (default: 127.0.0.1, this machine only)")
    app.add_argument("--port", type=int, help="port (default: 7860)")
    app.add_argument("--device", default="auto", help="auto (cuda, then mps, then cpu), cpu, cuda, cuda:N or mps")
    app.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show full tracebacks on errors")
    return app


def run_app_command(args: argparse.Namespace, sub: argparse.ArgumentParser) -> int:
    """Serve the run (until ^C) or export it; bad input raises a one-line error for the CLI to print."""
    if args.paths[0] == "export":
        if len(args.paths) != 3:
            sub.error("export takes RUN_DIR and OUT: python -m s5utils app export RUN_DIR OUT")
        from s5utils.app.export import describe, export_space

        out = export_space(args.paths[1], args.paths[2])
        print(f"Space folder: {out}\n{describe(out)}\nStart it with: cd {out} && python app.py")
        return 0
    if len(args.paths) != 1:
        sub.error(f"one run directory, got {len(args.paths)}: {' '.join(args.paths)}")
    if args.port is not None and not 0 < args.port < 65536:
        sub.error(f"argument --port: a port is 1 to 65535, got {args.port}")
    from s5utils.app.server import serve

    serve(args.paths[0], args.host, args.port, args.device)
    return 0
