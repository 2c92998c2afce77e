"""Every "THEORY §N" reference resolves to a section of docs/theory.md, the convention sheet.

Scanned: README.md, CONTRIBUTING.md, docs/*.md, every module of gaugelab/ and every notebook
(markdown and code cells; outputs are not scanned, they are regenerated). A reference is "THEORY"
followed by section numbers: "THEORY §4", "THEORY §3–§5", "THEORY §1, §2, §5, §6",
"(THEORY, §1–§7)". The places where a reader first meets the name (README, CONTRIBUTING,
notebook 00, the package docstring) must say that THEORY is docs/theory.md.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHEET = ROOT / "docs" / "theory.md"

#: "THEORY", optional "," or "(", then one or more "§N" joined by –, -, ",", "and", "&".
REFERENCE = re.compile(r"THEORY(?:\s*,|\s*\()?\s*(§\s*\d+(?:\s*(?:–|-|,|and|&)\s*§\s*\d+)*)")
SECTION = re.compile(r"§\s*(\d+)")
RANGE = re.compile(r"§\s*(\d+)\s*[–-]\s*§\s*(\d+)")


def sections_of(sheet_text: str) -> set[int]:
    """The numbers N of the level-2 headings "## N. Title" of the sheet."""
    return {int(n) for n in re.findall(r"^##\s+(\d+)\.\s+\S", sheet_text, flags=re.M)}


def cited_sections(text: str) -> list[tuple[int, str]]:
    """(N, the reference as written) for every section a "THEORY §…" reference in ``text`` cites."""
    out = []
    for match in REFERENCE.finditer(text):
        ref = match.group(0)
        numbers = {int(n) for n in SECTION.findall(match.group(1))}
        for lo, hi in RANGE.findall(match.group(1)):
            numbers |= set(range(int(lo), int(hi) + 1))
        out.extend((n, ref) for n in sorted(numbers))
    return out


def text_of(path: Path) -> str:
    if path.suffix == ".ipynb":
        nb = nbformat.read(path, as_version=4)
        return "\n".join(cell.source for cell in nb.cells)
    return path.read_text(encoding="utf-8")


def scanned_files() -> list[Path]:
    files = [ROOT / "README.md", ROOT / "CONTRIBUTING.md"]
    files += sorted((ROOT / "docs").glob("*.md"))
    files += sorted((ROOT / "gaugelab").rglob("*.py"))
    files += sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    return [f for f in files if f.exists()]


def unresolved(text: str, sections: set[int]) -> list[str]:
    return [f"{ref!r} cites §{n}" for n, ref in cited_sections(text) if n not in sections]


def test_the_sheet_has_the_reference_sections_and_a_glossary():
    sections = sections_of(SHEET.read_text(encoding="utf-8"))
    assert set(range(1, 8)) <= sections, sorted(sections)
    assert re.search(r"^##\s+8\.\s+Glossary", SHEET.read_text(encoding="utf-8"), flags=re.M)


@pytest.mark.parametrize("path", scanned_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_reference_resolves(path):
    sections = sections_of(SHEET.read_text(encoding="utf-8"))
    bad = unresolved(text_of(path), sections)
    assert not bad, f"{path.relative_to(ROOT)}: references to sections docs/theory.md does not have: {bad}"


#: Where a reader learns what "THEORY" is: these must name the sheet's path.
NAMES_THE_SHEET = ["README.md", "CONTRIBUTING.md", "notebooks/00_start_here.ipynb", "gaugelab/__init__.py"]


@pytest.mark.parametrize("name", NAMES_THE_SHEET)
def test_the_entry_points_name_the_sheet(name):
    text = text_of(ROOT / name)
    assert re.search(r"\bTHEORY\b", text), f"{name} should say what THEORY is"
    assert "docs/theory.md" in text, f"{name} mentions THEORY but never names docs/theory.md"


# --- the scanner itself must be able to fail ---------------------------------------------------


def test_a_planted_bad_reference_is_caught():
    sections = {1, 2, 3, 4, 5, 6, 7, 8}
    assert unresolved("see THEORY §9 for the proof", sections) == ["'THEORY §9' cites §9"]
    assert unresolved("(THEORY §3–§12)", sections)  # a range reaching past the sheet
    assert unresolved("THEORY §1, §2, §14", sections) == ["'THEORY §1, §2, §14' cites §14"]
    assert not unresolved("THEORY §4's limit, (THEORY, §1–§7), THEORY §3-§5", sections)


def test_ranges_and_lists_are_expanded():
    cited = {n for n, _ in cited_sections("THEORY §3–§5 and THEORY §1, §2, §6")}
    assert cited == {1, 2, 3, 4, 5, 6}


def test_a_planted_bad_reference_in_a_notebook_fails(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("As THEORY §12 says, ...")]
    path = tmp_path / "99_planted.ipynb"
    nbformat.write(nb, path)
    sections = sections_of(SHEET.read_text(encoding="utf-8"))
    assert unresolved(text_of(path), sections) == ["'THEORY §12' cites §12"]
