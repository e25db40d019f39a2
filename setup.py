"""Ships the dataset slices inside the wheel as package data (`bench/shipped_datasets/`).

Everything else is in pyproject.toml. The top-level `datasets/` folder is data, not a package:
installing it as `datasets` would shadow Hugging Face's `datasets` in site-packages, so the wheel
carries a copy under `bench/`, where `bench.datasets.shipped_data_dir()` finds it.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SOURCE = Path(__file__).parent / "datasets"


class BuildWithDatasets(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the checkout's datasets/ directly
        target = Path(self.build_lib) / "bench" / "shipped_datasets"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(SOURCE, target, ignore=shutil.ignore_patterns("__pycache__", "*.py", ".*"))


setup(cmdclass={"build_py": BuildWithDatasets})
