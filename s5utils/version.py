"""The package version, declared once in pyproject.toml: read from the source checkout when there is one (an
editable install's metadata keeps the version it was installed with), else from the installed metadata."""

import re
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path


def _declared_version() -> str:
    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    if pyproject.is_file():
        text = pyproject.read_text()
        if re.search(r'^name = "s5utils"$', text, re.M) and (found := re.search(r'^version = "([^"]+)"$', text, re.M)):
            return found.group(1)
    try:
        return version("s5utils")
    except PackageNotFoundError:
        return "0+unknown"


__version__ = _declared_version()
