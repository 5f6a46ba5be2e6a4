"""A benchmark's table in ``docs/benchmarks.md``: the text between its two markers."""

from __future__ import annotations

from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def replace_block(begin: str, end: str, text: str, doc: Path = DOC) -> None:
    """Put ``text`` between the markers ``begin`` and ``end`` (appended with them if absent)."""
    current = doc.read_text() if doc.exists() else "# Benchmarks\n"
    block = f"{begin}\n{text}{end}"
    if begin in current:
        head, rest = current.split(begin, 1)
        current = head + block + rest.split(end, 1)[1]
    else:
        current = current.rstrip("\n") + "\n\n" + block + "\n"
    doc.write_text(current)
