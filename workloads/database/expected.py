"""The database workload's answers as the host's own SQLite gives them.

    python expected.py DB     # per query: "qN ROWS MD5", then the line the guest prints, "MD5  /tmp/r/qN.out"

The guest prints the md5 of each query's rows as sqlite3's list mode writes
them (values joined by '|', one row a line), so comparing the md5s compares the
rows.  workload.toml's check.stdout_contains holds these lines (md5_lines) for
the database gentpch.py makes.
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


def md5_lines(db: Path, folder: str, queries: Path = HERE / "queries") -> list[str]:
    """What the guest's md5sum prints for each query's rows in `folder` ("MD5  FOLDER/qN.out")."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        lines = []
        for q in QUERIES:
            rows = con.execute((queries / f"q{q}.sql").read_text()).fetchall()
            lines.append(f"{hashlib.md5(list_mode(rows).encode()).hexdigest()}  {folder}/q{q}.out")
        return lines
    finally:
        con.close()


if __name__ == "__main__":
    print("\n".join(answers(Path(sys.argv[1]))))
    print("\n".join(md5_lines(Path(sys.argv[1]), "/tmp/r")))
