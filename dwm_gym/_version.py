"""The package version, readable without importing :mod:`dwm_gym` (whose import registers the envs).

``pyproject.toml`` reads it from here (``[tool.setuptools.dynamic]``), so it has one source of truth.
"""

__version__ = "0.1.0"
