"""The package's layers (docs/ARCHITECTURE.md): no import cycle, no import from a higher layer, and no
import inside a function unless a comment on its line says why."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "rllib_il"
# Lowest first; a module may import its own layer and the layers before it.
LAYERS = ["core", "losses", "envs", "data", "experts", "rollout", "replay", "algorithms", "workflow", "cli"]


def modules():
    """{module name: path} of every module of the package."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(path: Path, names) -> tuple:
    """(rllib_il modules imported at module level, function-local imports without a comment)."""
    source = path.read_text()
    lines = source.splitlines()
    tree = ast.parse(source)
    top, unexplained = set(), []
    local_nodes = {
        id(node)
        for fn in ast.walk(tree)
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
        for node in ast.walk(fn)
        if isinstance(node, (ast.Import, ast.ImportFrom))
    }
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        if id(node) in local_nodes:
            if "local import:" not in lines[node.lineno - 1]:
                unexplained.append(f"{path.relative_to(ROOT)}:{node.lineno}")
            continue
        if isinstance(node, ast.ImportFrom):
            targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            targets = [a.name for a in node.names]
        for target in targets:
            while target and target not in names:
                target = target.rpartition(".")[0]
            if target and target.startswith("rllib_il"):
                top.add(target)
    return top, unexplained


def graph():
    names = modules()
    edges, unexplained = {}, []
    for name, path in names.items():
        targets, local = imports(path, names)
        # importing a.b.c runs a/__init__ and a/b/__init__ first (unless the importer is inside them)
        parents = {".".join(t.split(".")[:i]) for t in targets for i in range(2, t.count(".") + 1)}
        own = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 2)}
        edges[name] = (targets | parents) - own
        unexplained += local
    return edges, unexplained


def layer(module: str) -> int:
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 else -1


def test_every_package_folder_is_a_named_layer():
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    assert folders == set(LAYERS)
    assert [p.name for p in PACKAGE.glob("*.py")] == ["__init__.py"]


def test_no_import_from_a_higher_layer():
    edges, _ = graph()
    upward = [f"{a} -> {b}" for a, targets in edges.items() for b in targets if layer(b) > layer(a)]
    assert upward == []


def test_no_import_cycle():
    edges, _ = graph()
    state, cycles = {}, []

    def visit(node, stack):
        state[node] = "open"
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                cycles.append(" -> ".join(stack[stack.index(nxt) :] + [nxt]))
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert cycles == []


def test_function_local_imports_say_why():
    _, unexplained = graph()
    assert unexplained == []


def test_importing_the_package_loads_nothing_heavy():
    """`import rllib_il` registers nothing and imports neither Ray nor torch."""
    code = "import sys, rllib_il; print(sorted(m for m in ('ray', 'torch', 'flatland') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_every_module_imports_in_a_fresh_interpreter():
    """All modules import, in name order, in an interpreter that imported nothing before."""
    code = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)"
    subprocess.run([sys.executable, "-c", code, *modules()], check=True)
