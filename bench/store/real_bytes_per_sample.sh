#!/usr/bin/env bash
# Bytes on disk per sample of real vehicle signals: the RAV4 drive's powertrain log
# (../shared/data/can) decoded by the agent, split into slowly changing signals (a value differs
# from the previous one in under 10% of samples: gear, temperatures, pedal states, ...) and
# changing ones (speeds, torques, angles), each imported into a store of its own, compacted, and
# measured. Prints figures; asserts nothing.
#
#   bench/store/real_bytes_per_sample.sh [--build-dir DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${2:-$PWD/build/release}
[[ ${1:-} == --build-dir || -z ${1:-} ]] || { sed -n '8s/^# //p' "$0" >&2; exit 2; }
data=../shared/data/can
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cmake --build "$build" --target canvoy-agent canvoy-fleet-store >/dev/null
"$build/vehicle-agent/canvoy-agent" decode --dbc "$data/dbc/opendbc_toyota_new_mc_pt_generated.dbc" \
  --log "$data/logs/comma2k19_rav4_2017_seg40_can0_pt.log" 2>/dev/null > "$work/decoded.csv"

# decoded: timestamp(s since boot),interface,frame_id,message,signal,raw,physical,label
python3 - "$work" <<'PY'
import csv, sys, collections
work = sys.argv[1]
epoch_us = 1_767_225_600_000_000  # the drive replayed as if it started on 2026-01-01
series = collections.defaultdict(list)
with open(f"{work}/decoded.csv") as f:
    for row in csv.DictReader(f):
        t = epoch_us + round(float(row["timestamp"]) * 1e6)
        series[f"{row['message']}.{row['signal']}"].append((t, row["physical"]))
out = {"slow": open(f"{work}/slow.csv", "w"), "changing": open(f"{work}/changing.csv", "w")}
counts = collections.Counter()
for f in out.values():
    f.write("vin,timestamp_us,signal,value\n")
for name, samples in series.items():
    changes = sum(1 for a, b in zip(samples, samples[1:]) if a[1] != b[1])
    kind = "slow" if changes < 0.1 * max(1, len(samples) - 1) else "changing"
    counts[kind + "_signals"] += 1
    counts[kind + "_samples"] += len(samples)
    for t, v in samples:
        out[kind].write(f"CNVRAV4DRV0000001,{t},{name},{v}\n")
print(" ".join(f"{k}={v}" for k, v in sorted(counts.items())))
PY

for kind in slow changing; do
  "$build/fleet-store/canvoy-fleet-store" import --db "$work/$kind" --samples "$work/$kind.csv" >/dev/null
  "$build/fleet-store/canvoy-fleet-store" compact --db "$work/$kind"
  samples=$(( $(wc -l < "$work/$kind.csv") - 1 ))
  "$build/fleet-store/canvoy-fleet-store" disk-usage --db "$work/$kind" |
    awk -F, -v n="$samples" -v kind="$kind" 'NR > 1 { all += $2; if ($1 == "history") h = $2 }
      END { printf "%-9s %7d samples: history %.3f bytes/sample, all column families %.3f bytes/sample\n", kind, n, h / n, all / n }'
done
