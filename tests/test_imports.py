"""The import graph of ex_color, read from every module's source with `ast` (imports inside functions
count): no cycles, and no task imports another task except the orchestrating `run`."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "ex_color"
# A search's trial is the redux itself (`tasks.run.run_seeds`), as `excolor run --seeds` makes it.
ALLOWED_TASK_IMPORTS: set[tuple[str, str]] = {("ex_color.tasks.search", "ex_color.tasks.run")}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The ex_color modules `path` imports anywhere in its source (relative imports resolved)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(p) for p in paths}
    graph = {module_name(p): imports_of(p, modules) for p in paths}
    # A package's __init__ is run by importing any of its submodules, but the edges that matter are the
    # modules' own: drop the implicit child -> parent-package edges a re-exporting __init__ would close.
    return {m: {t for t in targets if not m.startswith(t + ".")} for m, targets in graph.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return stack[stack.index(target) :] + [target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_the_checker_sees_a_cycle_through_a_function_level_import():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    source = "def f():\n    from ex_color.tasks import plot\n"
    tree_imports = [n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.ImportFrom)]
    assert tree_imports and tree_imports[0].module == "ex_color.tasks"


def test_no_import_cycles_in_ex_color():
    graph = import_graph()
    assert "ex_color.evaluation.measure" in graph and "ex_color.tasks.plot" in graph["ex_color.cli.reading"]
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_no_task_imports_another_task_except_run():
    graph = import_graph()
    offending = sorted(
        (module, target)
        for module, targets in graph.items()
        if module.startswith("ex_color.tasks.") and module != "ex_color.tasks.run"
        for target in targets
        if target.startswith("ex_color.tasks.") and (module, target) not in ALLOWED_TASK_IMPORTS
    )
    assert offending == []


def test_core_never_imports_tasks_or_the_cli():
    graph = import_graph()
    core = [m for m in graph if not m.startswith(("ex_color.tasks", "ex_color.cli"))]
    assert [(m, t) for m in core for t in graph[m] if t.startswith(("ex_color.tasks", "ex_color.cli"))] == []
