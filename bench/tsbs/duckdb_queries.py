#!/usr/bin/env python3
"""The 12 queries of TSBS's IoT use case in DuckDB, over canvoy_tsbs_generate's CSV files.

Loads tags.csv, readings.csv and diagnostics.csv (TSBS's TimescaleDB layout, time as integer
microseconds in time_us) into DuckDB, times the load, then runs each query warm, --repeat times,
once per --threads setting, and writes latencies and result rows as JSON (--results) so that
another program (the fleet store's side) can compare its answers row by row.

Run it with the venv that bench/tsbs/setup-duckdb.sh makes (this script installs nothing):
    ~/.cache/canvoy/duckdb-venv/bin/python bench/tsbs/duckdb_queries.py /work/tsbs-data/full \
        --results /work/tsbs-data/full/duckdb-results.json

Query semantics (bench/tsbs/README.md has the same text; the fleet store implements exactly this)
-----------------------------------------------------------------------------------------------
Common rules
  * "with a name": the truck's name tag is not NULL. Tags are per truck (one tags row each).
  * F, now and the thresholds come from params.json. A bucket is a ten-minute interval aligned to
    the epoch: bucket = floor(time_us / 600e6). A UTC day: day_us = floor(time_us / 86400e6) *
    86400e6. Windows are half-open, [now - length, now).
  * avg() and comparisons ignore NULL values (SQL). A bucket "has velocity data" when it holds at
    least one non-NULL velocity; a bucket whose values are all NULL does not exist for that field.
  * Grouping keys that are NULL tags form their own group (SQL GROUP BY); such rows are output
    with null keys. Float results are to be compared with a relative tolerance (1e-9): sums of
    doubles in another order differ in the last bits.
  * Rows are ordered by the key columns (NULLs last); keys are unique in every result.

 1 last-loc(F): trucks of fleet F with a name: name, driver, latitude, longitude, where latitude
   is the non-NULL latitude with the greatest time_us, likewise longitude, each on its own
   (NULL if the truck has none; trucks with neither are not listed). Key: name.
 2 low-fuel(F): trucks of fleet F with a name whose latest non-NULL fuel_state < 0.1: name,
   driver, fuel_state. Key: name.
 3 high-load(F): trucks of fleet F with a name whose latest non-NULL current_load /
   load_capacity >= 0.9 (a NULL load_capacity never qualifies): name, driver, current_load,
   load_capacity. Key: name.
 4 stationary-trucks(F, now): trucks of fleet F with a name whose avg(velocity) over
   [now - 10 min, now) < 1 (trucks without velocity data there are not listed): name, driver.
 5 long-driving-sessions(F, now): trucks of fleet F with a name that have more than 22 buckets
   with avg(velocity) > 1 in [now - 4 h, now): name, driver.
 6 long-daily-sessions(F, now): the same over [now - 24 h, now) with more than 60 buckets.
 7 avg-vs-projected-fuel-consumption: per fleet, over trucks with a name, a fleet and a
   nominal_fuel_consumption, and over their readings with velocity > 1 and fuel_consumption not
   NULL: fleet, avg(fuel_consumption), avg(nominal_fuel_consumption) over the same rows (so
   weighted by each truck's number of such readings). Key: fleet.
 8 avg-daily-driving-duration: per truck with a name and per UTC day: the number of its buckets
   in that day with avg(velocity) > 1, divided by 6 (hours): name, fleet, driver, day_us, hours.
   Days with no such bucket are not listed. Key: name, day_us.
 9 avg-daily-driving-session: per truck with a name, its buckets with velocity data in time
   order; driving = avg(velocity) > 5. A session starts at a driving bucket whose previous bucket
   (the previous one with data, however far back) is not driving, and ends at the start of the
   next bucket that is not driving; duration = end - start. As in TSBS (lag() is NULL there), the
   truck's first bucket never starts a session, even when driving; sessions with no
   non-driving bucket after them have no end (TSBS's lead() is NULL) and are dropped. Per truck
   and UTC day of the session's start: name, day_us, avg duration in minutes. Key: name, day_us.
10 avg-load: per (fleet, model, load_capacity) over trucks with a name and at least one
   current_load: avg over the trucks of (the truck's avg(current_load) / load_capacity): fleet,
   model, load_capacity, avg_load_fraction (NULL for a NULL load_capacity).
11 daily-activity: per (fleet, model, UTC day) over trucks with a name: the number of (truck,
   bucket) pairs in that day whose avg(status) < 1, divided by 144: fleet, model, day_us,
   daily_activity. Groups with no such pair are not listed.
12 breakdown-frequency: per model over trucks with a name: each truck's buckets with status data
   in time order; broken_down = (its status samples equal to 0) / (its status samples) >= 0.5;
   count the buckets whose broken_down is false and whose next bucket's (the next one with data)
   is true: model, breakdowns. Models with no such bucket are not listed.

Differences from TSBS's TimescaleDB SQL, on purpose: last-loc, low-fuel and high-load take the
latest non-NULL value of each field (TSBS takes the latest row, NULL fields included);
high-load uses >= (TSBS >); the windowed queries end at params.json's now (TSBS draws a random
window); avg-daily-driving-duration reports each day (TSBS averages the days) with hours as a
fraction (TSBS divides integers); daily-activity counts buckets (TSBS sums samples);
breakdown-frequency counts status = 0 samples (TSBS's count(status = 0) counts every sample).
"""

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path

