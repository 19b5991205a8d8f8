#!/usr/bin/env python3
"""Compares the fleet store's TSBS answers with DuckDB's, row by row, and prints the latencies
side by side with their ratios.

    compare.py DUCKDB_RESULTS.json STORE_RESULTS.json

Columns are matched by name (the store's `t` is DuckDB's `day_us`); rows are compared as sorted
multisets, numbers with a relative tolerance of 1e-9. Exit status 1 when any answer differs.
"""
import json
import math
import sys

ALIASES = {"day_us": "t"}


def project(result, columns):
    names = result["columns"]
    index = []
    for c in columns:
        for candidate in (c, ALIASES.get(c)):
            if candidate in names:
                index.append(names.index(candidate))
                break
        else:
            raise KeyError(f"column {c!r} not in {names}")
    return [[row[i] for i in index] for row in result["rows"]]


def key(row):
    row = [number(v) for v in row]
    return [(v is None, "" if v is None else (f"{v:.9g}" if isinstance(v, (int, float)) else str(v)))
            for v in row]


def number(v):
    """Attributes are strings in the store (load_capacity "1500"); numbers when they parse."""
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            return v
    return v


def same(a, b):
    if a is None or b is None:
        return a is None and b is None
    a, b = number(a), number(b)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return str(a) == str(b)


def main():
    duck = json.load(open(sys.argv[1]))["queries"]
    store = json.load(open(sys.argv[2]))["queries"]
    failed = False
    print(f"{'query':36} {'rows':>6} {'DuckDB 1 thr':>13} {'DuckDB 2 thr':>13} {'store':>9} "
          f"{'ratio':>7}  answer")
    for name, d in duck.items():
        s = store.get(name)
        if s is None:
            print(f"{name:36} missing in the store's results")
            failed = True
            continue
        try:
            ours = sorted(project(s, d["columns"]), key=key)
            theirs = sorted([list(r) for r in d["rows"]], key=key)
            diffs = [(a, b) for a, b in zip(ours, theirs) if not all(map(same, a, b))]
            ok = len(ours) == len(theirs) and not diffs
            verdict = "same" if ok else f"DIFFERS ({len(ours)} vs {len(theirs)} rows, {len(diffs)} differ)"
            if not ok:
                failed = True
                for a, b in diffs[:3]:
                    verdict += f"\n      store {a}\n      duckdb {b}"
        except KeyError as e:
            verdict, failed = f"DIFFERS: {e}", True
        lat = d["latency_ms"]
        best_duck = min(v["median"] for v in lat.values())
        ours_ms = s["latency_ms"]["1"]["median"]
        print(f"{name:36} {len(d['rows']):>6} {lat.get('1', {}).get('median', float('nan')):>11.1f}ms "
              f"{lat.get('2', {}).get('median', float('nan')):>11.1f}ms {ours_ms:>7.1f}ms "
              f"{best_duck / ours_ms:>6.1f}x  {verdict}")
    print("ratio: DuckDB's better median (1 or 2 threads) / the store's median (1 thread); >1 = store faster")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
