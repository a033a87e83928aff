"""What pyproject.toml cannot say: admin/local.py, the user's own paths (git-ignored), is a module
of the admin package, so package discovery would put it in every wheel; it is left out here.
Everything else is configured in pyproject.toml."""

from setuptools import setup
from setuptools.command.build_py import build_py

PRIVATE_MODULES = {("admin", "local")}


class BuildPyWithoutLocalSettings(build_py):
    def find_package_modules(self, package, package_dir):
        modules = super().find_package_modules(package, package_dir)
        return [module for module in modules if (module[0], module[1]) not in PRIVATE_MODULES]


setup(cmdclass={"build_py": BuildPyWithoutLocalSettings})
