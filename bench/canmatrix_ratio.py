#!/usr/bin/python3
"""Decoding rate of canvoy's decoder next to Debian's python3-canmatrix on the same frames.

Loads the RAV4 powertrain log into memory, decodes every frame with canmatrix (the id lookup and
Frame.decode, as a Python program would use it), times that, then runs the C++ benchmark
(canvoy_decode_bench, BM_DecodeRav4Powertrain) and prints both rates in decoded signal values
per second and their ratio. It prints figures and checks nothing. Run with /usr/bin/python3:

  /usr/bin/python3 bench/canmatrix_ratio.py --bench build/release/bench/canvoy_decode_bench [--repeat 3]
"""

import argparse
import json
import logging
import pathlib
import subprocess
import sys
import time

logging.disable(logging.WARNING)  # canmatrix warns about the formats it lacks (ldf, ...)
import canmatrix  # noqa: E402
import canmatrix.formats  # noqa: E402

DATA = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "can"
DBC = DATA / "dbc" / "opendbc_toyota_new_mc_pt_generated.dbc"
LOG = DATA / "logs" / "comma2k19_rav4_2017_seg40_can0_pt.log"
BENCHMARK = "BM_DecodeRav4Powertrain"


def load_frames(path):
    """[(id, extended, data)] of the log's classic data frames."""
    frames = []
    with open(path, encoding="ascii") as log:
        for line in log:
            parts = line.split()
            if len(parts) < 3:
                continue
            ident, sep, payload = parts[2].partition("#")
            if not sep or payload.startswith(("R", "#")):
                continue
            frames.append((int(ident, 16), len(ident) == 8, bytes.fromhex(payload)))
    return frames


def canmatrix_pass(database, frames):
    """(decoded signal values, CPU seconds) of one pass over every frame. CPU time, as Google
    Benchmark reports by default, so that both sides are measured alike on a shared machine."""
    values = 0
    start = time.process_time()
    for ident, extended, data in frames:
        message = database.frame_by_id(canmatrix.ArbitrationId(ident, extended=extended))
        if message is not None:
            values += len(message.decode(data))
    return values, time.process_time() - start


def cpp_rate(bench, repetitions):
    """(values per second, frames per second) of the C++ benchmark: the best repetition."""
    result = subprocess.run(
        [bench, "--benchmark_filter=^%s$" % BENCHMARK, "--benchmark_format=json",
         "--benchmark_repetitions=%d" % repetitions],
        check=True, capture_output=True, text=True)
    runs = [b for b in json.loads(result.stdout)["benchmarks"] if b.get("run_type") == "iteration"]
    best = max(runs, key=lambda b: b["items_per_second"])
    return best["items_per_second"], best["frames_per_second"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", required=True, help="path of canvoy_decode_bench")
    parser.add_argument("--repeat", type=int, default=3,
                        help="passes of canmatrix and repetitions of the benchmark; best counts")
    args = parser.parse_args()

    database = list(canmatrix.formats.loadp(str(DBC)).values())[0]
    frames = load_frames(LOG)
    passes = [canmatrix_pass(database, frames) for _ in range(args.repeat)]
    values, seconds = min(passes, key=lambda p: p[1])
    py_rate = values / seconds
    cpp_values, cpp_frames = cpp_rate(args.bench, args.repeat)

    print("frames=%d values_per_pass=%d (best of %d)" % (len(frames), values, args.repeat))
    print("canmatrix: %.3f CPU s per pass, %.0f values/s, %.0f frames/s" %
          (seconds, py_rate, len(frames) / seconds))
    print("canvoy    %s: %.0f values/s, %.0f frames/s" % (BENCHMARK, cpp_values, cpp_frames))
    print("ratio canvoy/canmatrix: %.0fx" % (cpp_values / py_rate))
    return 0


if __name__ == "__main__":
    sys.exit(main())
