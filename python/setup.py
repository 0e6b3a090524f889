"""Only for the wheel's tag: when `make python-package` has put
libinterformer.so into the package, the wheel holds a native library and
must not claim to be pure Python (py3-none-any). Everything else is in
pyproject.toml."""

import os

from setuptools import setup
from setuptools.dist import Distribution

HERE = os.path.dirname(os.path.abspath(__file__))


class BinaryDistribution(Distribution):
    def has_ext_modules(self):
        return True


shipped = os.path.isfile(os.path.join(HERE, "interformer", "libinterformer.so"))
setup(distclass=BinaryDistribution if shipped else Distribution)