try:
    import duckdb
except ImportError:
    sys.exit("duckdb is not importable: run bench/tsbs/setup-duckdb.sh, then use "
             "~/.cache/canvoy/duckdb-venv/bin/python")

BUCKET_US = 600_000_000
DAY_US = 86_400_000_000

TABLES = {
    "tags": ("tags.csv", {
        "id": "INTEGER", "vin": "VARCHAR", "name": "VARCHAR", "fleet": "VARCHAR",
        "driver": "VARCHAR", "model": "VARCHAR", "device_version": "VARCHAR",
        "load_capacity": "DOUBLE", "fuel_capacity": "DOUBLE",
        "nominal_fuel_consumption": "DOUBLE"}),
    "readings": ("readings.csv", {
        "time_us": "BIGINT", "tags_id": "INTEGER", "latitude": "DOUBLE", "longitude": "DOUBLE",
        "elevation": "DOUBLE", "velocity": "DOUBLE", "heading": "DOUBLE", "grade": "DOUBLE",
        "fuel_consumption": "DOUBLE"}),
    "diagnostics": ("diagnostics.csv", {
        "time_us": "BIGINT", "tags_id": "INTEGER", "fuel_state": "DOUBLE",
        "current_load": "DOUBLE", "status": "DOUBLE"}),
}

