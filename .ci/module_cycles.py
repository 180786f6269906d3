#!/usr/bin/env python3
"""Reads the imports among a crate's own modules and fails on any circle.

Every `crate::a::b` or `super::a` path in a file (in `use` blocks and inline) is an
edge from that file's module to the deepest module of the path that exists as a file.
A child reading its own ancestors' items is the module's inside, so those edges are
ignored; a parent using its children's items is an edge like any other, so a circle
that closes through a parent (`config -> fleet`, `fleet::kind -> watch::live -> ...
-> config`) is found.
Prints each strongly connected component of two or more modules and exits 1 if any.

Usage: module_cycles.py [SRC_DIR]   (default: src)
"""
import os
import re
import sys

src = sys.argv[1] if len(sys.argv) > 1 else "src"
modules = {}  # module path (tuple) -> file
for root, _, files in os.walk(src):
    for name in files:
        if not name.endswith(".rs"):
            continue
        rel = os.path.relpath(os.path.join(root, name), src)[:-3].split(os.sep)
        if rel[-1] == "mod":
            rel = rel[:-1]
        if rel in (["lib"], ["main"]):
            rel = []
        modules[tuple(rel)] = os.path.join(root, name)

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
PATH = re.compile(r"(?<![$\w])crate::((?:" + IDENT + r"::)*" + IDENT + r")")
GROUP = re.compile(r"(?<![$\w])crate::((?:" + IDENT + r"::)*)\{")


def deepest(parts):
    for n in range(len(parts), 0, -1):
        if tuple(parts[:n]) in modules:
            return tuple(parts[:n])
    return None


def use_tree(text, i):
    """The paths of the use tree at text[i:] (after `{`-free prefix), and its end."""
    leaves, prefix = [], []
    while True:
        while text[i].isspace():
            i += 1
        if text[i] == "{":
            i += 1
            while True:
                while text[i].isspace() or text[i] == ",":
                    i += 1
                if text[i] == "}":
                    return leaves, i + 1
                sub, i = use_tree(text, i)
                leaves += [prefix + p for p in sub]
        m = re.compile(IDENT + r"|\*").match(text, i)
        prefix = prefix + [m.group(0)]
        i = m.end()
        j = i
        while text[j].isspace():
            j += 1
        if text.startswith("::", j):
            i = j + 2
            continue
        return [prefix], i


def targets(text):
    text = re.sub(r"//[^\n]*", "", text)
    for m in GROUP.finditer(text):
        head = [p for p in m.group(1).split("::") if p]
        leaves, _ = use_tree(text, m.end() - 1)
        for leaf in leaves:
            yield head + leaf
    for m in PATH.finditer(text):
        yield m.group(1).split("::")


edges = {m: set() for m in modules}
for mod, path in modules.items():
    with open(path, encoding="utf-8") as f:
        text = f.read()
    # `super::x` (and `super::super::x`) as the `crate::` path it names. A file's
    # `mod tests` (after its `#[cfg(test)]`) is one level below the file's module.
    tests_at = text.find("#[cfg(test)]\nmod tests")
    if tests_at < 0:
        tests_at = len(text)

    def absolute(m, mod=mod, tests_at=tests_at):
        ups = m.group(0).count("super::") - (1 if m.start() > tests_at else 0)
        base = list(mod[: max(0, len(mod) - ups)])
        return "crate::" + "".join(p + "::" for p in base)

    text = re.sub(r"\b(?:super::)+", absolute, text)
    # A parent naming its own children (`pub use kind::Kind`, `tokens::share(..)`).
    children = [m[-1] for m in modules if len(m) == len(mod) + 1 and m[: len(mod)] == mod]
    for child in children:
        if re.search(r"(?<![:\w])" + child + r"::", re.sub(r"//[^\n]*", "", text)):
            edges[mod].add(mod + (child,))
    # `#[cfg(test)] mod tests { ... }` blocks count too: tests are code a module owns.
    for parts in targets(text):
        t = deepest(parts)
        if t is None or t == mod:
            continue
        if mod[: len(t)] == t:
            continue  # a child reading its own ancestors' items is the module's inside
        edges[mod].add(t)

# Collapse each top-level module's own subtree into one node only for the report of
# the circles between distinct modules: Tarjan's SCC over the file-level graph.
index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]
sys.setrecursionlimit(10000)


def visit(v):
    index[v] = low[v] = counter[0]
    counter[0] += 1
    stack.append(v)
    on.add(v)
    for w in edges[v]:
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
            sccs.append(comp)


for v in modules:
    if v not in index:
        visit(v)

name = lambda m: "::".join(m) or "crate"
if not sccs:
    print(f"no import circle among the {len(modules)} modules of {src}")
    sys.exit(0)
for comp in sccs:
    members = sorted(comp)
    print(f"circle of {len(members)}: " + ", ".join(name(m) for m in members))
    for m in members:
        inside = sorted(name(t) for t in edges[m] if t in comp)
        print(f"  {name(m)} -> {', '.join(inside)}")
sys.exit(1)
