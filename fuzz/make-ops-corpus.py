#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the seed corpus of fuzz-ops (fuzz/corpus/ops/): a few small inputs in the
structured format of docs/FUZZING.md, from a fixed seed, so the corpus can be made again
byte for byte. One per backing and ordering, a short program each (1 GiB: 4 operations,
its sequences are slow), and the empty input. Every seed must run without a finding
(the fuzz suite replays them). The per-backing targets' corpora (ops-4k/, ops-2m/ next to
DIR) are the same inputs of their backing: the empty input decodes to 4 KiB pages.

usage: fuzz/make-ops-corpus.py [DIR]   (default: fuzz/corpus/ops next to this script)
"""
import os
import random
import sys

HEADER, OP = 6, 6
BACKINGS = ["4k", "2m", "1g"]
ORDERINGS = ["planned", "v8", "wip", "rfc-v2"]
PER_BACKING = ["4k", "2m"]  # the backings with a target of their own (fuzz/fuzz-ops-B.c)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "corpus", "ops")
    dirs = {b: os.path.join(os.path.dirname(os.path.abspath(out)), "ops-" + b)
            for b in PER_BACKING}
    for d in [out] + list(dirs.values()):
        os.makedirs(d, exist_ok=True)
    rng = random.Random(12)
    for d in [out, dirs["4k"]]:
        with open(os.path.join(d, "empty.bin"), "wb"):
            pass
    for b, backing in enumerate(BACKINGS):
        for o, ordering in enumerate(ORDERINGS):
            ops = 4 if backing == "1g" else 24
            data = bytearray(rng.randrange(256) for _ in range(HEADER + ops * OP))
            data[0], data[1] = b, o
            for d in [out] + ([dirs[backing]] if backing in dirs else []):
                with open(os.path.join(d, f"{backing}-{ordering}.bin"), "wb") as f:
                    f.write(data)


if __name__ == "__main__":
    main()