# Each query: SQL with $parameters (from params.json), and the names of those parameters.
QUERIES = {
    "last-loc": ("""
        SELECT t.name, t.driver,
               arg_max(r.latitude, r.time_us) FILTER (WHERE r.latitude IS NOT NULL) AS latitude,
               arg_max(r.longitude, r.time_us) FILTER (WHERE r.longitude IS NOT NULL) AS longitude
        FROM tags t JOIN readings r ON r.tags_id = t.id
        WHERE t.name IS NOT NULL AND t.fleet = $fleet
        GROUP BY t.id, t.name, t.driver
        HAVING count(r.latitude) > 0 OR count(r.longitude) > 0
        ORDER BY t.name""", ["fleet"]),
    "low-fuel": ("""
        WITH latest AS (
          SELECT t.name, t.driver,
                 arg_max(d.fuel_state, d.time_us) FILTER (WHERE d.fuel_state IS NOT NULL)
                   AS fuel_state
          FROM tags t JOIN diagnostics d ON d.tags_id = t.id
          WHERE t.name IS NOT NULL AND t.fleet = $fleet
          GROUP BY t.id, t.name, t.driver)
        SELECT name, driver, fuel_state FROM latest WHERE fuel_state < 0.1
        ORDER BY name""", ["fleet"]),
    "high-load": ("""
        WITH latest AS (
          SELECT t.name, t.driver, t.load_capacity,
                 arg_max(d.current_load, d.time_us) FILTER (WHERE d.current_load IS NOT NULL)
                   AS current_load
          FROM tags t JOIN diagnostics d ON d.tags_id = t.id
          WHERE t.name IS NOT NULL AND t.fleet = $fleet
          GROUP BY t.id, t.name, t.driver, t.load_capacity)
        SELECT name, driver, current_load, load_capacity FROM latest
        WHERE current_load / load_capacity >= 0.9
        ORDER BY name""", ["fleet"]),
    "stationary-trucks": ("""
        SELECT t.name, t.driver
        FROM tags t JOIN readings r ON r.tags_id = t.id
        WHERE r.time_us >= $start_us AND r.time_us < $end_us
          AND t.name IS NOT NULL AND t.fleet = $fleet
        GROUP BY t.id, t.name, t.driver
        HAVING avg(r.velocity) < 1
        ORDER BY t.name""", ["fleet", "start_us", "end_us"]),
    "long-driving-sessions": ("""
        WITH driving AS (
          SELECT r.tags_id, r.time_us // 600000000 AS bucket
          FROM readings r JOIN tags t ON t.id = r.tags_id
          WHERE r.time_us >= $start_us AND r.time_us < $end_us
            AND t.name IS NOT NULL AND t.fleet = $fleet
          GROUP BY r.tags_id, bucket
          HAVING avg(r.velocity) > 1)
        SELECT t.name, t.driver
        FROM tags t JOIN driving b ON b.tags_id = t.id
        GROUP BY t.id, t.name, t.driver
        HAVING count(*) > $more_than
        ORDER BY t.name""", ["fleet", "start_us", "end_us", "more_than"]),
    "avg-vs-projected-fuel-consumption": ("""
        SELECT t.fleet,
               avg(r.fuel_consumption) AS avg_fuel_consumption,
               avg(t.nominal_fuel_consumption) AS projected_fuel_consumption
        FROM tags t JOIN readings r ON r.tags_id = t.id
        WHERE t.name IS NOT NULL AND t.fleet IS NOT NULL
          AND t.nominal_fuel_consumption IS NOT NULL
          AND r.velocity > 1 AND r.fuel_consumption IS NOT NULL
        GROUP BY t.fleet
        ORDER BY t.fleet""", []),
    "avg-daily-driving-duration": ("""
        WITH driving AS (
          SELECT tags_id, time_us // 600000000 AS bucket
          FROM readings
          GROUP BY tags_id, bucket
          HAVING avg(velocity) > 1),
        daily AS (
          SELECT tags_id, bucket // 144 AS day, count(*) AS buckets
          FROM driving GROUP BY tags_id, day)
        SELECT t.name, t.fleet, t.driver, d.day * 86400000000 AS day_us,
               d.buckets::DOUBLE / 6 AS hours
        FROM daily d JOIN tags t ON t.id = d.tags_id
        WHERE t.name IS NOT NULL
        ORDER BY t.name, day_us""", []),
    "avg-daily-driving-session": ("""
        WITH status AS (
          SELECT tags_id, time_us // 600000000 * 600000000 AS bucket_us,
                 avg(velocity) > 5 AS driving
          FROM readings
          WHERE velocity IS NOT NULL
          GROUP BY tags_id, bucket_us),
        changes AS (
          SELECT tags_id, bucket_us, driving,
                 lag(driving) OVER (PARTITION BY tags_id ORDER BY bucket_us) AS prev_driving
          FROM status),
        sessions AS (
          SELECT tags_id, bucket_us AS start_us, driving,
                 lead(bucket_us) OVER (PARTITION BY tags_id ORDER BY bucket_us) AS stop_us
          FROM changes
          WHERE driving <> prev_driving)
        SELECT t.name, s.start_us // 86400000000 * 86400000000 AS day_us,
               avg((s.stop_us - s.start_us)::DOUBLE / 60000000) AS avg_session_minutes
        FROM sessions s JOIN tags t ON t.id = s.tags_id
        WHERE t.name IS NOT NULL AND s.driving AND s.stop_us IS NOT NULL
        GROUP BY t.id, t.name, day_us
        ORDER BY t.name, day_us""", []),
    "avg-load": ("""
        WITH per_truck AS (
          SELECT tags_id, avg(current_load) AS avg_load
          FROM diagnostics
          WHERE current_load IS NOT NULL
          GROUP BY tags_id)
        SELECT t.fleet, t.model, t.load_capacity,
               avg(p.avg_load / t.load_capacity) AS avg_load_fraction
        FROM tags t JOIN per_truck p ON p.tags_id = t.id
        WHERE t.name IS NOT NULL
        GROUP BY t.fleet, t.model, t.load_capacity
        ORDER BY t.fleet NULLS LAST, t.model NULLS LAST, t.load_capacity NULLS LAST""", []),
    "daily-activity": ("""
        WITH out_of_service AS (
          SELECT tags_id, time_us // 600000000 AS bucket
          FROM diagnostics
          GROUP BY tags_id, bucket
          HAVING avg(status) < 1)
        SELECT t.fleet, t.model, o.bucket // 144 * 86400000000 AS day_us,
               count(*)::DOUBLE / 144 AS daily_activity
        FROM out_of_service o JOIN tags t ON t.id = o.tags_id
        WHERE t.name IS NOT NULL
        GROUP BY t.fleet, t.model, day_us
        ORDER BY t.fleet NULLS LAST, t.model NULLS LAST, day_us""", []),
    "breakdown-frequency": ("""
        WITH per_bucket AS (
          SELECT tags_id, time_us // 600000000 AS bucket,
                 2 * count(*) FILTER (WHERE status = 0) >= count(*) AS broken_down
          FROM diagnostics
          WHERE status IS NOT NULL
          GROUP BY tags_id, bucket),
        transitions AS (
          SELECT tags_id, broken_down,
                 lead(broken_down) OVER (PARTITION BY tags_id ORDER BY bucket) AS next_broken_down
          FROM per_bucket)
        SELECT t.model, count(*) AS breakdowns
        FROM transitions b JOIN tags t ON t.id = b.tags_id
        WHERE t.name IS NOT NULL AND NOT b.broken_down AND b.next_broken_down
        GROUP BY t.model
        ORDER BY t.model NULLS LAST""", []),
}
# long-daily-sessions is long-driving-sessions over another window and threshold.
QUERIES["long-daily-sessions"] = QUERIES["long-driving-sessions"]
QUERY_ORDER = ["last-loc", "low-fuel", "high-load", "stationary-trucks", "long-driving-sessions",
               "long-daily-sessions", "avg-vs-projected-fuel-consumption",
               "avg-daily-driving-duration", "avg-daily-driving-session", "avg-load",
               "daily-activity", "breakdown-frequency"]


