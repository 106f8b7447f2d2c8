"""The docs are reference pages: no dates, commit hashes or clock times in them (provenance lives in the results)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
PAGES = sorted((ROOT / "docs").rglob("*.md")) + [ROOT / "README.md"]
DATE = re.compile(r"\b20\d\d-[01]\d-[0-3]\d\b")
HASH = re.compile(r"\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*\d)[0-9a-f]{7,40}\b")  # hex with letters and digits
CLOCK = re.compile(r"\b(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d)?\s*(?:UTC|am|pm|h\b)", re.IGNORECASE)


def findings(text: str) -> list[str]:
    """Every date, commit-hash-like token and clock time in ``text``, with its line number."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        for pattern in (DATE, HASH, CLOCK):
            found += [f"line {number}: {match.group(0)!r}" for match in pattern.finditer(line)]
    return found


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_dates_hashes_or_clock_times(page):
    found = findings(page.read_text())
    assert not found, (
        f"{page.relative_to(ROOT)}: {found}; write in timeless terms (the bundled model, the CDF-state DWM) and keep "
        "provenance in the result files (benchmarks/results), which the generated tables cite"
    )


def test_the_check_catches_each_kind():
    text = "## Scores (2026-12-04)\nat commit 1d1b855, measured 14:05 UTC\nthe 1,000 steps; H = 5; deadbeef"
    assert [f.split(": ", 1)[1] for f in findings(text)] == ["'2026-12-04'", "'1d1b855'", "'14:05 UTC'"]
