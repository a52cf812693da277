"""Imports go one way: studies -> report -> run_dir (docs/ARCHITECTURE.md).

Every module's imports are read with ``ast`` (nothing is imported, so this takes well under a
second): the report package never imports the studies, the layout modules (``run_dir``,
``atomic_io``) import neither, and ``experiment`` (the gin root) does not import the studies.
Imports inside functions count too: a lazy import is still a dependency.
"""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "kd_efficacy"
STUDIES, REPORT = "kd_efficacy.studies", "kd_efficacy.report"
# (modules the rule covers: a module name or a package prefix, what they must not import)
RULES = (
    (REPORT, (STUDIES,)),
    ("kd_efficacy.run_dir", (REPORT, STUDIES)),
    ("kd_efficacy.atomic_io", (REPORT, STUDIES)),
    ("kd_efficacy.experiment", (STUDIES,)),
)


def _module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(source, module, is_package=False):
    """The absolute names ``source`` (the text of ``module``) imports, including the submodules
    named by ``from package import name``."""
    package = module if is_package else module.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolved against the importing module's package
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            names.add(base)
            names |= {f"{base}.{alias.name}" for alias in node.names}
    return names


def _within(name, prefix):
    return name == prefix or name.startswith(prefix + ".")


def violations(modules):
    """``module imports name`` for every import that breaks a rule; ``modules``: {name: names}."""
    found = []
    for module, names in sorted(modules.items()):
        for covered, forbidden in RULES:
            if _within(module, covered):
                found += [
                    f"{module} imports {n}"
                    for n in sorted(names)
                    if any(_within(n, f) for f in forbidden)
                ]
    return found


def _package_imports():
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = _module_name(path)
        modules[name] = imported(path.read_text(), name, path.name == "__init__.py")
    return modules


def test_imports_go_one_way():
    modules = _package_imports()
    assert {"kd_efficacy.run_dir", "kd_efficacy.report.summary", "kd_efficacy.experiment"} <= set(
        modules
    )
    assert violations(modules) == []


@pytest.mark.parametrize(
    "module, source",
    [
        ("kd_efficacy.report.study", "from kd_efficacy.studies import plan"),
        ("kd_efficacy.report.study", "from kd_efficacy import studies"),
        ("kd_efficacy.report.study", "def f():\n    import kd_efficacy.studies.plan\n"),
        ("kd_efficacy.report.study", "from ..studies import plan"),
        ("kd_efficacy.run_dir", "from kd_efficacy.report import summary"),
        ("kd_efficacy.atomic_io", "from kd_efficacy.studies.plan import PlannedRun"),
        ("kd_efficacy.experiment", "def f():\n    from kd_efficacy.studies.plan import X\n"),
    ],
)
def test_a_backward_import_is_caught(module, source):
    assert violations({module: imported(source, module)}) != []


def test_forward_imports_are_allowed():
    modules = {
        "kd_efficacy.studies.grid": imported("from kd_efficacy.report import study_report", ""),
        "kd_efficacy.report.study": imported("from kd_efficacy import run_dir", ""),
        "kd_efficacy.experiment": imported("from kd_efficacy.errors import PlanReady", ""),
    }
    assert violations(modules) == []
