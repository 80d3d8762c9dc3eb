"""The layers hold: inside compliance/, imports only go down, and no two rooms import each other around a cycle.

A room is a top-level module or package of compliance/ (`iam`, `config`, `evidence`, `plugin`...). Every import
counts, wherever it is written: at the top, inside a function (a lazy import is still a dependency), under
`if TYPE_CHECKING:`, relative or absolute. A failure names each offending import (file:line → module) and the two
rooms and layers. Imports by name in strings (`python -m compliance`'s command table) are not followed.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import compliance

PACKAGE = Path(compliance.__file__).resolve().parent

Layers = Sequence[tuple[str, frozenset[str]]]

LAYERS: Layers = (
    ("leaves", frozenset({"__init__", "errors", "nesting"})),
    ("policy engine", frozenset({"iam"})),
    ("inputs and vocabulary", frozenset({"config", "model", "controls", "shard", "redaction"})),
    ("targets", frozenset({"targets"})),
    ("Azure analysis", frozenset({"azure"})),
    ("chain analysis", frozenset({"chain", "proof"})),
    ("checks and their contract", frozenset({"checks", "registry", "permissions", "permission_vocabulary"})),
    ("evidence", frozenset({"evidence"})),
    ("plugin side", frozenset({"plugin", "session", "state", "fixtures", "fixtures_chain", "fixtures_azure",
                               "xdist_groups", "__main__"})),
)
"""Bottom to top. A room may import rooms of its own layer or of lower ones. `iam` depends only on the leaves;
`targets` read (AWS, Azurite) and know nothing of analysis; `azure` and `chain`/`proof` analyse what targets read;
checks judge; evidence records; the plugin side (pytest hooks, run state, fixtures, the command line) drives."""


@dataclass(frozen=True, slots=True)
class Edge:
    path: str
    """The importing file, from the package's parent directory (`compliance/iam/case.py`)."""
    line: int
    module: str
    """The imported module, absolute (`compliance.config`)."""
    source: str
    target: str
    """The rooms of the importer and of the imported module."""

    def __str__(self) -> str:
        return f"{self.path}:{self.line} → {self.module}"


def rooms(root: Path) -> set[str]:
    return {p.stem for p in root.glob("*.py")} | {d.name for d in root.iterdir() if (d / "__init__.py").is_file()}


