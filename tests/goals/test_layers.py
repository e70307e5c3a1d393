"""The domain does not depend on the pages (§3 of issue 9): no module of ``goals`` imports
``dashboards``, so the rules live in goals and the dashboards only read and draw them."""

from __future__ import annotations

import ast
from pathlib import Path

import goals

GOALS = Path(goals.__file__).parent


def imported_modules(source: str) -> set[str]:
    """Every module a Python source imports, at any depth (a function-level import counts)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_imported_modules_sees_every_form_of_import():
    source = "import dashboards.figures\nfrom dashboards import pages\ndef f():\n    from dashboards.windows import X\n"
    assert {"dashboards.figures", "dashboards", "dashboards.windows"} <= imported_modules(source)


def test_no_module_of_goals_imports_dashboards():
    offenders = {
        str(path.relative_to(GOALS.parent)): sorted(
            name for name in imported_modules(path.read_text()) if name.split(".")[0] == "dashboards"
        )
        for path in sorted(GOALS.rglob("*.py"))
    }
    assert {path: names for path, names in offenders.items() if names} == {}