def query_args(name, params):
    """The $parameters of one query, from params.json."""
    q = params["queries"].get(name, {})
    values = {"fleet": q.get("fleet"), "start_us": q.get("start_us"), "end_us": q.get("end_us"),
              "more_than": q.get("driving_buckets_more_than")}
    return {key: values[key] for key in QUERIES[name][1]}


def load(con, data_dir):
    """Creates the three tables from the CSV files; returns the seconds and row counts."""
    started = time.perf_counter()
    rows = {}
    for table, (file_name, columns) in TABLES.items():
        path = str(data_dir / file_name)
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM read_csv(?, header = true, "
                    f"columns = {columns!r}, nullstr = '', auto_detect = false)", [path])
        rows[table] = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    return time.perf_counter() - started, rows


def jsonable(value):
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    return value


def run_query(con, name, params, repeat):
    """Runs once to warm up, then `repeat` timed runs; returns (columns, rows, ms per run)."""
    sql, _ = QUERIES[name]
    args = query_args(name, params)
    con.execute(sql, args).fetchall()
    times_ms = []
    for _ in range(repeat):
        started = time.perf_counter()
        cursor = con.execute(sql, args)
        rows = cursor.fetchall()
        times_ms.append((time.perf_counter() - started) * 1000)
    columns = [d[0] for d in cursor.description]
    return columns, [[jsonable(v) for v in row] for row in rows], times_ms


