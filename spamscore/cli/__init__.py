"""Command-line interface: each command parses options, makes one library call, formats the result.

Command modules register themselves on the shared ``app``.
"""

from ._app import app, main
from . import core  # noqa: F401  train, score, evaluate
from . import check  # noqa: F401  check
from . import learn  # noqa: F401  learn
from . import pipeline  # noqa: F401  filter, milter
from . import serve  # noqa: F401  serve (spamd protocol)
from . import convert  # noqa: F401  convert (model file formats)

__all__ = ["app", "main"]
