"""The README's benchmark table is the goals table of bench/RESULTS.md, copied between the same markers.

`.venv/bin/python -m bench.readme_table` rewrites it; `--check` exits 1 when the two differ.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.common import REPO
from bench.results_md import TABLE_END, TABLE_START


def table_of(text: str, where: str) -> str:
    start, end = text.find(TABLE_START), text.find(TABLE_END)
    if start < 0 or end < start:
        raise ValueError("%s has no %s ... %s block" % (where, TABLE_START, TABLE_END))
    return text[start:end + len(TABLE_END)]


def update(readme: Path, results: Path) -> bool:
    """Copy the table; True when the README changed."""
    text = readme.read_text()
    updated = text.replace(table_of(text, str(readme)), table_of(results.read_text(), str(results)))
    if updated != text:
        readme.write_text(updated)
    return updated != text


def in_step(readme: Path, results: Path) -> bool:
    return table_of(readme.read_text(), str(readme)) == table_of(results.read_text(), str(results))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    readme, results = REPO / "README.md", REPO / "bench" / "RESULTS.md"
    if args.check:
        if not in_step(readme, results):
            print("README.md's benchmark table differs from bench/RESULTS.md: run python -m bench.readme_table")
            return 1
        return 0
    print("README.md %s" % ("updated" if update(readme, results) else "already in step"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
