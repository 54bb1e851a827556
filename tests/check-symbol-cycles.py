#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Fail if object files of a static library call each other in a cycle.

The symbol graph has an edge A -> B when A.o uses a global symbol B.o
defines. A strongly connected component of more than one object is a
cycle: those files cannot be understood, tested or replaced one at a time.
With --prefix, only cycles that contain an object whose name starts with
the prefix count (the scenario engine: its modules call it, it never calls
them). Usage: check-symbol-cycles.py LIB.a [--prefix P]...
"""
import subprocess
import sys


def graph(lib):
    out = subprocess.run(['nm', '-A', '-g', lib], capture_output=True, text=True,
                         check=True).stdout
    defs, uses = {}, {}
    for line in out.splitlines():
        head, _, rest = line.rpartition(':')
        obj = head.split(':')[-1]
        parts = rest.split()
        if len(parts) == 2 and parts[0] == 'U':
            uses.setdefault(obj, set()).add(parts[1])
        elif len(parts) == 3 and parts[1] in 'TDBRCGVW':
            defs[parts[2]] = obj
        uses.setdefault(obj, set())
    return {o: {defs[s] for s in u if s in defs and defs[s] != o} for o, u in uses.items()}


def sccs(g):
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(g.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def main(argv):
    lib, prefixes = argv[1], []
    args = argv[2:]
    while args:
        if args[0] == '--prefix' and len(args) > 1:
            prefixes.append(args[1])
            args = args[2:]
        else:
            print(__doc__)
            return 2
    g = graph(lib)
    bad = [c for c in sccs(g) if len(c) > 1 and
           (not prefixes or any(o.startswith(p) for o in c for p in prefixes))]
    for c in bad:
        print('cycle: ' + ' -> '.join(c))
    print('%d objects, %d cycle(s)%s' % (len(g), len(bad),
          ' involving ' + ', '.join(prefixes) if prefixes else ''))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
