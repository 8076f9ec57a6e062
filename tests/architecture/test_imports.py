"""The layering holds by itself: import-linter's contracts (pyproject.toml) pass, no module imports
another that (directly or indirectly) imports it back, and no import hides in a function body to
dodge such a cycle."""

import ast
import pathlib
import subprocess
import sys

import grimp

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGES = (
    "loyalty",
    "customers",
    "events",
    "transactions",
    "coupons",
    "segments",
    "workflows",
    "cards",
    "referrals",
    "budgets",
    "achievements",
)
# Function-body imports with a reason other than a cycle: Django's app registry inside a data
# migration helper (loyalty.roles), and imports for type checking only.
ALLOWED_LOCAL_IMPORTS = {("loyalty/roles.py", "django.apps")}


def test_the_import_contracts_hold():
    lint = pathlib.Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "0 broken" in result.stdout


def strongly_connected(graph, modules):
    """Tarjan's algorithm over the import graph: the groups of modules that import each other."""
    index, low, stack, on_stack, groups, counter = {}, {}, [], set(), [], [0]

    def visit(module):
        index[module] = low[module] = counter[0]
        counter[0] += 1
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in modules:
                continue
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for module in sorted(modules):
        if module not in index:
            visit(module)
    return groups


def test_no_module_imports_itself_back():
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 5000))
    graph = grimp.build_graph(*PACKAGES, exclude_type_checking_imports=True)
    modules = {m for m in graph.modules if ".migrations" not in m}
    assert strongly_connected(graph, modules) == []


def test_no_import_hides_in_a_function_body():
    hidden = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                for inner in ast.walk(node):
                    if isinstance(inner, ast.Import | ast.ImportFrom):
                        name = inner.module if isinstance(inner, ast.ImportFrom) else inner.names[0].name
                        where = str(path.relative_to(ROOT))
                        if (where, name) not in ALLOWED_LOCAL_IMPORTS:
                            hidden.append(f"{where}:{inner.lineno} imports {name}")
    assert hidden == []
