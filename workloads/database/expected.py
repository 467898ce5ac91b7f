"""The database workload's answers as the host's own SQLite gives them.

    python expected.py DB            # one line per query: "qN ROWS MD5", then "answers MD5"

The guest prints the same line for each query (its row count and the md5 of
its rows as sqlite3's list mode writes them: values joined by '|', one row a
line), so comparing the lines compares the rows.  workload.toml's
check.stdout_contains holds these lines for the database gentpch.py makes.
"""
from __future__ import annotations

import hashlib
import sqlite3
import sys
from pathlib import Path

QUERIES = (1, 3, 5, 6, 10, 12, 14, 18)
HERE = Path(__file__).resolve().parent


def list_mode(rows: list[tuple]) -> str:
    """Rows as sqlite3's shell prints them in its default list mode (NULL: empty)."""
    return "".join("|".join("" if v is None else str(v) for v in row) + "\n" for row in rows)


def answers(db: Path, queries: Path = HERE / "queries") -> list[str]:
    """"qN ROWS MD5" for each query over `db`, opened read-only."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        lines = []
        for q in QUERIES:
            rows = con.execute((queries / f"q{q}.sql").read_text()).fetchall()
            lines.append(f"q{q} {len(rows)} {hashlib.md5(list_mode(rows).encode()).hexdigest()}")
        return lines
    finally:
        con.close()


def digest(lines: list[str]) -> str:
    """The md5 the guest prints of its eight answer lines (md5sum of stdin ends each with "  -")."""
    return hashlib.md5("".join(f"{line}  -\n" for line in lines).encode()).hexdigest()


if __name__ == "__main__":
    lines = answers(Path(sys.argv[1]))
    print("\n".join(lines))
    print(f"answers {digest(lines)}")
