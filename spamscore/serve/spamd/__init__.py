"""The spamd server: SpamAssassin's clients (spamc, Exim's ``spam =``, Haraka, aiospamc) get our verdict unchanged.

:mod:`.protocol` reads requests and writes replies (SPAMC/SPAMD up to 1.5);
:mod:`.server` admits connections, scores or learns, and runs the workers.
Every public name of both is here, so
``from spamscore.serve.spamd import SpamdConfig, serve`` works.
"""

from ..serving import parse_listen
from .protocol import *  # noqa: F403 - the package's API is its two parts' (as asyncio's __init__ does)
from .server import *  # noqa: F403
from . import protocol, server

__all__ = [*protocol.__all__, *server.__all__, "parse_listen"]
