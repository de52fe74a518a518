"""Point every Colab badge and install cell at one repository and ref: make colab REPO=org/name REF=v1.

Rewrites, in notebooks/*.ipynb, README.md and docs/*.md:
  https://colab.research.google.com/github/ORG/NAME/blob/REF/notebooks/X.ipynb   (the badges)
  s5utils @ git+https://github.com/ORG/NAME@REF                                   (the install cells)
Standard library only, so it runs in a fresh clone before any setup.
"""

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# A URL part: anything up to whitespace, a quote, a backslash (JSON), a backtick or a bracket (Markdown).
PART = r"[^/\s\"'\\`()<>\[\]]+"
BADGE = re.compile(rf"https://colab\.research\.google\.com/github/{PART}/{PART}/blob/[^\s\"'\\`()<>]+?/(?=notebooks/)")
INSTALL = re.compile(rf"s5utils @ git\+https://github\.com/{PART}/[^@/\s\"'\\`()<>]+(?:@[^\s\"'\\`()<>]+)?")
REPO = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}")
REF = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._/-]{0,199}")


def rewrite_line(line: str, repo: str, ref: str) -> str:
    """line with every badge and install URL naming repo at ref."""
    line = BADGE.sub(f"https://colab.research.google.com/github/{repo}/blob/{ref}/", line)
    return INSTALL.sub(f"s5utils @ git+https://github.com/{repo}@{ref}", line)


def rewrite_file(path: Path, repo: str, ref: str) -> str | None:
    """The new text of path, or None when nothing in it changes."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".ipynb":
        notebook = json.loads(text)
        for cell in notebook["cells"]:
            lines = cell["source"] if isinstance(cell["source"], list) else [cell["source"]]
            cell["source"] = [rewrite_line(line, repo, ref) for line in lines]
        new = json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"
    else:
        new = "".join(rewrite_line(line, repo, ref) for line in text.splitlines(keepends=True))
    return new if new != text else None


def targets(root: Path) -> list[Path]:
    """The files that may hold badges or install cells."""
    return (
        sorted(root.glob("notebooks/*.ipynb"))
        + [p for p in [root / "README.md"] if p.exists()]
        + sorted(root.glob("docs/*.md"))
    )


def ref_kind(root: Path, ref: str) -> str:
    """tag, branch, commit or unknown: what ref names in the git repository at root."""

    def exists(name: str) -> bool:
        return (
            subprocess.run(["git", "rev-parse", "-q", "--verify", name], cwd=root, capture_output=True).returncode == 0
        )

    if exists(f"refs/tags/{ref}"):
        return "tag"
    if exists(f"refs/heads/{ref}") or exists(f"refs/remotes/origin/{ref}"):
        return "branch"
    if re.fullmatch(r"[0-9a-f]{7,40}", ref) and exists(f"{ref}^{{commit}}"):
        return "commit"
    return "unknown"


def bad_input(repo: str, ref: str) -> str | None:
    """One line naming what is wrong with repo or ref, or None."""
    if not REPO.fullmatch(repo or "") or repo.endswith((".", ".git")):
        return f"REPO must be owner/name as on GitHub (e.g. REPO=acme/course), got {repo!r}; nothing was changed"
    if not REF.fullmatch(ref or "") or ".." in ref or ref.endswith(("/", ".", ".lock")):
        return f"REF must be a tag or commit (e.g. REF=v1), got {ref!r}; nothing was changed"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", help="the GitHub repository students install from, owner/name")
    parser.add_argument("ref", help="a tag or commit (a branch works but moves under the students)")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to rewrite (default: this one)")
    args = parser.parse_args(argv)
    problem = bad_input(args.repo, args.ref)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    kind = ref_kind(args.root, args.ref)
    if kind == "branch":
        print(
            f"note: {args.ref} is a branch: every push to it changes what students install; "
            "a tag (git tag v1 && git push origin v1) or a commit stays put"
        )
    elif kind == "unknown":
        print(
            f"note: {args.ref} is not a tag, branch or commit of this clone yet; "
            f"push it (git tag {args.ref} && git push origin {args.ref}) before students open the links"
        )
    changed = []
    for path in targets(args.root):
        new = rewrite_file(path, args.repo, args.ref)
        if new is not None:
            path.write_text(new, encoding="utf-8")
            changed.append(path.relative_to(args.root).as_posix())
    print(
        f"Colab badges and install cells now name {args.repo} at {args.ref}"
        + (f"; rewritten: {', '.join(changed)}" if changed else "; every file already did")
    )
    left = [
        f"{p.relative_to(args.root).as_posix()}:{n}"
        for p in targets(args.root)
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if "OWNER" in line
    ]
    if left:
        print(f"note: OWNER still appears in {', '.join(left)}; edit those lines by hand")
    return 0


if __name__ == "__main__":
    sys.exit(main())
