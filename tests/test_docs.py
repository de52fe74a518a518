"""The docs as a user meets them: a front page that fits on a screen, links that lead somewhere, commands that run.

A fenced ```bash block directly after a line `<!-- runnable -->` is run line by line with bash, from the
root of a fresh copy of the repository, with S5UTILS_DATA at the provisioned data; every line must exit 0.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import pytest

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), *sorted((REPO / "results").glob("**/README.md"))]
FRONT_PAGE_LINES = 150
RUNNABLE = "<!-- runnable -->"
FENCE = re.compile(r"^\s*(```|~~~)")
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HTML_SOURCE = re.compile(r"""<(?:img|a)\s[^>]*?(?:src|href)=["']([^"']+)["']""")
COPY_IGNORE = shutil.ignore_patterns(".git", ".venv", "runs", "build", "__pycache__", "*.egg-info", ".pytest_cache")


def prose_lines(text: str) -> list[str]:
    """The page's lines outside fenced code blocks, with inline code spans removed."""
    lines, in_fence = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        if not in_fence:
            lines.append(re.sub(r"`+[^`]*`+", "", line))
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def heading_texts(page: Path) -> list[str]:
    """The heading texts of a Markdown page (outside code blocks; inline code kept as its text)."""
    headings, in_fence = [], False
    for line in page.read_text().splitlines():
        if FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence and re.match(r"#{1,6} ", line):
            headings.append(line.lstrip("#").strip().replace("`", ""))
    return headings


def anchors(page: Path) -> set[str]:
    """Every heading anchor of a Markdown page, repeats numbered as GitHub numbers them (name, name-1, ...)."""
    names, counts = set(), {}
    for heading in heading_texts(page):
        base = slug(heading)
        names.add(base if base not in counts else f"{base}-{counts[base]}")
        counts[base] = counts.get(base, 0) + 1
    return names


def relative_links(page: Path) -> list[str]:
    """The page's link and image targets that point inside the repository (no scheme, not mailto)."""
    targets = []
    for line in prose_lines(page.read_text()):
        targets += LINK.findall(line) + HTML_SOURCE.findall(line)
    return [t for t in targets if not re.match(r"[a-z][a-z0-9+.-]*:", t, re.I)]


def broken_links(page: Path) -> list[str]:
    """Each relative link of the page that names no file or folder, or no heading, with the reason."""
    problems = []
    for target in relative_links(page):
        path_part, _, anchor = target.partition("#")
        resolved = (page.parent / unquote(path_part)).resolve() if path_part else page
        if not resolved.is_relative_to(REPO) or not resolved.exists():
            problems.append(f"{target}: no such file or folder in the repository")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            problems.append(f"{target}: {resolved.relative_to(REPO)} has no heading with anchor #{anchor}")
    return problems


def runnable_blocks() -> list[tuple[str, list[str]]]:
    """(page:line, commands) for every ```bash block marked runnable; continuation lines joined, comments dropped."""
    blocks = []
    for page in PAGES:
        lines = page.read_text().splitlines()
        for number, line in enumerate(lines, start=1):
            if line.strip() != RUNNABLE:
                continue
            where = f"{page.relative_to(REPO)}:{number}"
            if number >= len(lines) or lines[number].strip() != "```bash":
                blocks.append((where, [f"! the {RUNNABLE} marker must sit directly before a ```bash block"]))
                continue
            commands, pending = [], ""
            for body in lines[number + 1 :]:
                if FENCE.match(body):
                    break
                pending += body.rstrip()
                if pending.endswith("\\"):
                    pending = pending[:-1] + " "
                    continue
                if pending.strip() and not pending.lstrip().startswith("#"):
                    commands.append(pending.strip())
                pending = ""
            blocks.append((where, commands))
    return blocks


def test_the_front_page_fits_on_a_screen():
    lines = len((REPO / "README.md").read_text().splitlines())
    assert lines <= FRONT_PAGE_LINES, (
        f"README.md has {lines} lines; move detail into docs/ to keep it <= {FRONT_PAGE_LINES}"
    )


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(REPO)) for p in PAGES])
def test_every_relative_link_resolves(page):
    assert broken_links(page) == []


def test_the_link_check_catches_a_missing_file_and_a_missing_heading(tmp_path, monkeypatch):
    tmp_path = tmp_path.resolve()
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    (tmp_path / "other.md").write_text("# Other page\n\n## `make` targets\n")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](other.md#make-targets) [top](other.md#other-page) ![gone](missing.png)\n"
        "[bad anchor](other.md#nowhere) `[in code](nowhere.md)` [web](https://example.com/x)\n"
        "```text\n[in a block](nowhere.md)\n```\n"
    )
    assert broken_links(page) == [
        "missing.png: no such file or folder in the repository",
        "other.md#nowhere: other.md has no heading with anchor #nowhere",
    ]


def test_there_are_runnable_blocks_to_run():
    assert runnable_blocks(), f"no {RUNNABLE} ```bash block in README.md or docs/: the docs' commands go untested"


@pytest.fixture
def python_on_path(tmp_path):
    """A folder holding `python` for this interpreter, so the docs' `python -m s5utils` means the tested install."""
    folder = tmp_path / "bin"
    folder.mkdir()
    wrapper = folder / "python"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')  # not a symlink: a venv is found from the path run
    wrapper.chmod(0o755)
    return folder


@pytest.mark.parametrize("where, commands", runnable_blocks(), ids=[where for where, _ in runnable_blocks()])
def test_every_runnable_command_runs(where, commands, mnist_root, tmp_path, python_on_path):
    assert not commands[0].startswith("!"), f"{where}: {commands[0][2:]}"
    checkout = tmp_path / "repo"
    shutil.copytree(REPO, checkout, ignore=COPY_IGNORE)
    env = {
        **os.environ,
        "S5UTILS_DATA": str(mnist_root),
        "MPLBACKEND": "Agg",
        "PYTHONPATH": str(checkout),
        "PATH": f"{python_on_path}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    for command in commands:
        done = subprocess.run(
            ["bash", "-c", command], cwd=checkout, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, f"{where}: `{command}` exited {done.returncode}\n{done.stderr[-2000:]}"
