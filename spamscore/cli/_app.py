"""The typer application and the error boundary shared by every command."""

from __future__ import annotations

import difflib
import functools
import os
import sys
import time

import typer
from typer.core import TyperGroup

from ..errors import SpamscoreError

# Click's exceptions, from the Click that Typer runs on: recent Typer releases vendor it
# (typer._click), older ones use the click package.
try:
    from typer._click import exceptions as _click
except ImportError:  # pragma: no cover - Typer before the vendored Click
    from click import exceptions as _click


def usage_line(exc) -> str:
    """A usage error as the one line every other error is: ``no such option --fromat (did you mean --format?)``."""
    if isinstance(exc, _click.NoSuchOption):
        hint = f" (did you mean {exc.possibilities[0]}?)" if exc.possibilities else ""
        return f"no such option {exc.option_name}{hint}"
    message = exc.format_message().strip()
    if message.startswith("No such command") and exc.ctx is not None and hasattr(exc.ctx.command, "commands"):
        name = message.split("'")[1] if message.count("'") >= 2 else ""
        close = difflib.get_close_matches(name, list(exc.ctx.command.commands), 1)
        return f"no such command {name}" + (f" (did you mean {close[0]}?)" if close else "")
    message = " ".join(message.split()).replace(": Value error, ", ": ")  # one line; pydantic's prefix
    if message[:1].isupper() and not message[1:2].isupper():
        message = message[0].lower() + message[1:]
    return message.rstrip(".")


