"""The design's rules, checked on every module (docs/architecture.md explains them):

- imports point one way: ``cli -> pipeline -> steps``; every part may import the shared modules its
  row in ``MAY_IMPORT`` names, and nothing else of the harness;
- the ``NEVER`` list: Locust and gevent only where they may patch the world, scenarios only through
  their helpers, the bundled service and the harness unaware of each other;
- no module over 400 lines and no function over 60 in ``harness/`` unless a one-line reason stands
  beside it (``# size-exception: why`` on the ``def`` line or the line above, or in a module's first
  lines);
- no copy-paste twins (pylint's duplicate-code check, 6 similar lines).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# The step packages: each may import the shared modules only, never another step.
STEPS = {"stack", "load", "grade", "report", "capacity", "diagnostics"}
# Leaves every part may use: formats and contracts, errors, the target contract, plumbing, statistics.
SHARED = {"harness", "errors", "schemas", "target", "ports", "process", "hosts", "runinfo", "runfolder",
          "checklist", "promql", "stats", "credentials"}
# What each part of harness may import besides itself. A part is a top-level module or package of
# harness ("harness" is the package's own __init__: the version). A new part must be added here.
MAY_IMPORT: dict[str, set[str]] = {
    "cli": {"cli_options", "pipeline", "proxy"} | SHARED,  # `loadgate proxy` runs in the foreground, no step
    "cli_options": {"proxy"} | SHARED,
    "pipeline": STEPS | {"proxy"} | SHARED,
    **{step: SHARED for step in STEPS},
    "proxy": SHARED,
    "harness": set(),
    "errors": set(),
    "stats": set(),
    "schemas": {"errors", "target"},  # a service profile is a target preset plus overrides
    "target": {"schemas", "errors"},
    "ports": {"errors"},
    "process": {"errors", "ports"},
    "hosts": {"errors"},
    "credentials": {"errors"},  # keys and tokens from files or the environment, never argv
    "runinfo": {"errors", "schemas"},
    "runfolder": {"errors", "schemas"},
    "checklist": {"errors", "schemas", "target", "promql"},
    "promql": {"errors", "process"},  # templates parsed by promtool
}
# (where, what it must never import, why): "where" and "what" are module-name prefixes.
NEVER = [
    ("harness", "target_service", "the harness tests any service; the bundled one only runs as a process"),
    ("target_service", "harness", "the bundled service knows nothing of the harness"),
    ("target_service", "scenarios", "the bundled service knows nothing of the harness"),
]
# gevent monkey-patches the standard library when Locust is imported: only here may it happen.
LOCUST_ALLOWED = ("harness.load", "scenarios")
LOCUST_MODULES = ("locust", "gevent")
# Scenarios are locustfiles: they use the load step's Locust users and the plan's contract only.
SCENARIOS_MAY_IMPORT = ("harness.load", "harness.schemas")

MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
EXCEPTION_MARK = "# size-exception:"


def _modules(top: str) -> dict[str, Path]:
    found = {}
    for path in sorted((ROOT / top).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


HARNESS = _modules("harness")
ALL = {**HARNESS, **_modules("scenarios"), **_modules("target_service")}


def _imports(module: str, path: Path) -> list[tuple[int, str]]:
    """(line, imported module) for every import in the file, nested ones included; ``from harness
    import x`` names the submodule ``harness.x`` when there is one."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.append((node.lineno, sub if sub in ALL else base))
    return found


def _part(module: str) -> str:
    names = module.split(".")
    return names[1] if len(names) > 1 else "harness"


def import_violations() -> list[str]:
    problems = []
    for module, path in ALL.items():
        where = f"{path.relative_to(ROOT)}"
        for line, imported in _imports(module, path):
            top = imported.split(".")[0]
            for source, target, why in NEVER:
                if module.split(".")[0] == source and top == target:
                    problems.append(f"{where}:{line}: imports {imported}: never ({why})")
            if top in LOCUST_MODULES and not module.startswith(LOCUST_ALLOWED):
                problems.append(f"{where}:{line}: imports {imported}: only {', '.join(LOCUST_ALLOWED)} may "
                                f"(gevent patches the standard library on import)")
            if module.startswith("scenarios") and top == "harness" \
                    and not imported.startswith(SCENARIOS_MAY_IMPORT):
                problems.append(f"{where}:{line}: imports {imported}: a scenario may import only "
                                f"{', '.join(SCENARIOS_MAY_IMPORT)}")
            if module.startswith("harness") and top == "harness":
                mine, theirs = _part(module), _part(imported)
                allowed = MAY_IMPORT.get(mine, set())
                if theirs != mine and theirs not in allowed:
                    problems.append(f"{where}:{line}: {mine} imports {imported}: {mine} may import only "
                                    f"{', '.join(sorted(allowed)) or 'nothing of harness'}")
    return list(dict.fromkeys(problems))


def test_every_import_follows_the_rules() -> None:
    problems = import_violations()
    assert not problems, "import rules broken (tests/unit/test_architecture.py, docs/architecture.md):\n" \
        + "\n".join(problems)


def test_every_part_of_harness_has_a_row_in_the_rules() -> None:
    parts = {_part(module) for module in HARNESS}
    assert parts - set(MAY_IMPORT) == set(), "a new part: decide what it may import (MAY_IMPORT)"


def _excepted(lines: list[str], lineno: int) -> bool:
    return any(EXCEPTION_MARK in lines[i] for i in (lineno - 1, lineno - 2) if 0 <= i < len(lines))


def size_violations() -> list[str]:
    problems = []
    for path in HARNESS.values():
        lines = path.read_text(encoding="utf-8").splitlines()
        where = path.relative_to(ROOT)
        if len(lines) > MAX_MODULE_LINES and not any(EXCEPTION_MARK in line for line in lines[:10]):
            problems.append(f"{where}: {len(lines)} lines (> {MAX_MODULE_LINES})")
        for node in ast.walk(ast.parse("\n".join(lines))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES and not _excepted(lines, node.lineno):
                    problems.append(f"{where}:{node.lineno}: {node.name} has {length} lines "
                                    f"(> {MAX_FUNCTION_LINES})")
    return problems


def test_modules_and_functions_stay_small() -> None:
    problems = size_violations()
    assert not problems, f"too long (split along a seam, or '{EXCEPTION_MARK} why'):\n" + "\n".join(problems)


def test_no_copy_paste_twins() -> None:
    out = subprocess.run([sys.executable, "-m", "pylint", "--disable=all", "--enable=duplicate-code",
                          "--min-similarity-lines=6", "--score=n", "harness"],
                         cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
