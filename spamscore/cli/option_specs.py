"""The options that are parsed in two places, as plain data: spellings, default, bounds and help.

``spamscore filter`` is parsed twice: by typer (``cli/pipeline.py``, through ``cli/options.py``) and,
when its options are spelt plainly, by hand on the fast path (``cli/_filter.py``), which must not
import typer (typer and pydantic were 0.12 s of the 0.35 s CPU a filter run took;
benchmarks/results/startup.md).  Both read their names and defaults from here, so the two parsers
cannot drift apart.  Nothing here imports typer or anything heavier than the standard library.
"""

from __future__ import annotations

class OptionSpec:
    """One command-line option: what ``typer.Option(default, *flags, help=, min=, max=)`` is given.

    A plain class, not a NamedTuple or dataclass, which build their methods at import: this module
    took 0.56-0.73 ms of the filter's start-up with a NamedTuple, 0.36-0.52 ms as it is (``-X importtime``,
    five runs each; the rest is finding and reading the module), for a few records nobody compares.
    """

    __slots__ = ("flags", "default", "help", "min", "max")

    def __init__(self, flags: tuple[str, ...], default: object, help: str,
                 min: float | None = None, max: float | None = None):
        self.flags = flags      # its spellings, the long one first
        self.default = default  # None: not given; False: a flag that is off
        self.help = help
        self.min = min
        self.max = max


MODEL = OptionSpec(("--model", "-m"), None, "Model file (default: the shipped model, or $SPAMSCORE_MODEL).")
TRUSTED = OptionSpec(("--trusted-authserv-id",), None,
                     "Trust Authentication-Results from this authserv-id (repeatable).")
MAX_SIZE = OptionSpec(("--max-size",), 512 * 1024,
                      "Score only the first BYTES of larger messages (they still pass through whole).", min=1024)

# `spamscore filter`'s options, by the keyword its function takes (in the order --help lists them)
FILTER = {
    "model": MODEL,
    "tag_subject": OptionSpec(("--tag-subject",), None, "Prefix the Subject of spam with this tag, e.g. '[SPAM]'."),
    "exit_code": OptionSpec(("--exit-code",), False, "Bogofilter's exit codes: 0 spam, 1 ham, 2 unsure, 3 error."),
    "max_size": MAX_SIZE,
    "trusted": TRUSTED,
    "timeout": OptionSpec(("--timeout",), 5.0,
                          "Seconds scoring may take before the message passes through unmarked (0: no limit).",
                          min=0),
}
