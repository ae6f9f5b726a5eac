"""Every relative link of the README, CONTRIBUTING.md and docs/*.md leads somewhere that exists.

A link is ``[text](target)``, ``![alt](target)`` or a reference definition ``[id]: target``,
outside fenced code blocks and inline code. A target with a scheme (``https:``, ``mailto:``) is
left alone; any other must name a file or folder of the repository (relative to the page), and
its ``#anchor``, if any, a heading of the page it points to, under GitHub's rule for heading
anchors: lower case, punctuation removed (letters, digits, ``_`` and ``-`` kept), spaces turned
into ``-``, and ``-1``, ``-2``, ... appended to repeated headings.
"""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[1]

_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")
_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def pages() -> list[Path]:
    """The pages a reader follows links in."""
    found = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
    return [p for p in found if p.exists()]


def prose_lines(text: str) -> list[str]:
    """The lines of a markdown page outside fenced code blocks (the fence lines themselves dropped)."""
    out, fence = [], None
    for line in text.splitlines():
        match = _FENCE.match(line)
        if fence is None and match:
            fence = match.group(1)[0] * len(match.group(1))
            continue
        if fence is not None:
            if line.strip().startswith(fence) and set(line.strip()) == {fence[0]}:
                fence = None
            continue
        out.append(line)
    return out


def slug(heading: str) -> str:
    """GitHub's anchor for a heading's text (links reduced to their text, then the rule above)."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = re.sub(r"<[^>]+>", "", text)
    text = "".join(ch for ch in text.lower() if ch.isalnum() or ch in " -_")
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every heading anchor of a page, repeated headings numbered as GitHub numbers them."""
    seen: dict[str, int] = {}
    out = set()
    for line in prose_lines(text):
        match = _HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        out.add(base if count == 0 else f"{base}-{count}")
    return out


def links(text: str) -> list[str]:
    """Every link target of a page's prose, inline code left out."""
    targets = []
    for line in prose_lines(text):
        ref = _REFERENCE.match(line)
        if ref:
            targets.append(ref.group(1))
            continue
        targets += [m.group(1) for m in _LINK.finditer(_INLINE_CODE.sub("", line))]
    return targets


def broken_links(page: Path, root: Path = ROOT) -> list[str]:
    """The targets of ``page`` that lead nowhere, each with the reason."""
    text = page.read_text(encoding="utf-8")
    problems = []
    for target in links(text):
        if _SCHEME.match(target) or target.startswith("//"):
            continue
        path_part, _, anchor = target.partition("#")
        dest = (page.parent / unquote(path_part)).resolve() if path_part else page
        if not dest.exists():
            problems.append(f"{target}: no file or folder {dest}")
            continue
        try:
            dest.relative_to(root.resolve())
        except ValueError:
            problems.append(f"{target}: leads outside the repository")
            continue
        if anchor:
            if dest.is_dir() or dest.suffix.lower() != ".md":
                problems.append(f"{target}: an anchor on something that is not a markdown page")
            elif unquote(anchor) not in anchors(dest.read_text(encoding="utf-8")):
                problems.append(f"{target}: no heading '#{anchor}' in {dest.name}")
    return problems


@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path) -> None:
    assert broken_links(page) == []


def test_the_pages_are_found() -> None:
    names = {str(p.relative_to(ROOT)) for p in pages()}
    assert {"README.md", "docs/methods.md"} <= names


def test_github_anchor_rule() -> None:
    assert slug("ADBench's classical sets (the `adbench` suite)") == "adbenchs-classical-sets-the-adbench-suite"
    assert slug("Size caps: `max_train`, `max_collected`, `max_rows`") == "size-caps-max_train-max_collected-max_rows"
    assert slug("4. AA-BiGAN") == "4-aa-bigan"
    assert slug("Table 2 under `paper`") == "table-2-under-paper"
    assert slug("See [usage](usage.md) – γl") == "see-usage--γl"
    assert anchors("# A\n## A\n```\n# not a heading\n```\n## A\n") == {"a", "a-1", "a-2"}


def test_broken_links_and_anchors_are_reported(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "other.md").write_text("# Other page\n\n## A section\n", encoding="utf-8")
    page = tmp_path / "docs" / "page.md"
    page.write_text(
        "# Page\n\n"
        "[ok](other.md) [ok anchor](other.md#a-section) [self](#page) [web](https://example.org/x.md)\n"
        "[missing](nowhere.md) [bad anchor](other.md#no-such-section) ![img](img.png)\n"
        "`[in code](nowhere-either.md)`\n\n"
        "```\n[in a fence](fenced.md)\n```\n\n"
        "[ref]: ../missing-too.md\n", encoding="utf-8")
    problems = broken_links(page, tmp_path)
    assert [p.split(":")[0] for p in problems] == [
        "nowhere.md", "other.md#no-such-section", "img.png", "../missing-too.md"]
