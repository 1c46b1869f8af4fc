"""The optional native core (``spamscore/native/*.c``) and the model as package data; the rest is in pyproject.toml.

The C files of ``spamscore/native/`` (one a concern, one shared header,
``core.h``) make one extension module, ``spamscore._core``, built with
``optional=True``: without a C compiler the build goes on, and spamscore runs
the Python reference code beside each helper instead (the same results,
slower; the tests compare the two).  ``spamscore._native.load`` hands each
concern out (``_core.speedups``, ``_core.bodyscan``, ...).
"""
import glob
import os
import shutil

from setuptools import Extension, setup
from setuptools.command.build_py import build_py

_NATIVE = os.path.join("spamscore", "native")
_SOURCES = sorted(c.replace(os.sep, "/") for c in glob.glob(os.path.join(_NATIVE, "*.c")))
_HEADERS = sorted(h.replace(os.sep, "/") for h in glob.glob(os.path.join(_NATIVE, "*.h")))
# the files of the one concern that needs lxml's headers, htmlscan: html*.c (each includes native/html.h)
_HTML_SOURCES = [c for c in _SOURCES if os.path.basename(c).startswith("html")]

# The shipped model, its card and its metrics stay in the top-level models/
# (their source of truth: training/build_default.py writes them there); a
# wheel carries them as package data in spamscore/models/, where
# spamscore.scoring.default_model_path finds them through importlib.resources.
# MANIFEST.in puts models/ in the sdist, so a wheel built from it has them too.
_MODEL_FILES = ("default.spamscore", "MODEL_CARD.md", "default.metrics.json")


class build_py_with_model(build_py):
    """build_py, then models/* copied into the built package as spamscore/models/."""

    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the source tree's models/ itself
        here = os.path.dirname(os.path.abspath(__file__))
        missing = [name for name in _MODEL_FILES if not os.path.isfile(os.path.join(here, "models", name))]
        if missing:  # a wheel without its model fails at the first score: refuse to build it
            raise SystemExit(f"setup.py: models/{missing[0]} is missing: the wheel would have no default model")
        target = os.path.join(self.build_lib, "spamscore", "models")
        os.makedirs(target, exist_ok=True)
        for name in _MODEL_FILES:
            shutil.copyfile(os.path.join(here, "models", name), os.path.join(target, name))

    def get_outputs(self, include_bytecode=True):
        outputs = super().get_outputs(include_bytecode)
        if getattr(self, "editable_mode", False):
            return outputs
        return outputs + [os.path.join(self.build_lib, "spamscore", "models", name) for name in _MODEL_FILES]


def _lxml_build_options() -> dict | None:
    """What the HTML concern (native/html*.c) is compiled with: the headers lxml ships (libxml2's tree.h
    and lxml's public lxml.etree.h, from lxml.get_include()), with the lxml and libxml2 versions they belong
    to, which spamscore.features.html compares with the lxml it imports (another one: htmlscan stays off).
    None without lxml at build time (pyproject.toml's build requirements list it): the core is built
    without htmlscan.  (The other concerns never include lxml's headers; the include path is the
    extension's, so they merely see it.)"""
    try:
        import lxml
        from lxml import etree
    except ImportError:
        return None

    def c_string(version) -> str:
        return '"' + ".".join(map(str, version)) + '"'

    return {"include_dirs": lxml.get_include(),
            "define_macros": [("SPAMSCORE_LXML_VERSION", c_string(etree.LXML_VERSION)),
                              ("SPAMSCORE_LIBXML_VERSION", c_string(etree.LIBXML_COMPILED_VERSION))]}


def _extensions() -> list[Extension]:
    sources = list(_SOURCES)
    extra = _lxml_build_options()
    if extra is None:
        print("setup.py: lxml is not importable at build time: spamscore._core is built without htmlscan "
              "(the Python tree walk does the same)")
        sources = [c for c in sources if c not in _HTML_SOURCES]
        extra = {}
    # (depends: an edited shared header rebuilds the core)
    return [Extension("spamscore._core", sources, depends=_HEADERS, optional=True, **extra)]


setup(
    cmdclass={"build_py": build_py_with_model},
    ext_modules=_extensions(),
)
