#!/usr/bin/env python3
"""tools/include-graph.py [--strict] [--files-strict] [--markdown]: the
include graph of daemon/'s layer folders (docs/DESIGN.md, Layout).

Prints each folder-to-folder edge with the includes behind it, marks an
edge that goes up the layers (a lower folder including a higher one's
header), and lists the cycles between folders. Then two more rules:

  private headers  a header named *_private.h holds a folder's inside (the
                   structs its files share); a file of another folder that
                   includes it is reported as PRIVATE.
  file cycles      per folder, the cycles between its files: a .c and its
                   .h are one node, and an include of x.h from y.c or y.h
                   is an edge y -> x. A header with no .c of its own (say
                   tcp_socket_impl.h, http_private.h) has no code that
                   could call back, so it is no node: the edges go through
                   it (a.c -> h.h -> b.h is a -> b). Cycles between folders
                   are the folder report's.

The last line stays "N folder edges, N upward, N cycles" (the folder
report's summary); the line before it counts file cycles and private
includes.

--strict        exit 1 on an upward edge, a folder cycle or a PRIVATE
                include: what tools/run-specs.sh runs in make test.
--files-strict  exit 1 on a file cycle too. Not in make test yet: daemon/
                service still has cycles, being untied.
--markdown      the folder graph as a Markdown table (each folder, the
                folders it includes with the count of includes), for docs;
                the findings follow as a list, then the same summary lines.
"""
import os
import re
import sys
from collections import defaultdict

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "daemon")
# Lowest first; "." is daemon/ itself (the entry points), above all.
LAYERS = ["net", "core", "shared", "tls", "io", "http", "ws", "service", "."]
RANK = {f: i for i, f in enumerate(LAYERS)}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
PRIVATE_SUFFIX = "_private.h"


def files():
    for folder in LAYERS:
        d = os.path.join(ROOT, folder)
        for name in sorted(os.listdir(d)):
            if name.endswith((".c", ".h")) and os.path.isfile(os.path.join(d, name)):
                yield folder, name


def read_includes():
    """[(folder, file, header, header's folder)] for every include of a
    header of daemon/ (system and library headers are left out)."""
    where = {name: folder for folder, name in files()}
    out = []
    for folder, name in files():
        with open(os.path.join(ROOT, folder, name), encoding="utf-8") as f:
            for header in INCLUDE.findall(f.read()):
                to = where.get(os.path.basename(header))
                if to:
                    out.append((folder, name, os.path.basename(header), to))
    return out


def sccs(nodes, graph):
    """The strongly connected components of two or more nodes (Tarjan),
    each as a list in the order of `nodes`."""
    order = {v: i for i, v in enumerate(nodes)}
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v], key=order.get):
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
                found.append(sorted(comp, key=order.get))

    for v in nodes:
        if v not in index:
            visit(v)
    return found


def folder_report(includes):
    """(edges, upward, cycles): edges maps (from, to) to the includes
    behind it, "file -> header"; upward lists the edges that go up."""
    edges = defaultdict(list)
    for folder, name, header, to in includes:
        if to != folder:
            edges[(folder, to)].append("%s -> %s" % (name, header))
    edges = dict(sorted(edges.items(), key=lambda kv: (RANK[kv[0][0]], RANK[kv[0][1]])))
    upward = [e for e in edges if RANK[e[1]] > RANK[e[0]]]
    graph = defaultdict(set)
    for a, b in edges:
        graph[a].add(b)
    return edges, upward, sccs(LAYERS, graph)


def private_report(includes):
    """Includes of another folder's *_private.h, as "folder/file -> header
    (private to folder)"."""
    return ["%s/%s -> %s (private to %s)" % (folder, name, header, to)
            for folder, name, header, to in includes
            if header.endswith(PRIVATE_SUFFIX) and to != folder]


def file_report(includes):
    """[(folder, [node, ...], [include chain, ...])]: per folder, its file
    cycles, each with the includes behind its edges."""
    stem = lambda name: name[:-2]
    has_c = {(folder, stem(name)) for folder, name in files() if name.endswith(".c")}
    direct = defaultdict(list)   # (folder, node) -> [(to node, "file -> header"), ...]
    for folder, name, header, to in includes:
        if to == folder and stem(header) != stem(name):
            direct[(folder, stem(name))].append((stem(header), "%s -> %s" % (name, header)))
    found = []
    for folder in LAYERS:
        nodes = sorted({s for f, s in has_c if f == folder})
        graph, why = defaultdict(set), defaultdict(list)
        for a in nodes:
            # Through headers with no .c: a walk until a node is reached.
            todo, seen = [(b, w) for b, w in direct[(folder, a)]], set()
            while todo:
                b, w = todo.pop()
                if (folder, b) in has_c:
                    if b != a:
                        graph[a].add(b)
                        why[(a, b)].append(w)
                elif b not in seen:
                    seen.add(b)
                    todo += [(c, w + " -> " + w2.split(" -> ")[1]) for c, w2 in direct[(folder, b)]]
        for comp in sccs(nodes, graph):
            inside = sorted(w for (a, b), ws in why.items() if a in comp and b in comp for w in ws)
            found.append((folder, comp, inside))
    return found


def print_text(edges, upward, folder_cycles, private, file_cycles):
    for (a, b), why in edges.items():
        print("%-8s -> %-8s %s%s" % (a, b, "UPWARD " if (a, b) in upward else "", ", ".join(sorted(why))))
    for comp in folder_cycles:
        print("cycle: " + " <-> ".join(comp))
    for line in private:
        print("PRIVATE  " + line)
    for folder, comp, why in file_cycles:
        print("file cycle in %s: %s (%s)" % (folder, " <-> ".join(comp), ", ".join(why)))


def print_markdown(edges, upward, folder_cycles, private, file_cycles):
    path = lambda f: "daemon/" if f == "." else "daemon/%s/" % f
    print("| folder | includes headers of (number of includes) |")
    print("|---|---|")
    for a in reversed(LAYERS):
        outs = ["`%s` (%d)%s" % (path(b), len(why), " **upward**" if (x, b) in upward else "")
                for (x, b), why in edges.items() if x == a]
        print("| `%s` | %s |" % (path(a), ", ".join(outs) or "none"))
    findings = (["folder cycle: " + " <-> ".join("`%s`" % path(f) for f in comp) for comp in folder_cycles]
                + ["private header included from another folder: `%s`" % line for line in private]
                + ["file cycle in `%s`: %s" % (path(folder), " <-> ".join("`%s`" % n for n in comp))
                   for folder, comp, why in file_cycles])
    if findings:
        print()
        for line in findings:
            print("- " + line)
    print()


def main():
    includes = read_includes()
    edges, upward, folder_cycles = folder_report(includes)
    private = private_report(includes)
    file_cycles = file_report(includes)
    (print_markdown if "--markdown" in sys.argv else print_text)(edges, upward, folder_cycles, private, file_cycles)
    print("%d file cycles, %d private includes from another folder" % (len(file_cycles), len(private)))
    print("%d folder edges, %d upward, %d cycles" % (len(edges), len(upward), len(folder_cycles)))
    if "--strict" in sys.argv and (upward or folder_cycles or private):
        sys.exit(1)
    if "--files-strict" in sys.argv and file_cycles:
        sys.exit(1)


main()
