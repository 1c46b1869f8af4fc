"""The one door to the compiled helpers (the native core ``spamscore._core``), and the token hash's reference.

Every module that can use a helper gets it here, ``_bodyscan = _native.load("_bodyscan")``,
and runs its Python reference code when that is None.  The helpers are the
concerns of one extension module, ``spamscore._core`` (sources:
``spamscore/native/``, one C file a concern): ``load("_bodyscan")`` is
``spamscore._core.bodyscan``, a module object with the functions and
constants the separate ``spamscore._bodyscan`` extension had.
``SPAMSCORE_PURE=1`` in the environment (read once, at the first import)
turns every helper off: the whole package then runs the Python code, which
gives the same results bit for bit (tests/test_native_equivalence.py compares
the two in subprocesses).

:data:`STATUS` says, for each helper asked for, why it is or is not in use:
``"loaded"``, ``"off: SPAMSCORE_PURE=1"``, ``"not built: <why>"`` (the core's
ImportError, or a core built without that concern: htmlscan without lxml's
headers) or, set by its importer, ``"off: <reason>"`` (an import-time
self-check that failed: one concern is turned off, the others stay).  The
tests print it as the reason of a skip instead of guessing.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

__all__ = ["PURE", "STATUS", "load", "disable", "token_hash", "NAMES"]

# every compiled helper: the concern ``spamscore._core.<name without "_">`` (spamscore/native/<name>.c)
NAMES = ("_bodyscan", "_hdrscan", "_htmlscan", "_mimescan", "_speedups", "_urlscan")

PURE = os.environ.get("SPAMSCORE_PURE", "").strip() not in ("", "0")
STATUS: dict[str, str] = {}
_LOADED: dict[str, ModuleType | None] = {}


def _core() -> ModuleType:
    """spamscore._core, imported at the first helper asked for (ImportError: not built)."""
    return importlib.import_module("spamscore._core")


def load(name: str) -> ModuleType | None:
    """The compiled helper ``name`` (the module object ``spamscore._core.<name[1:]>``), or None
    (pure mode, not built, or turned off by :func:`disable`)."""
    if name not in NAMES:
        raise ValueError(f"expected one of {', '.join(NAMES)}, got {name!r}")
    if name in _LOADED:
        return _LOADED[name]
    mod = None
    if PURE:
        STATUS[name] = "off: SPAMSCORE_PURE=1"
    else:
        try:
            core = _core()
        except ImportError as e:  # not built (no compiler, no headers, a failed optional build)
            STATUS[name] = f"not built: {e}"
        else:
            mod = getattr(core, name[1:], None)
            STATUS[name] = "loaded" if mod is not None else (
                f"not built: spamscore._core has no {name[1:]} (built without lxml's headers)")
    _LOADED[name] = mod
    return mod


def disable(name: str, reason: str) -> None:
    """Record that an importer turned ``name`` off after loading it (its self-check failed)."""
    _LOADED[name] = None
    STATUS[name] = f"off: {reason}"


# -- the token hash (the reference for ss_token_hash in spamscore/native/core.h) --
_M64 = (1 << 64) - 1
_K0 = int.from_bytes(b"spamscor", "little")
_K1 = int.from_bytes(b"e-token1", "little")


def _rotl(x: int, b: int) -> int:
    return ((x << b) | (x >> (64 - b))) & _M64


def _round(v0: int, v1: int, v2: int, v3: int) -> tuple[int, int, int, int]:
    v0 = (v0 + v1) & _M64
    v1 = _rotl(v1, 13) ^ v0
    v0 = _rotl(v0, 32)
    v2 = (v2 + v3) & _M64
    v3 = _rotl(v3, 16) ^ v2
    v0 = (v0 + v3) & _M64
    v3 = _rotl(v3, 21) ^ v0
    v2 = (v2 + v1) & _M64
    v1 = _rotl(v1, 17) ^ v2
    v2 = _rotl(v2, 32)
    return v0, v1, v2, v3


def token_hash(token: str) -> int:
    """The clue table's hash of a token: SipHash-1-3 of its UTF-8 bytes under a fixed key, as int64.

    (Lone surrogates encoded as ``"surrogatepass"`` does; -1 becomes -2, the
    tables' free-slot mark.)  Slow: this is the specification the C code
    (``ss_token_hash``, ``spamscore/native/core.h``) is tested against, not something to run per message.
    Why this hash and not ``hash()``: see ``spamscore/native/core.h``.
    """
    data = token.encode("utf-8", "surrogatepass")
    v0, v1 = _K0 ^ 0x736F6D6570736575, _K1 ^ 0x646F72616E646F6D
    v2, v3 = _K0 ^ 0x6C7967656E657261, _K1 ^ 0x7465646279746573
    n = len(data)
    full = n & ~7
    for i in range(0, full, 8):
        m = int.from_bytes(data[i:i + 8], "little")
        v3 ^= m
        v0, v1, v2, v3 = _round(v0, v1, v2, v3)
        v0 ^= m
    b = ((n & 0xFF) << 56) | int.from_bytes(data[full:], "little")
    v3 ^= b
    v0, v1, v2, v3 = _round(v0, v1, v2, v3)
    v0 ^= b
    v2 ^= 0xFF
    for _ in range(3):
        v0, v1, v2, v3 = _round(v0, v1, v2, v3)
    h = v0 ^ v1 ^ v2 ^ v3
    h = h - (1 << 64) if h >= 1 << 63 else h
    return -2 if h == -1 else h
