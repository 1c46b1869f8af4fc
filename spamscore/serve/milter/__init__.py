"""The milter: Postfix (or Sendmail) sends each message as protocol events, we answer with headers and an action.

:mod:`.protocol` is the wire codec (packets, commands, option negotiation);
:mod:`.server` the server and its policy (one scoring call per message, the
replies it makes).  Every public name of both is here, so
``from spamscore.serve.milter import MilterConfig, serve`` works.
"""

from ..serving import bind, parse_listen
from .protocol import *  # noqa: F403 - the package's API is its two parts' (as asyncio's __init__ does)
from .server import *  # noqa: F403
from . import protocol, server

__all__ = [*protocol.__all__, *server.__all__, "parse_listen", "bind"]
