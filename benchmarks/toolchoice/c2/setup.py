from setuptools import Extension, setup
setup(name="tc_c2", version="0", packages=["tc_c2"],
      ext_modules=[Extension("tc_c2.fast", ["tc_c2/fast.c"], include_dirs=["."], depends=["core.h"])])