class _OneLineErrors(TyperGroup):
    """Click's usage errors (unknown option, missing value...) as one line and exit code 2.

    Typer prints them in a five-line boxed panel; the README promises one
    line for every error.  Here, not in :func:`main`, so that ``CliRunner``
    tests see what a user sees.  Help (``--help``, or no arguments at all)
    is shown as before.
    """

    def list_commands(self, ctx) -> list[str]:
        """The commands in ``spamscore.cli.COMMANDS``'s order, whichever module was imported first
        (they register when imported, and only the one being run is imported by ``main``)."""
        from . import COMMANDS

        order = {name: i for i, name in enumerate(COMMANDS)}
        names = super().list_commands(ctx)
        return sorted(names, key=lambda n: (order.get(n, len(order)), names.index(n)))

    def main(self, *args, standalone_mode: bool = True, **kwargs):
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            rv = super().main(*args, standalone_mode=False, **kwargs)
        except getattr(_click, "NoArgsIsHelpError", ()) as exc:  # bare `spamscore`: the help, as Typer shows it
            try:
                from typer import rich_utils

                rich_utils.rich_format_error(exc)
            except ImportError:  # Typer without rich
                exc.show()
            sys.exit(exc.exit_code)
        except _click.UsageError as exc:
            typer.echo(f"spamscore: error: {usage_line(exc)}", err=True)
            sys.exit(exc.exit_code)
        except _click.ClickException as exc:
            typer.echo(f"spamscore: error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except (getattr(_click, "Abort", typer.Abort), typer.Abort):
            typer.echo("Aborted!", err=True)
            sys.exit(1)
        # without standalone mode a command's typer.Exit(code) comes back as its code; success as None
        sys.exit(rv if isinstance(rv, int) else 0)


app = typer.Typer(
    cls=_OneLineErrors,
    name="spamscore",
    help="A Bayesian spam filter and scoring engine that says why a message scored as it did.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def fail(message: str, code: int = 2) -> "typer.Exit":
    """Print a one-line error to stderr and return the Exit to raise."""
    typer.echo(f"spamscore: error: {message}", err=True)
    return typer.Exit(code)


def cli_errors(fn):
    """Library errors become a one-line message and exit code 2 (at the CLI edge only)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except SpamscoreError as exc:
            raise fail(str(exc)) from None
        except BrokenPipeError:  # `spamscore score ... | head`
            sys.stderr.close()
            raise typer.Exit(0) from None

    return wrapper


def settle(model):
    """Ready a loaded model for a long run: build its lookup tables now (scoring an empty
    message), then ``gc.freeze()`` what the process holds so far.

    The model's vocabulary (a list of 200,000 str) and the imported modules
    live as long as the process; the garbage collector's full collections
    walked all of them, touching each object's memory (about 30 ms a
    collection, cache misses mostly).  Frozen, they are left out.  For the
    commands that score many messages in one process (score, evaluate,
    milter), when the process is the command's own (:func:`main`): a
    library caller, or a test calling ``app`` in its process, decides for
    its own process.
    """
    import gc

    model.score(b"", 0)
    if _OWN_PROCESS:
        gc.freeze()
    return model


_OWN_PROCESS = False  # set by main(): the process runs one spamscore command, then exits


def progress(iterable, length: int | None, label: str):
    """A progress bar on a terminal, nothing otherwise."""
    if sys.stderr.isatty():
        return typer.progressbar(iterable, length=length, label=label, file=sys.stderr)
    return _NoBar(iterable)


class Stages:
    """A line per stage of a long command (``on_stage`` of :func:`spamscore.batch.train_items`).

    On a terminal, "NAME ..." when a stage starts, completed in place by its
    summary when it ends; otherwise (a log, a pipe) one summary line per
    stage.  On stderr, so the command's own output stays clean.
    """

    def __init__(self, file=None):
        self.file = file or sys.stderr
        self.tty = self.file.isatty()
        self.t0: dict[str, float] = {}

    def __call__(self, name: str, summary: str | None) -> None:
        if summary is None:
            self.t0[name] = time.perf_counter()
            if self.tty:
                self.file.write(f"{name} ...")
                self.file.flush()
            return
        line = f"{name}: {summary}"
        self.file.write(("\r\x1b[K" if self.tty else "") + line + "\n")
        self.file.flush()

    def run(self, name: str, fn, describe=lambda result, seconds: f"in {seconds:.1f}s"):
        """``fn()`` as one stage; ``describe(result, seconds)`` is its summary."""
        self(name, None)
        t0 = time.perf_counter()
        result = fn()
        self(name, describe(result, time.perf_counter() - t0))
        return result


MAX_LISTED = 10  # unreadable files named one by one; the rest are counted


def report_unreadable(errors, total: int | None = None, kind: str = "warning") -> None:
    """Name the first :data:`MAX_LISTED` unreadable files, then one line for the rest."""
    for path, err in errors[:MAX_LISTED]:
        typer.echo(f"spamscore: {kind}: {path}: {err}", err=True)
    if len(errors) > MAX_LISTED:
        of = f" of {total:,}" if total else ""
        typer.echo(f"spamscore: {kind}: ... {len(errors) - MAX_LISTED:,} more unreadable "
                   f"({len(errors):,}{of} in all)", err=True)


def load_cli_model(path, **kwargs):
    """:func:`spamscore.scoring.load_model`, naming ``$SPAMSCORE_MODEL`` when it is what points nowhere."""
    from ..scoring import load_model

    env = os.environ.get("SPAMSCORE_MODEL")
    if path is None and env and not os.path.exists(env):
        raise fail(f"SPAMSCORE_MODEL points at {env}, which does not exist")
    return load_model(path, **kwargs)


class _NoBar:
    def __init__(self, it):
        self.it = it

    def __enter__(self):
        return self.it

    def __exit__(self, *exc):
        return False


def _model_header(path) -> dict:
    """The JSON header of a model file, read alone (no vocabulary or counts inflated), never executing code."""
    from ..model import read_header  # (either format)

    return read_header(path)


def version_text() -> str:
    """What ``spamscore --version`` prints: the package, feature and model format versions, and the
    default model's own (the feature version it was trained with and when), which must match to load."""
    import platform

    from .. import __version__
    from ..features import FEATURE_VERSION
    from ..model import FORMAT_VERSION
    from ..scoring import default_model_path

    lines = [f"spamscore {__version__}", f"feature version {FEATURE_VERSION}", f"model format version {FORMAT_VERSION}"]
    path = default_model_path()
    try:
        header = _model_header(path)
        lines.append(f"default model {path}: format version {header.get('format_version')}, "
                     f"feature version {header.get('feature_version')}, trained {header.get('trained_at', 'unknown')}")
    except Exception as exc:  # --version reports a missing or damaged model, it never fails on one
        lines.append(f"default model {path}: unreadable ({exc.__class__.__name__}: {exc})")
    try:
        from .._native import STATUS

        loaded = sum(v == "loaded" for v in STATUS.values())
        lines.append(f"compiled helpers: {loaded} of {len(STATUS)} loaded"
                     + "".join(f"; {k} {v}" for k, v in sorted(STATUS.items()) if v != "loaded"))
    except ImportError:
        pass
    lines.append(f"Python {platform.python_version()} ({platform.python_implementation()})")
    return "\n".join(lines)


def _version(value: bool) -> None:
    if value:
        typer.echo(version_text())
        raise typer.Exit(0)


@app.callback()
def _options(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                          help="Print the package, feature and model versions and exit.")) -> None:
    """A Bayesian spam filter and scoring engine that says why a message scored as it did."""


def main() -> None:
    global _OWN_PROCESS
    _OWN_PROCESS = True
    app()
