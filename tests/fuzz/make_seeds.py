#!/usr/bin/python3
"""Writes the seed corpora of the fuzz targets from the shared CAN data.

  make_seeds.py --data /work/shared/data/can --out DIR

DIR/candump_reader: a few hundred lines cut from the real logs, plus the known-answer logs.
DIR/decoder: the decoder target's binary records (see decoder_fuzz.cc) made from real frames:
RAV4 powertrain frames for the pt DBC, the CAN FD known-answer frame for the Hyundai DBC, and
frames of both J1939 messages with other priorities and source addresses.
The DBC parser target needs no generated seeds: it starts from DIR's sibling, the DBC folder.
"""
import argparse
import pathlib
import struct

LINES_PER_CHUNK = 50


def parse_line(line):
    """(id, extended, fd, data) of a candump -l data frame, or None."""
    parts = line.split()
    if len(parts) < 3 or "#" not in parts[2]:
        return None
    ident, _, rest = parts[2].partition("#")
    fd = rest.startswith("#")
    if fd:
        rest = rest[2:]  # the flags nibble
    if rest.startswith("R"):
        return None
    try:
        return int(ident, 16), len(ident) == 8, fd, bytes.fromhex(rest)
    except ValueError:
        return None


def record(dbc_index, frame_id, extended, fd, data):
    flags = (0x01 if extended else 0) | (0x02 if fd else 0) | (dbc_index << 4)
    return struct.pack("<BIB", flags, frame_id, len(data)) + data


def write_candump_seeds(data_dir, out):
    out.mkdir(parents=True, exist_ok=True)
    for log in sorted((data_dir / "logs").glob("*.log")):
        lines = log.read_text().splitlines(keepends=True)
        for n, start in enumerate((0, len(lines) // 2)):
            chunk = "".join(lines[start:start + LINES_PER_CHUNK])
            (out / f"{log.stem}_{n}.log").write_text(chunk)
    for log in sorted((data_dir / "kat").glob("*.log")):
        (out / log.name).write_text(log.read_text())


def write_decoder_seeds(data_dir, out):
    out.mkdir(parents=True, exist_ok=True)
    pt = data_dir / "logs" / "comma2k19_rav4_2017_seg40_can0_pt.log"
    frames = [f for f in map(parse_line, pt.read_text().splitlines()[:400]) if f]
    for n in range(0, len(frames), 40):
        blob = b"".join(record(0, *f) for f in frames[n:n + 40])
        (out / f"rav4_pt_{n // 40:02d}.bin").write_bytes(blob)
    for log in sorted((data_dir / "kat").glob("canfd_*.log")):
        frames = [f for f in map(parse_line, log.read_text().splitlines()) if f]
        (out / f"{log.stem}.bin").write_bytes(b"".join(record(1, *f) for f in frames))
    # cantools_j1939.dbc: Message1 0x15340201 (PDU1), Message2 0x15F01002 (PDU2).
    j1939 = []
    for base in (0x15340201, 0x15F01002):
        for priority, source in ((5, None), (3, 0x80), (7, 0xFE)):
            frame_id = (base & ~0x1C000000) | (priority << 26)
            if source is not None:
                frame_id = (frame_id & ~0xFF) | source
            j1939.append(record(2, frame_id, True, False, bytes([0x81, 1, 2, 3, 4, 5, 6, 7])))
    (out / "j1939.bin").write_bytes(b"".join(j1939))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, type=pathlib.Path)
    parser.add_argument("--out", required=True, type=pathlib.Path)
    args = parser.parse_args()
    write_candump_seeds(args.data, args.out / "candump_reader")
    write_decoder_seeds(args.data, args.out / "decoder")


if __name__ == "__main__":
    main()