def _imported(node: ast.AST, package_parts: tuple[str, ...]) -> Iterator[str]:
    """The absolute module names one import statement names (`from pkg.a import b` names `pkg.a`; `from pkg import
    a, b` names `pkg.a` and `pkg.b`, since `a` and `b` may be rooms)."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
        base_parts = package_parts[: len(package_parts) - node.level + 1] if node.level else ()
        base = ".".join((*base_parts, *([node.module] if node.module else [])))
        if base == package_parts[0]:
            yield from (f"{base}.{alias.name}" for alias in node.names)
        else:
            yield base


def import_edges(root: Path) -> list[Edge]:
    """Every import inside the package at `root` of one of its own modules, with the rooms on both ends."""
    package, known = root.name, rooms(root)

    def room(module: str) -> str:
        first = module.split(".")[1] if "." in module else "__init__"
        return first if first in known else "__init__"  # `from compliance import __version__`

    edges: list[Edge] = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        parts = relative.with_suffix("").parts
        source = parts[0] if len(parts) > 1 or parts[0] != "__init__" else "__init__"
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            for module in _imported(node, (package, *parts[:-1])):
                if module == package or module.startswith(f"{package}."):
                    edges.append(Edge(f"{package}/{relative.as_posix()}", getattr(node, "lineno", 0), module,
                                      source, room(module)))
    return list(dict.fromkeys(edges))


def unplaced(root: Path, layers: Layers) -> list[str]:
    placed = [room for _, members in layers for room in members]
    problems = [f"room {room!r} is in no layer: add it to LAYERS where its imports allow"
                for room in sorted(rooms(root) - set(placed))]
    problems += [f"room {room!r} is in LAYERS more than once" for room in sorted(set(placed))
                 if placed.count(room) > 1]
    return problems + [f"LAYERS names {room!r}, which compliance/ does not hold" for room in
                       sorted(set(placed) - rooms(root))]


def upward(edges: Sequence[Edge], layers: Layers) -> list[str]:
    level = {room: i for i, (_, members) in enumerate(layers) for room in members}
    name = [title for title, _ in layers]
    return [f"{edge}: {edge.source} ({name[level[edge.source]]}) imports {edge.target} "
            f"({name[level[edge.target]]}), a higher layer"
            for edge in edges if edge.source in level and edge.target in level
            and level[edge.target] > level[edge.source]]


def cycles(edges: Sequence[Edge]) -> list[str]:
    """Each set of rooms that reach one another through imports, with the imports between them."""
    graph: dict[str, set[str]] = {}
    for edge in edges:
        if edge.source != edge.target:
            graph.setdefault(edge.source, set()).add(edge.target)

    def reach(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for nxt in graph.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    reached = {room: reach(room) for room in graph}
    groups = {frozenset({room} | {other for other in reached[room] if room in reached.get(other, set())})
              for room in graph if room in reached[room]}
    problems = []
    for group in sorted(groups, key=sorted):
        first: dict[tuple[str, str], Edge] = {}
        for e in edges:
            if e.source in group and e.target in group and e.source != e.target:
                first.setdefault((e.source, e.target), e)
        inside = [f"{source} → {target} at {first[source, target]}" for source, target in sorted(first)]
        problems.append(f"cycle between {' ↔ '.join(sorted(group))}: {'; '.join(inside)}")
    return problems


def layer_problems(root: Path, layers: Layers) -> list[str]:
    edges = import_edges(root)
    return unplaced(root, layers) + upward(edges, layers) + cycles(edges)


def test_the_compliance_package_layers_hold() -> None:
    problems = layer_problems(PACKAGE, LAYERS)
    assert not problems, "imports against the layering (docs/ARCHITECTURE.md):\n" + "\n".join(problems)


def test_the_walk_sees_the_whole_package() -> None:
    """A walker that found nothing would pass anything: the known downward imports are there."""
    edges = {(e.source, e.target) for e in import_edges(PACKAGE)}
    assert {("iam", "errors"), ("chain", "iam"), ("checks", "chain"), ("evidence", "redaction"),
            ("plugin", "state"), ("proof", "chain")} <= edges


def _package(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "pkg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root / "pkg"


PLANTED_LAYERS: Layers = (("bottom", frozenset({"__init__", "errors", "iam"})),
                          ("middle", frozenset({"chain", "proof"})),
                          ("top", frozenset({"evidence"})))


def test_a_planted_lazy_upward_import_is_named(tmp_path: Path) -> None:
    root = _package(tmp_path, {
        "__init__.py": "", "errors.py": "", "evidence/__init__.py": "", "evidence/redact.py": "MARK = 1\n",
        "chain/__init__.py": "", "proof/__init__.py": "",
        "iam/__init__.py": "from pkg.errors import *\n",
        "iam/case.py": "import json\n\n\ndef read():\n    from pkg.evidence.redact import MARK\n    return MARK\n",
    })
    assert layer_problems(root, PLANTED_LAYERS) == [
        "pkg/iam/case.py:5 → pkg.evidence.redact: iam (bottom) imports evidence (top), a higher layer"]


def test_a_planted_relative_upward_import_and_a_cycle_are_named(tmp_path: Path) -> None:
    root = _package(tmp_path, {
        "__init__.py": "", "errors.py": "", "iam/__init__.py": "", "evidence/__init__.py": "",
        "chain/__init__.py": "from ..proof import search\n",
        "proof/__init__.py": "", "proof/search.py": "from pkg.chain import view\nfrom .. import evidence\n",
        "chain/view.py": "",
    })
    assert layer_problems(root, PLANTED_LAYERS) == [
        "pkg/proof/search.py:2 → pkg.evidence: proof (middle) imports evidence (top), a higher layer",
        "cycle between chain ↔ proof: chain → proof at pkg/chain/__init__.py:1 → pkg.proof; "
        "proof → chain at pkg/proof/search.py:1 → pkg.chain",
    ]


def test_a_room_outside_every_layer_is_named(tmp_path: Path) -> None:
    root = _package(tmp_path, {"__init__.py": "", "errors.py": "", "iam/__init__.py": "", "chain/__init__.py": "",
                               "proof/__init__.py": "", "evidence/__init__.py": "", "newroom.py": ""})
    assert layer_problems(root, PLANTED_LAYERS) == [
        "room 'newroom' is in no layer: add it to LAYERS where its imports allow"]


PYTEST_ROOMS = frozenset({"plugin", "session", "state", "fixtures", "fixtures_chain", "fixtures_azure", "xdist_groups",
                          "registry"})
"""The rooms that may import pytest: the plugin side, and the check contract (its marks make a check collectable).
Everything else (the engine, the targets, the analyses, the checks' bodies, the evidence) runs without pytest."""


def pytest_importers(root: Path) -> list[str]:
    """Every import of pytest (or its private `_pytest`) outside PYTEST_ROOMS, as `file:line → module`."""
    found = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        parts = relative.with_suffix("").parts
        if parts[0] in PYTEST_ROOMS:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            for module in _imported(node, (root.name, *parts[:-1])):
                if module.split(".")[0] in ("pytest", "_pytest"):
                    found.append(f"{root.name}/{relative.as_posix()}:{getattr(node, 'lineno', 0)} → {module}")
    return found


def test_only_the_plugin_side_imports_pytest() -> None:
    found = pytest_importers(PACKAGE)
    assert not found, "pytest-bound code belongs on the plugin side (compliance/session/):\n" + "\n".join(found)


def test_a_planted_pytest_import_in_the_evidence_is_named(tmp_path: Path) -> None:
    root = _package(tmp_path, {"__init__.py": "", "evidence/__init__.py": "",
                               "evidence/html.py": "def hook():\n    import pytest\n    return pytest\n"})
    assert pytest_importers(root) == ["pkg/evidence/html.py:2 → pytest"]
