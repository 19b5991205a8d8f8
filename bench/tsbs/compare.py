#!/usr/bin/env python3
"""Compares the fleet store's TSBS answers with DuckDB's, row by row, and prints the latencies
side by side with their ratios.

    compare.py --duckdb RESULTS.json [...] --store RESULTS.json [...]

Each file is one run of an engine (DuckDB's at 1 and 2 threads, the store's at one thread count).
For each engine and thread count, the lowest median over the files counts: the runs alternate
between the engines, so that a slow spell of this shared machine hits both. The ratio compares
each engine at its best thread count (DuckDB's / the store's; above 1, the store is faster).

Columns are matched by name (the store's `t` is DuckDB's `day_us`); rows are compared as sorted
multisets, numbers with a relative tolerance of 1e-9. Exit status 1 when any answer differs.
"""
import argparse
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


def latencies(results):
    """{query: {threads: lowest median}} over the runs of one engine."""
    best = {}
    for result in results:
        for name, q in result["queries"].items():
            for threads, lat in q["latency_ms"].items():
                slot = best.setdefault(name, {})
                slot[threads] = min(slot.get(threads, math.inf), lat["median"])
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duckdb", nargs="+", required=True)
    parser.add_argument("--store", nargs="+", required=True)
    args = parser.parse_args()
    duck_runs = [json.load(open(f)) for f in args.duckdb]
    store_runs = [json.load(open(f)) for f in args.store]
    duck, store = duck_runs[0]["queries"], store_runs[0]["queries"]
    duck_ms, store_ms = latencies(duck_runs), latencies(store_runs)
    failed = False
    print(f"{'query':36} {'rows':>6} {'DuckDB 1 thr':>13} {'DuckDB 2 thr':>13} "
          f"{'store 1 thr':>12} {'store 2 thr':>12} {'ratio':>7}  answer")
    for name, d in duck.items():
        s = store.get(name)
        if s is None:
            print(f"{name:36} missing in the store's results")
            failed = True
            continue
        try:
            for run in store_runs:  # every run of the store gives DuckDB's answer
                ours = sorted(project(run["queries"][name], d["columns"]), key=key)
                theirs = sorted([list(r) for r in d["rows"]], key=key)
                diffs = [(a, b) for a, b in zip(ours, theirs) if not all(map(same, a, b))]
                ok = len(ours) == len(theirs) and not diffs
                verdict = "same" if ok else f"DIFFERS ({len(ours)} vs {len(theirs)} rows, {len(diffs)} differ)"
                if not ok:
                    failed = True
                    for a, b in diffs[:3]:
                        verdict += f"\n      store {a}\n      duckdb {b}"
                    break
        except KeyError as e:
            verdict, failed = f"DIFFERS: {e}", True
        dl, sl = duck_ms[name], store_ms.get(name, {})
        nan = float("nan")
        print(f"{name:36} {len(d['rows']):>6} {dl.get('1', nan):>11.1f}ms {dl.get('2', nan):>11.1f}ms "
              f"{sl.get('1', nan):>10.1f}ms {sl.get('2', nan):>10.1f}ms "
              f"{min(dl.values()) / min(sl.values()):>6.2f}x  {verdict}")
    print(f"latencies: the lowest median over {len(duck_runs)} DuckDB and {len(store_runs)} store runs; "
          "ratio: DuckDB's best / the store's best; >1 = store faster")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
