"""Measures of the import graph: ``python tools/import_graph.py [ROOT]``.

Prints, for duet_core, duet_ui and duet_api (where present): modules and folders at the top of
each package, import edges between the project's modules, import cycles (strongly connected
components of more than one module, imports under ``if TYPE_CHECKING`` included), files over
300 lines, and folders holding three or more modules that share a ``prefix_``.
"""

from __future__ import annotations

import ast
import sys
from collections import Counter, defaultdict
from pathlib import Path

PACKAGES = ("duet_core", "duet_ui", "duet_api")


def modules(root: Path) -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")) if (root / package).is_dir() else []:
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(root).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def imports(path: Path, name: str, known: set[str]) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    out: set[str] = set()
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # ``from package import submodule`` names the submodule; anything else the module
            targets = [
                f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in known else node.module
                for a in node.names
            ]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                out.add(target)
    return out


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = []
            while True:
                w = stack.pop()
                on.discard(w)
                part.append(w)
                if w == v:
                    break
            if len(part) > 1:
                found.append(sorted(part))

    sys.setrecursionlimit(10_000)
    for v in graph:
        if v not in index:
            visit(v)
    return found


def main(root: Path) -> None:
    mods = modules(root)
    known = set(mods)
    graph = {name: imports(path, name, known) for name, path in mods.items()}
    # a package's __init__ importing its own submodules is not a cycle of design
    for package in PACKAGES:
        top = [p for p in (root / package).iterdir()] if (root / package).is_dir() else []
        if not top:
            continue
        files = [p for p in top if p.suffix == ".py" and p.name != "__init__.py"]
        folders = [p for p in top if p.is_dir() and (p / "__init__.py").exists()]
        print(f"{package}: {len(files)} top-level modules, {len(folders)} folders")
    print(f"modules: {len(mods)}, import edges between them: {sum(map(len, graph.values()))}")
    found = cycles(graph)
    print(f"import cycles: {len(found)}" + "".join(f"\n  {' <-> '.join(c)}" for c in found))
    long = sorted((n, p) for p in mods.values() if (n := len(p.read_text().splitlines())) > 300)
    print(f"files over 300 lines: {len(long)}")
    for n, p in long:
        print(f"  {p.relative_to(root)} {n}")
    prefixes: dict[Path, Counter] = defaultdict(Counter)
    for path in mods.values():
        if "_" in path.stem.strip("_"):
            prefixes[path.parent][path.stem.split("_")[0]] += 1
    crowded = [(d, p, k) for d, c in prefixes.items() for p, k in c.items() if k >= 3]
    print(f"folders with 3+ modules sharing a prefix_: {len(crowded)}")
    for d, p, k in crowded:
        print(f"  {d.relative_to(root)}/{p}_* ({k})")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve())
