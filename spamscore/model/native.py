"""The model room's one handle on its compiled helper, ``spamscore._speedups`` (or None).

Every module of :mod:`spamscore.model` reads :data:`speedups` from here when
it runs (``native.speedups``), never a copy taken at import: setting it to
None (``monkeypatch.setattr(spamscore.model.native, "speedups", None)``)
turns the whole room to its Python reference code, which gives the same
results bit for bit.  ``SPAMSCORE_PURE=1`` does it for the whole package
(:mod:`spamscore._native`).
"""

from __future__ import annotations

from .. import _native

__all__ = ["speedups"]

speedups = _native.load("_speedups")  # the compiled lookups and sums; None: the numpy code does the same
