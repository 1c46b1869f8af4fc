"""The optional C extensions (``spamscore/_*.c``); everything else is in pyproject.toml.

Each ``spamscore/_NAME.c`` is its own extension module ``spamscore._NAME``,
built with ``optional=True``: without a C compiler the build goes on, and
spamscore runs the Python reference code beside each helper instead (the same
results, slower; the tests compare the two).
"""
import glob
import os

from setuptools import Extension, setup

_SOURCES = sorted(glob.glob(os.path.join("spamscore", "_*.c")))
setup(ext_modules=[
    Extension("spamscore." + os.path.splitext(os.path.basename(src))[0], [src.replace(os.sep, "/")], optional=True)
    for src in _SOURCES
])
