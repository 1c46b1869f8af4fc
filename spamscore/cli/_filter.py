"""`spamscore filter`'s work, shared by its typer command and the fast path in :func:`spamscore.cli.main`.

No typer here: a procmail or Sieve user runs ``spamscore filter`` once per message, and typer
(with the pydantic it builds every option's parser from) was 0.12 s of the 0.35 s CPU that run took
(benchmarks/results/startup.md).  Both entry points call :func:`run`, so the bytes written, the
messages on stderr and the exit code are the same whichever parsed the options
(tests/test_cli_startup.py runs every option combination through both).
"""

from __future__ import annotations

import os
import re
import sys

from ..message import Limits
from .option_specs import FILTER


def echo_err(message: str) -> None:
    """One line on stderr through ``typer.echo``, as the typer command writes it (imported on the
    error paths only: a message that scores cleanly never pays for typer)."""
    from typer import echo

    echo(message, err=True)


def loader(model, trusted, max_size: int):
    """A callable loading the model, so that ``filter_message`` catches its errors too."""
    from ..scoring import load_model

    return lambda: load_model(model, trusted_authserv_ids=trusted or (), limits=Limits(max_bytes=max_size))


def run(read_stdin, load, *, tag_subject: str | None, exit_code: bool, timeout: float) -> int:
    """Read the message, score and mark it, write it out; the exit code (the process ends here on a
    scoring timeout, without waiting for the abandoned scoring thread)."""
    from ..serve.pipe import EXIT_ERROR, filter_message

    try:
        raw = read_stdin()
    except (OSError, ValueError) as exc:
        echo_err(f"spamscore: error: cannot read the message on stdin: {exc}")
        return EXIT_ERROR
    result = filter_message(raw, load, subject_tag=tag_subject, timeout=timeout or None)
    code = result.exit_code(bogofilter=exit_code)
    try:
        out = sys.stdout.buffer
        out.write(result.output)
        out.flush()
    except BrokenPipeError:
        echo_err("spamscore: error: stdout closed before the message was written")
        code = EXIT_ERROR
    except OSError as exc:
        echo_err(f"spamscore: error: cannot write the message: {exc}")
        code = EXIT_ERROR
    if result.error is not None:
        echo_err(f"spamscore: error: message passed through unmarked: {result.error}")
    if result.timed_out:  # a scoring thread is still running: leave without waiting for it
        sys.stderr.flush()
        os._exit(code)
    return code


def exit_now(code: int) -> None:
    """End the process with ``code`` once stdout and stderr are flushed, without the interpreter's
    teardown: freeing numpy's and the package's modules one by one took 22 ms of the fast path's
    0.165 s CPU (benchmarks/startup.py's machine), for a process that is ending anyway.  Nothing on
    the filter's path registers ``atexit`` work (the scoring thread is a daemon; the model's mapping
    goes with the process).  If a flush fails, the interpreter's own exit reports it as it would have.
    """
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:  # noqa: BLE001 - exactly as a normal exit: the interpreter flushes and reports
        sys.exit(code)
    os._exit(code)


# -- the fast path's option parser ------------------------------------------------------------------
# Only the plainest spellings are taken here; anything else (--help, a misspelt or unknown option,
# a value out of range or spelt another way typer would accept, such as "1_024" or " 5") returns
# None and the command goes through typer, which parses it or reports it exactly as before.  The
# spellings, defaults and bounds are the typer command's own (option_specs.FILTER, which both read).
_INT = re.compile(r"[1-9][0-9]{0,17}")
_FLOAT = re.compile(r"(?:0|[1-9][0-9]{0,8})(?:\.[0-9]{1,9})?")
FLAGS = {flag: key for key, spec in FILTER.items() if spec.default is False for flag in spec.flags}
VALUED = {flag: key for key, spec in FILTER.items() if spec.default is not False for flag in spec.flags}


def parse_args(args: list[str]) -> dict | None:
    """The keyword arguments of :func:`run_options` for ``spamscore filter ARGS``, or None to leave
    the parsing to typer.

    As Click does: a repeated option's last value wins, except ``--trusted-authserv-id``, which
    collects; ``--opt=value`` is ``--opt value``.
    """
    opts: dict = {key: spec.default for key, spec in FILTER.items()}
    opts["trusted"] = []
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg in FLAGS:
            opts[FLAGS[arg]] = True
            continue
        name, eq, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        key = VALUED.get(name)
        if key is None:
            return None
        if not eq:
            if i >= len(args):
                return None
            value = args[i]
            i += 1
        if not value or value.startswith("-"):
            return None
        if key == "max_size":
            if not _INT.fullmatch(value) or int(value) < FILTER["max_size"].min:
                return None
            opts[key] = int(value)
        elif key == "timeout":
            if not _FLOAT.fullmatch(value):
                return None
            opts[key] = float(value)
        elif key == "trusted":
            opts[key].append(value)
        else:
            opts[key] = value
    return opts


def run_options(*, model, tag_subject, exit_code, max_size, trusted, timeout) -> int:
    """:func:`run` on stdin with the options :func:`parse_args` gave."""
    from pathlib import Path

    model = Path(model) if model is not None else None
    return run(lambda: sys.stdin.buffer.read(), loader(model, trusted, max_size), tag_subject=tag_subject,
               exit_code=exit_code, timeout=timeout)
