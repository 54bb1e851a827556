#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the seed corpus of fuzz-ops (fuzz/corpus/ops/): a few small inputs in the
structured format of docs/FUZZING.md, from a fixed seed, so the corpus can be made again
byte for byte. One per backing and ordering, a short program each (1 GiB: 4 operations,
its sequences are slow), and the empty input. Every seed must run without a finding
(the fuzz suite replays them).

usage: fuzz/make-ops-corpus.py [DIR]   (default: fuzz/corpus/ops next to this script)
"""
import os
import random
import sys

HEADER, OP = 6, 6
BACKINGS = ["4k", "2m", "1g"]
ORDERINGS = ["planned", "v8", "wip", "rfc-v2"]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "corpus", "ops")
    os.makedirs(out, exist_ok=True)
    rng = random.Random(12)
    with open(os.path.join(out, "empty.bin"), "wb"):
        pass
    for b, backing in enumerate(BACKINGS):
        for o, ordering in enumerate(ORDERINGS):
            ops = 4 if backing == "1g" else 24
            data = bytearray(rng.randrange(256) for _ in range(HEADER + ops * OP))
            data[0], data[1] = b, o
            with open(os.path.join(out, f"{backing}-{ordering}.bin"), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
