"""The optional C extension (spamscore._speedups); everything else is in pyproject.toml.

``optional=True``: without a C compiler the build goes on, and spamscore uses
its numpy code instead (the same results, slower; see spamscore/model.py).
"""
from setuptools import Extension, setup

setup(ext_modules=[Extension("spamscore._speedups", ["spamscore/_speedups.c"], optional=True)])
