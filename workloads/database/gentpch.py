"""Generate the database workload's TPC-H-style database, deterministically.

    python gentpch.py OUT_DIR [--scale 0.02] [--seed 1997]

writes OUT_DIR/tpch.db (SQLite): the eight TPC-H tables (region, nation,
supplier, customer, part, partsupp, orders, lineitem) with TPC-H's row counts
times the scale and value ranges after its specification, drawn from Python's
random.Random(seed), so the same arguments give the same file bit for bit.
Money is in integer cents and discount and tax in whole percents, so every
query's arithmetic is exact and any SQLite gives the same rows.  Indexes are
the primary keys and the foreign keys the joins use.
"""
from __future__ import annotations

import argparse
import datetime
import os
import random
import sqlite3
from pathlib import Path

REGIONS = ["AFRICA", "AMERICA", "ASIA", "EUROPE", "MIDDLE EAST"]
NATIONS = [("ALGERIA", 0), ("ARGENTINA", 1), ("BRAZIL", 1), ("CANADA", 1), ("EGYPT", 4), ("ETHIOPIA", 0),
           ("FRANCE", 3), ("GERMANY", 3), ("INDIA", 2), ("INDONESIA", 2), ("IRAN", 4), ("IRAQ", 4),
           ("JAPAN", 2), ("JORDAN", 4), ("KENYA", 0), ("MOROCCO", 0), ("MOZAMBIQUE", 0), ("PERU", 1),
           ("CHINA", 2), ("ROMANIA", 3), ("SAUDI ARABIA", 4), ("VIETNAM", 2), ("RUSSIA", 3),
           ("UNITED KINGDOM", 3), ("UNITED STATES", 1)]
SEGMENTS = ["AUTOMOBILE", "BUILDING", "FURNITURE", "HOUSEHOLD", "MACHINERY"]
PRIORITIES = ["1-URGENT", "2-HIGH", "3-MEDIUM", "4-NOT SPECIFIED", "5-LOW"]
SHIPMODES = ["AIR", "FOB", "MAIL", "RAIL", "REG AIR", "SHIP", "TRUCK"]
INSTRUCTIONS = ["COLLECT COD", "DELIVER IN PERSON", "NONE", "TAKE BACK RETURN"]
TYPE_WORDS = (["STANDARD", "SMALL", "MEDIUM", "LARGE", "ECONOMY", "PROMO"],
              ["ANODIZED", "BURNISHED", "PLATED", "POLISHED", "BRUSHED"],
              ["TIN", "NICKEL", "BRASS", "STEEL", "COPPER"])
CONTAINERS = [f"{a} {b}" for a in ("SM", "LG", "MED", "JUMBO", "WRAP")
              for b in ("CASE", "BOX", "BAG", "JAR", "PKG", "PACK", "CAN", "DRUM")]
WORDS = ("furiously quickly carefully blithely slyly final regular special express pending ironic bold "
         "even silent unusual deposits requests accounts packages theodolites instructions foxes "
         "pinto beans dependencies platelets ideas asymptotes courts dolphins sheaves").split()
START = datetime.date(1992, 1, 1)
CURRENT = datetime.date(1995, 6, 17)              # TPC-H's "current date": line status O after it
ORDER_DAYS = (datetime.date(1998, 8, 2) - START).days - 151

SCHEMA = """
create table region(r_regionkey integer primary key, r_name text, r_comment text);
create table nation(n_nationkey integer primary key, n_name text, n_regionkey integer, n_comment text);
create table supplier(s_suppkey integer primary key, s_name text, s_address text, s_nationkey integer,
                      s_phone text, s_acctbal integer, s_comment text);
create table customer(c_custkey integer primary key, c_name text, c_address text, c_nationkey integer,
                      c_phone text, c_acctbal integer, c_mktsegment text, c_comment text);
create table part(p_partkey integer primary key, p_name text, p_mfgr text, p_brand text, p_type text,
                  p_size integer, p_container text, p_retailprice integer, p_comment text);
create table partsupp(ps_partkey integer, ps_suppkey integer, ps_availqty integer, ps_supplycost integer,
                      ps_comment text, primary key(ps_partkey, ps_suppkey));
create table orders(o_orderkey integer primary key, o_custkey integer, o_orderstatus text,
                    o_totalprice integer, o_orderdate text, o_orderpriority text, o_clerk text,
                    o_shippriority integer, o_comment text);
create table lineitem(l_orderkey integer, l_partkey integer, l_suppkey integer, l_linenumber integer,
                      l_quantity integer, l_extendedprice integer, l_discount integer, l_tax integer,
                      l_returnflag text, l_linestatus text, l_shipdate text, l_commitdate text,
                      l_receiptdate text, l_shipinstruct text, l_shipmode text, l_comment text,
                      primary key(l_orderkey, l_linenumber));
"""
INDEXES = """
create index orders_cust on orders(o_custkey);
create index lineitem_part on lineitem(l_partkey);
create index customer_nation on customer(c_nationkey);
create index supplier_nation on supplier(s_nationkey);
"""


def _text(rng: random.Random, lo: int, hi: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(lo, hi)))


def _phone(rng: random.Random, nation: int) -> str:
    return f"{nation + 10}-{rng.randint(100, 999)}-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}"


