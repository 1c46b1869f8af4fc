"""The options and arguments several commands share, each defined once: spellings, default, bounds, help.

A command takes one as a parameter's default (``model_path: Optional[Path] = MODEL``), the style
that keeps the default inside the one definition: with ``Annotated[..., typer.Option()]`` typer
wants the default written at every use (``jobs: Jobs = 1``).  An option only one command has stays
in that command's module; the options ``spamscore filter``'s fast path also parses by hand come
from the plain-data table in :mod:`spamscore.cli.option_specs`.  The eight resource limits are one
decorator (:func:`resource_limits`), which hands them to the command as one :class:`ResourceLimits`.
"""

from __future__ import annotations

import functools
import inspect
from enum import Enum
from typing import NamedTuple

import typer

from . import option_specs as specs


def option(spec: specs.OptionSpec):
    """The typer option of a plain-data :class:`~spamscore.cli.option_specs.OptionSpec`."""
    return typer.Option(spec.default, *spec.flags, help=spec.help, min=spec.min, max=spec.max)


MODEL = option(specs.MODEL)
TRUSTED = option(specs.TRUSTED)
MAX_SIZE = option(specs.MAX_SIZE)  # filter, milter: how much of a message is scored

# -- the messages a command reads: paths, or an index -------------------------------------------------
_SOURCES_HELP = "Messages: .eml files, directories, mbox, Maildir; - for stdin."


def sources_argument(required: bool):
    """The PATHS argument of ``score`` (optional: ``--index`` instead) and ``learn`` (required)."""
    return typer.Argument(... if required else None, help=_SOURCES_HELP)


INDEX_ROOT = typer.Option(None, "--root", help="Folder index paths are relative to (default: the index's folder).")
INDEX_SPLIT = typer.Option(None, "--split",
                           help="Only index lines whose 'split' column has this value (e.g. train).")


# -- how the work is spread ---------------------------------------------------------------------------
class Backend(str, Enum):
    local = "local"
    dask = "dask"


JOBS = typer.Option(1, "--jobs", "-j", min=1, help="Processes to spread the work over (joblib).")
BACKEND = typer.Option(Backend.local, "--backend",
                       help="local (--jobs processes) or dask (a Dask cluster; see docs/distributed.md).")
SCHEDULER = typer.Option(None, "--scheduler", help="Dask scheduler address tcp://HOST:PORT (default with "
                         "--backend dask: a local cluster of --jobs worker processes).")


# -- output -------------------------------------------------------------------------------------------
def format_option(choices: type[Enum]):
    """``--format``/``-f``: one of ``choices``, the first the default; the help names them ("text or json.")."""
    names = [c.value for c in choices]
    listed = ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]
    return typer.Option(next(iter(choices)), "--format", "-f", help=f"{listed}.")


# -- the servers (milter, serve) ----------------------------------------------------------------------
def listen_option(note: str = ""):
    """``--listen``/``-l``, required; ``note`` ends its help (the milter's has none)."""
    return typer.Option(..., "--listen", "-l", help="inet:HOST:PORT or unix:/path/to.sock" + note)


MAX_CONNECTIONS = typer.Option(200, "--max-connections", min=1, help="Connections served at once per worker; "
                               "when all are taken the one idle longest is closed.")
LOG_LEVEL = typer.Option("info", "--log-level", help="debug, info, warning or error.")


# -- the resource limits (score, evaluate) ------------------------------------------------------------
class ResourceLimits(NamedTuple):
    """The eight resource-limit options' values: five of the parser's ``Limits``, three of ``FeatureOptions``."""

    max_bytes: int
    max_parts: int
    max_depth: int
    max_part_bytes: int
    max_headers: int
    max_urls: int
    max_text_chars: int
    max_html_bytes: int

    def apply(self, model):
        """``model`` scoring under these limits (``model`` itself when they are already its own)."""
        from ..message import Limits

        limits = Limits(max_bytes=self.max_bytes, max_parts=self.max_parts, max_depth=self.max_depth,
                        max_part_bytes=self.max_part_bytes, max_headers=self.max_headers)
        if limits == model.limits and (self.max_urls, self.max_text_chars, self.max_html_bytes) == (
                model.options.max_urls, model.options.max_text_chars, model.options.max_html_bytes):
            return model
        return model.with_options(limits=limits, max_urls=self.max_urls, max_text_chars=self.max_text_chars,
                                  max_html_bytes=self.max_html_bytes)


_LIMITS_PANEL = "Resource limits (scoring with other limits than training changes the features of large messages)"


def _limit_options() -> dict:
    """The eight options, by :class:`ResourceLimits` field, with the library's defaults (imported here, when
    a command that has them is defined: the features package is not needed by the other commands)."""
    from ..features import FeatureOptions
    from ..message import Limits

    lim, feat = Limits(), FeatureOptions()

    def opt(default, name, low, text):
        return typer.Option(default, name, min=low, rich_help_panel=_LIMITS_PANEL, help=text)

    return {
        "max_bytes": opt(lim.max_bytes, "--max-bytes", 1024,
                         "Bytes of a message parsed; the rest is only counted in its size."),
        "max_parts": opt(lim.max_parts, "--max-parts", 1, "MIME parts looked at."),
        "max_depth": opt(lim.max_depth, "--max-depth", 1, "MIME nesting followed."),
        "max_part_bytes": opt(lim.max_part_bytes, "--max-part-bytes", 1024, "Decoded bytes kept of each text or HTML part."),
        "max_headers": opt(lim.max_headers, "--max-headers", 1, "Header fields kept."),
        "max_urls": opt(feat.max_urls, "--max-urls", 1, "URLs looked at per message."),
        "max_text_chars": opt(feat.max_text_chars, "--max-text-chars", 1000, "Characters of body text tokenized."),
        "max_html_bytes": opt(feat.max_html_bytes, "--max-html-bytes", 1024, "Characters of each HTML part parsed."),
    }


def resource_limits(command):
    """Give ``command`` the eight resource-limit options, after its own (``--help`` shows them under their
    own heading); it receives their values as one keyword argument, ``limits: ResourceLimits``.

    Typer builds a command's options from its signature, so the signature typer sees is the command's
    own without ``limits``, plus the eight.
    """
    added = _limit_options()
    own = inspect.signature(command, eval_str=True)
    params = [p for p in own.parameters.values() if p.name != "limits"]
    params += [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=info, annotation=int)
               for name, info in added.items()]

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        limits = ResourceLimits(**{name: kwargs.pop(name) for name in added})
        return command(*args, limits=limits, **kwargs)

    wrapper.__signature__ = own.replace(parameters=params)
    return wrapper
