from setuptools import Extension, setup
from Cython.Build import cythonize
setup(name="tc_cy", version="0", packages=["tc_cy"],
      ext_modules=cythonize([Extension("tc_cy.fast", ["tc_cy/fast.pyx"]), Extension("tc_cy.plain", ["tc_cy/plain.pyx"])],
                            compiler_directives={"language_level": 3}, annotate=True))
