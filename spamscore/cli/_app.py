"""The typer application and the error boundary shared by every command."""

from __future__ import annotations

import functools
import sys

import typer

from ..errors import SpamscoreError

app = typer.Typer(
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


class _NoBar:
    def __init__(self, it):
        self.it = it

    def __enter__(self):
        return self.it

    def __exit__(self, *exc):
        return False


def main() -> None:
    global _OWN_PROCESS
    _OWN_PROCESS = True
    app()
