"""The Japanese catalogue: complete, reviewed, placeholders intact, and really used by Django."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from django.utils import translation
from django.utils.translation import trans_real

ROOT = Path(__file__).resolve().parent.parent
LOCALE_DIR = ROOT / "locale"
PO_FILE = LOCALE_DIR / "ja" / "LC_MESSAGES" / "django.po"
MO_FILE = PO_FILE.with_suffix(".mo")

# A named placeholder: %(name)s, %(n)d, %(need)s … (flags, width and precision allowed).
NAMED_PLACEHOLDER = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrs]")


def _catalog() -> Catalog:
    with PO_FILE.open("rb") as po:
        return read_po(po, locale="ja")


def _messages() -> list[Message]:
    """Every entry except the header."""
    return [m for m in _catalog() if m.id]


def _ids(message: Message) -> tuple[str, str | None]:
    if isinstance(message.id, (list, tuple)):
        return message.id[0], message.id[1]
    return message.id, None


def _strings(message: Message) -> list[str]:
    if isinstance(message.string, (list, tuple)):
        return list(message.string)
    return [message.string]


def _placeholders(text: str) -> set[str]:
    return {m.group(0) for m in NAMED_PLACEHOLDER.finditer(text)}


def _compile_catalogue() -> None:
    """What `make messages` does; used when the .mo is missing or older than the .po."""
    pybabel = Path(sys.executable).parent / "pybabel"
    if pybabel.exists():
        subprocess.run(
            [str(pybabel), "compile", "--use-fuzzy", "-d", str(LOCALE_DIR), "-D", "django", "-l", "ja"],
            check=True,
            capture_output=True,
        )
    else:
        with MO_FILE.open("wb") as mo:
            write_mo(mo, _catalog(), use_fuzzy=True)


@pytest.fixture(scope="module")
def compiled_catalogue() -> Path:
    if not MO_FILE.exists() or MO_FILE.stat().st_mtime < PO_FILE.stat().st_mtime:
        _compile_catalogue()
        # Django caches the catalogues it has loaded; drop them so the new .mo is read.
        trans_real._translations = {}
        trans_real._default = None
    assert MO_FILE.exists()
    return MO_FILE


def test_header_is_reviewed_japanese():
    catalog = _catalog()
    assert not catalog.fuzzy, "the header entry is still marked fuzzy"
    assert catalog.num_plurals == 1
    header = dict(catalog.mime_headers)
    assert header["Language"] == "ja"
    assert header["Project-Id-Version"].strip() == "kpitree"  # babel rebuilds it as "<project> <version>"


def test_every_entry_is_translated_and_not_fuzzy():
    messages = _messages()
    assert len(messages) > 300
    empty = [_ids(m)[0] for m in messages if not all(s.strip() for s in _strings(m))]
    fuzzy = [_ids(m)[0] for m in messages if m.fuzzy]
    assert not empty, f"untranslated entries: {empty}"
    assert not fuzzy, f"fuzzy entries: {fuzzy}"


def test_plural_entries_have_exactly_one_form():
    for message in _messages():
        if message.pluralizable:
            assert len(_strings(message)) == 1, _ids(message)[0]


def test_placeholders_match():
    mismatched = []
    for message in _messages():
        singular, plural = _ids(message)
        # Japanese has one plural form, used for every count: it must carry the plural's placeholders.
        expected = _placeholders(plural if plural is not None else singular)
        for string in _strings(message):
            if _placeholders(string) != expected:
                mismatched.append((singular, string))
    assert not mismatched, f"placeholders differ: {mismatched}"


def test_django_uses_the_compiled_japanese_catalogue(compiled_catalogue):
    with translation.override("ja"):
        assert translation.gettext("KPI trees") == "KPIツリー"
        assert translation.gettext("Log out") == "ログアウト"
        assert translation.ngettext("%(nodes)s node", "%(nodes)s nodes", 3) % {"nodes": 3} == "3 件のノード"
    with translation.override("en"):
        assert translation.gettext("KPI trees") == "KPI trees"


def test_compiled_catalogue_matches_the_po_file(compiled_catalogue):
    """A stale .mo (compiled before the last .po edit) would show old or missing translations."""
    stale = []
    with translation.override("ja"):
        for message in _messages():
            singular, plural = _ids(message)
            if plural is None:
                got = translation.gettext(singular)
            else:
                got = translation.ngettext(singular, plural, 2)
            if got != _strings(message)[0]:
                stale.append((singular, got))
    assert not stale, f"Django returns something else than the .po for: {stale}"
