#!/usr/bin/python3
"""Checks `canvoy-agent decode` against an independent decoder, Debian's python3-canmatrix.

Decodes a candump log with both and asserts that, frame by frame, they decode the same signals
with the same raw values and physical values equal within a relative tolerance. Run it with
/usr/bin/python3 (where python3-canmatrix is installed):

  canmatrix_oracle.py --agent build/.../canvoy-agent --dbc FILE.dbc --log FILE.log [--limit N]

Exit status 0 when everything agrees, 1 with the first differences listed otherwise.
"""

import argparse
import csv
import io
import logging
import subprocess
import sys
from decimal import Decimal

logging.disable(logging.WARNING)  # canmatrix warns about the formats it lacks (ldf, ...)
import canmatrix  # noqa: E402
import canmatrix.formats  # noqa: E402

RELATIVE_TOLERANCE = 1e-9
MAX_REPORTED = 20


def parse_candump_line(line):
    """(timestamp text, interface, id, extended, data) of a data frame line, or None."""
    parts = line.split()
    if len(parts) < 3 or not parts[0].startswith("(") or not parts[0].endswith(")"):
        return None
    frame = parts[2]
    ident, sep, payload = frame.partition("#")
    if not sep or payload.startswith("R") or payload.startswith("#"):
        return None  # remote and CAN FD frames: not in the logs this oracle is for
    value = int(ident, 16)
    if len(ident) == 8 and value & 0x20000000:
        return None  # error frame
    return parts[0][1:-1], parts[1], value, len(ident) == 8, bytes.fromhex(payload.replace(".", ""))


def agent_frames(agent, dbc, log, iface):
    """Rows of the agent's CSV grouped per frame: [((ts, iface, id), {signal: (raw, physical)})]."""
    command = [agent, "decode", "--dbc", dbc, "--log", log, "--format", "csv"]
    if iface:
        command += ["--iface", iface]
    result = subprocess.run(command,
                            check=False, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit("canvoy-agent failed (%d): %s" % (result.returncode, result.stderr))
    reader = csv.reader(io.StringIO(result.stdout))
    header = next(reader)
    expected = ["timestamp", "interface", "frame_id", "message", "signal", "raw", "physical", "label"]
    if header != expected:
        sys.exit("unexpected CSV header: %s" % header)
    frames = []
    for ts, iface, frame_id, _message, signal, raw, physical, _label in reader:
        key = (ts, iface, int(frame_id, 16))
        if not frames or frames[-1][0] != key or signal in frames[-1][1]:
            frames.append((key, {}))
        frames[-1][1][signal] = (int(raw), physical)
    return frames, result.stderr


def close(expected, actual_text):
    actual = Decimal(actual_text)
    if expected == actual:
        return True
    return abs(float(expected) - float(actual)) <= RELATIVE_TOLERANCE * max(abs(float(expected)),
                                                                            abs(float(actual)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agent", required=True)
    parser.add_argument("--dbc", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--limit", type=int, default=0, help="compare only the first N frames")
    parser.add_argument("--iface", default="", help="compare only frames of this interface")
    args = parser.parse_args()

    database = list(canmatrix.formats.loadp(args.dbc).values())[0]
    agent, agent_stderr = agent_frames(args.agent, args.dbc, args.log, args.iface)
    agent_index = 0
    problems = []
    frames = decoded = values = 0
    with open(args.log, encoding="ascii") as log:
        for line in log:
            parsed = parse_candump_line(line)
            if parsed is None:
                continue
            if args.limit and frames == args.limit:
                break
            frames += 1
            ts, iface, ident, extended, data = parsed
            if args.iface and iface != args.iface:
                continue
            message = database.frame_by_id(canmatrix.ArbitrationId(ident, extended=extended))
            if message is None:
                continue
            decoded += 1
            oracle = message.decode(data)
            key = (ts, iface, ident)
            if agent_index >= len(agent) or agent[agent_index][0] != key:
                problems.append("%s %s %X: the agent decoded nothing" % key)
                continue
            ours = agent[agent_index][1]
            agent_index += 1
            if set(ours) != set(oracle):
                problems.append("%s %s %X: signals differ: agent %s, canmatrix %s" %
                                (*key, sorted(ours), sorted(oracle)))
                continue
            for name, value in oracle.items():
                values += 1
                raw, physical = ours[name]
                if not close(Decimal(value.phys_value), physical):
                    problems.append("%s %s %X %s: physical %s, canmatrix %s" %
                                    (*key, name, physical, value.phys_value))
                elif not message.signal_by_name(name).is_float and raw != int(value.raw_value):
                    problems.append("%s %s %X %s: raw %d, canmatrix %s" % (*key, name, raw, value.raw_value))
    if not args.limit and agent_index != len(agent):
        problems.append("the agent decoded %d frames canmatrix did not" % (len(agent) - agent_index))

    print("frames=%d decoded_by_canmatrix=%d values_compared=%d differences=%d" %
          (frames, decoded, values, len(problems)))
    print("agent: " + agent_stderr.strip().splitlines()[-1])
    for problem in problems[:MAX_REPORTED]:
        print("DIFF " + problem)
    if decoded == 0 or values == 0:
        print("nothing was compared")
        return 1
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