def same_rows(a, b, rel_tol=1e-9):
    if len(a) != len(b):
        return False
    for row_a, row_b in zip(a, b):
        for x, y in zip(row_a, row_b):
            if isinstance(x, float) and isinstance(y, float):
                if not math.isclose(x, y, rel_tol=rel_tol, abs_tol=1e-12):
                    return False
            elif x != y:
                return False
    return True


def thread_settings(text):
    settings = []
    for item in text.split(","):
        item = item.strip()
        if item == "default":
            settings.append(None)
        elif item.isdigit() and int(item) > 0:
            settings.append(int(item))
        else:
            raise argparse.ArgumentTypeError(f"--threads: '{item}' is not a count or 'default'")
    return settings


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", type=Path, help="canvoy_tsbs_generate's --out directory")
    parser.add_argument("--results", type=Path, help="write latencies and rows here, as JSON")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per query (default 5)")
    parser.add_argument("--threads", type=thread_settings, default=[1, None],
                        help="comma-separated thread counts to run the queries with; 'default' is "
                             "DuckDB's own (the number of cores). Default: 1,default")
    parser.add_argument("--db", help="a DuckDB file to load into (default: in memory)")
    parser.add_argument("--queries", help="comma-separated subset of the query names")
    args = parser.parse_args()

    params = json.loads((args.data_dir / "params.json").read_text())
    names = args.queries.split(",") if args.queries else QUERY_ORDER
    unknown = [n for n in names if n not in QUERIES]
    if unknown:
        sys.exit(f"unknown queries: {', '.join(unknown)}")

    con = duckdb.connect(args.db or ":memory:")
    con.execute("RESET threads")
    load_threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
    load_seconds, rows = load(con, args.data_dir)
    print(f"duckdb {duckdb.__version__}: loaded {rows} in {load_seconds:.2f} s "
          f"({load_threads} threads)", flush=True)

    results = {}
    thread_counts = []
    for setting in args.threads:
        con.execute("RESET threads" if setting is None else f"SET threads = {setting}")
        threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
        thread_counts.append(threads)
        for name in names:
            columns, result_rows, times_ms = run_query(con, name, params, args.repeat)
            entry = results.setdefault(name, {"columns": columns, "rows": result_rows,
                                              "row_count": len(result_rows), "latency_ms": {},
                                              "same_rows_at_every_thread_count": True})
            if not same_rows(entry["rows"], result_rows):
                entry["same_rows_at_every_thread_count"] = False
            entry["latency_ms"][str(threads)] = {
                "median": statistics.median(times_ms), "min": min(times_ms), "runs": times_ms}
            print(f"{name:36s} threads={threads:<2d} rows={len(result_rows):<6d} "
                  f"median={statistics.median(times_ms):9.2f} ms min={min(times_ms):9.2f} ms",
                  flush=True)

    if args.results:
        report = {
            "engine": "duckdb", "duckdb_version": duckdb.__version__,
            "data_dir": str(args.data_dir.resolve()), "params": params,
            "load": {"seconds": load_seconds, "threads": load_threads, "rows": rows},
            "repeat": args.repeat, "thread_counts": thread_counts,
            "queries": {name: results[name] for name in names},
        }
        args.results.write_text(json.dumps(report, indent=1) + "\n")
        print(f"results: {args.results}")
    mismatched = [n for n in names if not results[n]["same_rows_at_every_thread_count"]]
    if mismatched:
        print(f"rows differ between thread counts: {', '.join(mismatched)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
