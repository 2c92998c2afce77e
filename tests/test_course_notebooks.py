"""House rules of the course notebooks (CONTRIBUTING.md), checked on the committed files.

- exercises go through the registry: every ``check(...)`` call passes the name and the answer
  only, the rest as keywords (no visible expected value);
- no stray ``Out[n]: True/False``;
- every widget is shown once: no ``.show_static()`` before the live widget;
- every "Think!" prompt has a collapsed discussion note for instructors;
- figures use the course theme: ``template=theme.template()``, no hard-coded hex colours or
  plotly templates;
- every notebook has a widget, and the header's estimated time matches notebook 00's map.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
#: The notebooks these rules are enforced on: every course notebook.
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
DISCUSSION = "<details><summary>Discussion (for instructors)</summary>"


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def read(path):
    return nbformat.read(path, as_version=4)


@pytest.fixture(params=NOTEBOOKS, ids=lambda p: p.stem)
def notebook(request):
    return request.param, read(request.param)


def test_checks_never_show_the_expected_value(notebook):
    path, nb = notebook
    for cell in code_cells(nb):
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "check":
                legacy = f"{path.name}: legacy check(name, answer, expected): {ast.unparse(node)}"
                assert len(node.args) == 2, legacy
                name = node.args[0]
                assert isinstance(name, ast.Constant) and str(name.value).startswith(path.name[:2] + ".")


def test_no_stray_true_false_outputs(notebook):
    path, nb = notebook
    for i, cell in enumerate(code_cells(nb)):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "execute_result":
                text = out.get("data", {}).get("text/plain", "")
                assert text not in ("True", "False", "None"), f"{path.name} code cell {i}: Out = {text}"


def test_each_widget_is_shown_once(notebook):
    path, nb = notebook
    sources = "\n".join(c.source for c in code_cells(nb))
    assert ".show_static()" not in sources, f"{path.name}: a static copy precedes the live widget"
    shown = re.search(r"^\s*(display\()?\w+\.widget\)?\s*$", sources, flags=re.M)
    assert shown, f"{path.name}: no widget shown"


def test_every_think_prompt_has_a_discussion_note(notebook):
    path, nb = notebook
    for cell in nb.cells:
        if cell.cell_type != "markdown" or "**Think!**" not in cell.source:
            continue
        parts = cell.source.split("**Think!**")[1:]
        for part in parts:
            assert DISCUSSION in part, f"{path.name}: a Think! prompt without a note: {part[:80]!r}"
            note = part.split(DISCUSSION, 1)[1].split("</details>", 1)[0]
            assert len(note.split()) >= 25, f"{path.name}: a discussion note too short to help: {note!r}"


def test_figures_use_the_course_theme(notebook):
    path, nb = notebook
    for i, cell in enumerate(code_cells(nb)):
        src = cell.source
        where = f"{path.name} code cell {i}"
        assert not re.search(r"#[0-9a-fA-F]{6}\b", src), f"{where}: a hard-coded hex colour"
        assert "plotly_white" not in src and "plotly_dark" not in src, f"{where}: a plotly template"
        if re.search(r"\bgo\.Figure\(", src):
            assert "template=theme.template()" in src, f"{where}: a figure without the theme"
        assert 'yaxis_type="log"' not in src and 'type="log"' not in src, f"{where}: use theme.log_axis"


def test_header_time_matches_the_map():
    nb00 = read(ROOT / "notebooks" / "00_start_here.ipynb")
    table = next(c.source for c in nb00.cells if c.source.startswith("## 2. The map"))
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        header = read(path).cells[0].source
        minutes = re.search(r"\*\*Estimated time\*\*:?\s*(\d+)\s*min", header)
        assert minutes, f"{path.name}: no 'Estimated time' in the header"
        row = next(line for line in table.splitlines() if f"({path.name})" in line)
        header_min = minutes.group(1)
        assert re.search(rf"~{header_min} min", row), f"{path.name}: {header_min} min vs the map: {row}"