def generate(db: Path, scale: float, seed: int) -> None:
    """Write the database of `scale` (TPC-H scale factor) to `db`."""
    rng = random.Random(seed)
    n_supp, n_cust = max(10, int(10_000 * scale)), max(150, int(150_000 * scale))
    n_part, n_orders = max(200, int(200_000 * scale)), max(1500, int(1_500_000 * scale))
    tmp = db.with_name(f".{db.name}.{os.getpid()}")
    if tmp.exists():
        tmp.unlink()
    con = sqlite3.connect(tmp)
    con.executescript("pragma page_size=4096; pragma journal_mode=off; pragma synchronous=off;" + SCHEMA)
    con.executemany("insert into region values(?,?,?)", [(i, r, _text(rng, 3, 8)) for i, r in enumerate(REGIONS)])
    con.executemany("insert into nation values(?,?,?,?)",
                    [(i, n, r, _text(rng, 3, 8)) for i, (n, r) in enumerate(NATIONS)])
    con.executemany("insert into supplier values(?,?,?,?,?,?,?)", [
        (k, f"Supplier#{k:09d}", _text(rng, 2, 4), (nk := rng.randrange(25)), _phone(rng, nk),
         rng.randint(-99_999, 999_999), _text(rng, 5, 12)) for k in range(1, n_supp + 1)])
    con.executemany("insert into customer values(?,?,?,?,?,?,?,?)", [
        (k, f"Customer#{k:09d}", _text(rng, 2, 4), (nk := rng.randrange(25)), _phone(rng, nk),
         rng.randint(-99_999, 999_999), rng.choice(SEGMENTS), _text(rng, 5, 12)) for k in range(1, n_cust + 1)])
    prices = {}
    parts = []
    for k in range(1, n_part + 1):
        m = rng.randint(1, 5)
        prices[k] = 90_000 + (k // 10) % 20_001 + 100 * (k % 1000)
        parts.append((k, " ".join(rng.sample(WORDS, 5)), f"Manufacturer#{m}", f"Brand#{m}{rng.randint(1, 5)}",
                      " ".join(rng.choice(w) for w in TYPE_WORDS), rng.randint(1, 50), rng.choice(CONTAINERS),
                      prices[k], _text(rng, 2, 6)))
    con.executemany("insert into part values(?,?,?,?,?,?,?,?,?)", parts)

    def supplier_of(part: int, i: int) -> int:           # four different suppliers per part, spread evenly
        return (part + i * (n_supp // 4)) % n_supp + 1
    con.executemany("insert into partsupp values(?,?,?,?,?)", [
        (p, supplier_of(p, i), rng.randint(1, 9999), rng.randint(100, 100_000), _text(rng, 8, 20))
        for p in range(1, n_part + 1) for i in range(4)])
    orders, lines = [], []
    for j in range(1, n_orders + 1):
        okey = (j - 1) // 8 * 32 + (j - 1) % 8 + 1        # TPC-H's sparse order keys
        cust = rng.randint(1, n_cust)
        while cust % 3 == 0:                               # a third of the customers never order
            cust = rng.randint(1, n_cust)
        odate = START + datetime.timedelta(days=rng.randrange(ORDER_DAYS))
        total, statuses = 0, set()
        for ln in range(1, rng.randint(1, 7) + 1):
            part = rng.randint(1, n_part)
            qty, disc, tax = rng.randint(1, 50), rng.randint(0, 10), rng.randint(0, 8)
            price = qty * prices[part]
            ship = odate + datetime.timedelta(days=rng.randint(1, 121))
            commit = odate + datetime.timedelta(days=rng.randint(30, 90))
            receipt = ship + datetime.timedelta(days=rng.randint(1, 30))
            flag = rng.choice("RA") if receipt <= CURRENT else "N"
            status = "O" if ship > CURRENT else "F"
            statuses.add(status)
            total += price * (100 - disc) * (100 + tax) // 10_000
            lines.append((okey, part, supplier_of(part, rng.randrange(4)), ln, qty, price, disc, tax, flag, status,
                          ship.isoformat(), commit.isoformat(), receipt.isoformat(), rng.choice(INSTRUCTIONS),
                          rng.choice(SHIPMODES), _text(rng, 2, 6)))
        ostatus = "F" if statuses == {"F"} else "O" if statuses == {"O"} else "P"
        orders.append((okey, cust, ostatus, total, odate.isoformat(), rng.choice(PRIORITIES),
                       f"Clerk#{rng.randint(1, max(1, int(1000 * scale))):09d}", 0, _text(rng, 4, 10)))
    con.executemany("insert into orders values(?,?,?,?,?,?,?,?,?)", orders)
    con.executemany("insert into lineitem values(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", lines)
    con.executescript(INDEXES + "analyze;")
    con.commit()
    con.execute("vacuum")
    con.close()
    os.replace(tmp, db)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path, help="folder to write tpch.db into")
    ap.add_argument("--scale", type=float, default=0.02, help="TPC-H scale factor (1: 6 M line items)")
    ap.add_argument("--seed", type=int, default=1997)
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    generate(a.out / "tpch.db", a.scale, a.seed)


if __name__ == "__main__":
    main()
