#!/usr/bin/env python3
"""tools/include-graph.py [--strict]: the include graph between daemon/'s
layer folders (docs/DESIGN.md, Layout). Prints each folder-to-folder edge
with the includes behind it, marks an edge that goes up the layers
(a lower folder including a higher one's header), and lists the cycles.
With --strict it exits 1 when there is an upward edge or a cycle: what CI
is to run once the layout work has untied today's knots."""
import os
import re
import sys
from collections import defaultdict

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "daemon")
# Lowest first; "." is daemon/ itself (the entry points), above all.
LAYERS = ["net", "core", "tls", "io", "http", "service", "."]
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def files():
    for folder in LAYERS:
        d = os.path.join(ROOT, folder)
        for name in sorted(os.listdir(d)):
            if name.endswith((".c", ".h")) and os.path.isfile(os.path.join(d, name)):
                yield folder, name


def main():
    where = {name: folder for folder, name in files()}
    edges = defaultdict(list)   # (from, to) -> ["file -> header", ...]
    for folder, name in files():
        with open(os.path.join(ROOT, folder, name), encoding="utf-8") as f:
            for header in INCLUDE.findall(f.read()):
                to = where.get(os.path.basename(header))
                if to and to != folder:
                    edges[(folder, to)].append("%s -> %s" % (name, header))
    rank = {f: i for i, f in enumerate(LAYERS)}
    upward = 0
    for (a, b), why in sorted(edges.items(), key=lambda kv: (rank[kv[0][0]], rank[kv[0][1]])):
        up = rank[b] > rank[a]
        upward += up
        print("%-8s -> %-8s %s%s" % (a, b, "UPWARD " if up else "", ", ".join(sorted(why))))
    # Cycles between folders: strongly connected components of two or more.
    graph = defaultdict(set)
    for a, b in edges:
        graph[a].add(b)
    index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
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
            if len(comp) > 1:
                sccs.append(sorted(comp, key=rank.get))

    for v in LAYERS:
        if v not in index:
            visit(v)
    for comp in sccs:
        print("cycle: " + " <-> ".join(comp))
    print("%d folder edges, %d upward, %d cycles" % (len(edges), upward, len(sccs)))
    if "--strict" in sys.argv and (upward or sccs):
        sys.exit(1)


main()
