"""Regenerate the table of every public name in docs/api.md from s5utils/__init__.py (its groups) and the docstrings.

python tools/api_table.py    (from the repository root; tests/test_api.py checks the result)
"""

import inspect
import re
from pathlib import Path

import s5utils

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- api:start -->", "<!-- api:end -->"


def groups() -> list[tuple[str, list[str]]]:
    """(comment, names) for each commented group of __all__ in s5utils/__init__.py."""
    source = (ROOT / "s5utils" / "__init__.py").read_text()
    found = []
    for line in source[source.index("__all__ = [") :].splitlines()[1:]:
        line = line.strip()
        if line.startswith("#"):
            found.append((line[1:].strip(), []))
        elif line.startswith('"'):
            found[-1][1].extend(re.findall(r'"(\w+)"', line))
    return found


def summary(name: str) -> str:
    """The first paragraph of name's docstring on one line, safe inside a Markdown table."""
    doc = inspect.getdoc(getattr(s5utils, name)).split("\n\n")[0]
    return " ".join(doc.split()).replace("|", "\\|").replace("<", "&lt;")


def table() -> str:
    lines = ["<!-- Every name of s5utils.__all__, grouped as in s5utils/__init__.py; by tools/api_table.py. -->", ""]
    for title, names in groups():
        lines += [f"### {title}", "", "| Name | What it does |", "| --- | --- |"]
        lines += [f"| `{name}` | {summary(name)} |" for name in names]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def main() -> None:
    listed = sorted(name for _, names in groups() for name in names)
    if listed != sorted(s5utils.__all__):
        raise SystemExit("s5utils/__init__.py: a name of __all__ sits outside the commented groups")
    page = ROOT / "docs" / "api.md"
    text = page.read_text()
    page.write_text(text[: text.index(START) + len(START)] + "\n" + table() + text[text.index(END) :])


if __name__ == "__main__":
    main()
