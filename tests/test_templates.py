"""Ids printed into HTML are never localised: with the thousands separator on, node 13882 would be
written "13,882" and links and data attributes would point nowhere once ids pass 999."""

from __future__ import annotations

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
PRINTED_ID = re.compile(r"\{\{\s*[\w.]*\.(pk|id|tree_id|node_id|root_id|parent_id|owner_id|user_id)\s*\}\}")


def test_every_printed_id_is_unlocalized():
    offenders = [
        f"{path.relative_to(TEMPLATES)}:{number}: {line.strip()}"
        for path in sorted(TEMPLATES.rglob("*.html"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if PRINTED_ID.search(line)
    ]
    assert offenders == []
