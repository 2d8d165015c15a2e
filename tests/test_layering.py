"""Layering of the code base, read from the source with `ast` (nothing is imported):
run.py -> analysis -> sim, sim never imports analysis, and no import cycles.

Every import counts, also those inside functions (a lazy import still ties two modules
together); imports under `if TYPE_CHECKING:` do not (they never run).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("sim", "analysis")


def module_files() -> dict[str, Path]:
    """Module name -> file, for every module of the packages."""
    out = {}
    for pkg in PACKAGES:
        for f in sorted((ROOT / pkg).rglob("*.py")):
            parts = f.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = f
    return out


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported_names(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    """Dotted names a module imports (relative imports resolved), skipping TYPE_CHECKING."""
    names: set[str] = set()
    todo = [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            todo.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                here = module.split(".")
                keep = len(here) - node.level + (1 if is_package else 0)
                base = ".".join([*here[:keep], *([base] if base else [])])
            names.add(base)
            names.update(f"{base}.{a.name}" for a in node.names)  # `from pkg import module`
        todo.extend(ast.iter_child_nodes(node))
    return names


def import_graph() -> dict[str, set[str]]:
    """Module -> the modules of the packages it imports."""
    files = module_files()
    graph: dict[str, set[str]] = {}
    for name, f in files.items():
        tree = ast.parse(f.read_text(encoding="utf-8"), filename=str(f))
        found = _imported_names(tree, name, f.name == "__init__.py")
        graph[name] = {n for n in found if n in files and n != name}
    return graph


def cycles(graph: dict[str, set[str]], within: str) -> list[list[str]]:
    """The import cycles among modules whose name starts with `within` (strongly
    connected components of more than one module, Tarjan's algorithm)."""
    nodes = sorted(n for n in graph if n == within or n.startswith(within + "."))
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v] & set(nodes)):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for n in nodes:
        if n not in index:
            visit(n)
    return found


def test_the_checker_finds_a_cycle_and_resolves_relative_imports() -> None:
    graph = {"p.a": {"p.b"}, "p.b": {"p.c"}, "p.c": {"p.a"}, "p.d": {"p.a"}}
    assert cycles(graph, "p") == [["p.a", "p.b", "p.c"]]
    tree = ast.parse("from . import x\nfrom .y import z\nif TYPE_CHECKING:\n    import p.w\n")
    assert _imported_names(tree, "p.m", is_package=False) == {"p", "p.x", "p.y", "p.y.z"}


def test_analysis_has_no_import_cycle() -> None:
    graph = import_graph()
    assert (
        "analysis.engine.experiment" in graph and graph["analysis.studies.sweep.study"]
    )  # the graph is read
    assert cycles(graph, "analysis") == []


def test_sim_never_imports_analysis() -> None:
    graph = import_graph()
    wrong = {m: sorted(d for d in deps if d.startswith("analysis")) for m, deps in graph.items()}
    assert {m: d for m, d in wrong.items() if m.startswith("sim") and d} == {}


def test_sim_has_no_import_cycle() -> None:
    assert cycles(import_graph(), "sim") == []


LIGHT_PROBE = """
import contextlib, io, sys
sys.path.insert(0, {root!r})
import run
with contextlib.redirect_stdout(io.StringIO()):
    with contextlib.suppress(SystemExit):
        run.main(["--help"])
    code = run.main(["validate", {scenario!r}, {sweep!r}])
heavy = sorted({{m.split(".")[0] for m in sys.modules}} & {{"mesa", "pandas", "matplotlib", "dask", "distributed"}})
print(code, ",".join(heavy))
"""


def test_help_and_validate_import_no_model_dataframes_or_figures() -> None:
    """`run.py --help` and `run.py validate` build every subcommand's parser and read
    scenario and sweep files without Mesa, pandas, matplotlib or Dask (each costs a
    second or more at start-up)."""
    import subprocess
    import sys

    code = LIGHT_PROBE.format(
        root=str(ROOT),
        scenario=str(ROOT / "scenarios" / "baseline.toml"),
        sweep=str(ROOT / "scenarios" / "sweep_sensitivity.toml"),
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[0] == "0 "  # validate succeeded, no heavy module loaded


#: the analysis wing's layers, lowest first: a module may import its own layer and those
#: below it, never one above (docs/architecture.md draws them)
LAYERS: tuple[tuple[str, ...], ...] = (
    ("sim",),
    ("analysis.errors", "analysis.paths"),
    ("analysis.engine", "analysis.stats", "analysis.render"),
    ("analysis.studies",),
    ("analysis.reports",),
    ("analysis.live",),
    ("analysis.cli",),
)


def layer_of(module: str) -> int:
    """The index in LAYERS of the layer `module` belongs to."""
    for i, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return i
    raise AssertionError(f"{module} is in no layer; add its package to LAYERS")


def test_the_layer_checker_sees_an_upward_import() -> None:
    assert layer_of("analysis.engine.context") < layer_of("analysis.studies.calibrate.fit")
    assert layer_of("analysis.cli.main") == len(LAYERS) - 1


def test_imports_point_down_the_layers_only() -> None:
    graph = import_graph()
    upward = sorted(
        f"{m} imports {d}"
        for m, deps in graph.items()
        for d in deps
        if m != "analysis" and d != "analysis" and layer_of(d) > layer_of(m)
    )
    assert upward == []


def test_argparse_is_imported_only_by_the_command_line() -> None:
    """Studies are used from Python as spec -> run -> result -> report; only
    analysis/cli/ (and run.py) parse arguments."""
    users = []
    for name, f in module_files().items():
        tree = ast.parse(f.read_text(encoding="utf-8"))
        if any("argparse" in n for n in _imported_names(tree, name, f.name == "__init__.py")):
            users.append(name)
    assert users and all(u.startswith("analysis.cli") for u in users), users


#: the line count past which a module is taken to do more than one job
MODULE_LIMIT = 600


def documented_exceptions() -> set[str]:
    """Modules docs/architecture.md lets grow past MODULE_LIMIT (its size table's rows)."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    return {m.group(1) for m in re.finditer(r"^\| `((?:sim|analysis)/[\w/]+\.py)` \|", text, re.M)}


def test_no_module_grows_past_the_limit_unless_the_architecture_says_why() -> None:
    big = {
        str(f.relative_to(ROOT))
        for f in module_files().values()
        if len(f.read_text(encoding="utf-8").splitlines()) > MODULE_LIMIT
    }
    assert big <= documented_exceptions(), sorted(big - documented_exceptions())


HELP_PROBE = """
import contextlib, io, sys
sys.path.insert(0, {root!r})
import run
with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
    run.main(["--help"])
print(",".join(sorted({{m.split(".")[0] for m in sys.modules}} & {{"numpy", "pydantic", "scipy"}})))
"""


def test_help_builds_every_parser_without_numpy_or_pydantic() -> None:
    """`run.py --help` builds every subcommand's parser from the command-line modules
    alone: a study's defaults live in its package's light __init__, never in its spec."""
    import subprocess
    import sys

    code = HELP_PROBE.format(root=str(ROOT))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == ""
