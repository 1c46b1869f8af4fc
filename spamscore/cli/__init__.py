"""Command-line interface: each command parses options, makes one library call, formats the result.

Command modules register themselves on the shared ``app`` when they are imported, and are imported
only when needed: :func:`main` imports the module of the command being run (all of them for
``--help``, no arguments, or a name it does not know), and ``spamscore.cli.app`` (what the tests and
library callers use) imports all of them.  ``spamscore filter`` with plain options does not go through
typer at all (:func:`main`).  Importing this package imports neither typer nor numpy.

An option several commands share is defined once, in ``options.py`` (the eight resource limits as
one decorator); those the filter's fast path parses by hand are plain data in ``option_specs.py``,
which both parsers read.
"""

from __future__ import annotations

import importlib
import sys

# command -> the module that registers it, in the order `spamscore --help` lists them
COMMANDS = {
    "train": "core", "score": "core", "evaluate": "core",
    "check": "check",
    "learn": "learn",
    "filter": "pipeline", "milter": "pipeline",
    "serve": "serve",
    "convert": "convert",
}

__all__ = ["app", "main", "COMMANDS", "load_commands"]


def load_commands(names=None):
    """Import the modules registering ``names`` (every command when None); the typer app."""
    modules = dict.fromkeys(COMMANDS[n] for n in (COMMANDS if names is None else names))
    for module in modules:
        importlib.import_module(f"{__name__}.{module}")
    from ._app import app

    return app


def __getattr__(name: str):
    if name == "app":  # every command registered, as when all were imported up front
        app = load_commands()
        globals()["app"] = app
        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _command_name(args: list[str]) -> str | None:
    """The command ``spamscore ARGS`` runs, if it is one we know and no option comes before it."""
    return args[0] if args and args[0] in COMMANDS else None


def main() -> None:
    """The ``spamscore`` console script.

    ``spamscore filter`` with options spelt plainly (see ``_filter.parse_args``) is parsed here and run
    without importing typer, and with OpenBLAS's thread pool at one thread: a pipe filter runs once
    per message, and of its 0.35 s CPU typer and pydantic took 0.12 s, starting OpenBLAS's threads
    0.05 s (numpy's import: 0.13 s, 0.07 s with one thread; one message's scoring does no BLAS work)
    and the interpreter's teardown 0.02 s (``_filter.exit_now``).
    Anything else goes through typer as before, with only the command's own module imported.
    """
    args = sys.argv[1:]
    name = _command_name(args)
    if name == "filter":
        from . import _filter

        opts = _filter.parse_args(args[1:])
        if opts is not None:
            import os

            os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
            _filter.exit_now(_filter.run_options(**opts))
    load_commands(None if name is None else [name])
    from ._app import main as typer_main

    typer_main()
