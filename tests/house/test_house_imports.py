"""The import rules of the house, written in pyproject.toml and checked here.

`[tool.importlinter]` holds the layer contracts (import-linter: `fairsplit` imports only
itself, `ledger` nothing above it, `services` no `commands`, the transparency-log formats no
SQL, the ledger's pure modules no SQL, its rooms downward, the services not each other); `[tool.fairsplit.private-imports]` the private names one
module still takes from another. Each exception there is a rule broken today: the tests fail
when a new one appears, and when an exception is no longer needed (remove it)."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("fairsplit", "ledger", "services", "commands", "migrations")
CONTRACTS = {"fairsplit-pure", "ledger-below-services", "services-below-commands", "tlog-no-sql",
             "ledger-pure-modules", "ledger-rooms-read-downward", "ledger-book-below-rooms",
             "services-independent"}


def _config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]


def test_the_layer_contracts_hold(capsys):
    from importlinter.cli import lint_imports

    contracts = _config()["importlinter"]["contracts"]
    assert CONTRACTS <= {contract["id"] for contract in contracts}, "a layer contract was removed"
    code = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True)
    report = capsys.readouterr().out
    assert code == 0, report
    assert f"Contracts: {len(contracts)} kept, 0 broken." in report, report


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _ours(module: str) -> bool:
    return module.split(".")[0] in PACKAGES or module == "cli"


def _private(name: str) -> bool:
    return name.startswith("_") and not name.endswith("__")


def private_imports(path: Path) -> set[str]:
    """"importer -> module._name" for each private name of another of our modules that the
    file at `path` imports (`from m import _x`) or reaches (`m._x`, `m.sub._x`)."""
    importer = _module_name(path)
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    bound: dict[str, str] = {}  # a local name → the module (or module attribute) it stands for
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and _ours(node.module):
            for alias in node.names:
                if _private(alias.name) and node.module != importer:
                    found.add(f"{importer} -> {node.module}.{alias.name}")
                bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if _ours(alias.name):
                    bound[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else alias.name.split(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            chain, value = [], node.value
            while isinstance(value, ast.Attribute):
                chain.insert(0, value.attr)
                value = value.value
            if isinstance(value, ast.Name) and value.id in bound:
                target = ".".join([bound[value.id], *chain])
                if target != importer and not target.startswith(importer + "."):
                    found.add(f"{importer} -> {target}.{node.attr}")
    return found


def test_no_module_imports_another_modules_private_names():
    files = [ROOT / "cli.py", *(path for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py")))]
    found = set().union(*(private_imports(path) for path in files))
    allowed = set(_config()["fairsplit"]["private-imports"]["exceptions"])
    assert found - allowed == set(), "private names taken from another module (make them public, or move the code)"
    assert allowed - found == set(), "exceptions no longer needed: remove them from pyproject.toml"


def test_the_private_name_check_sees_both_ways_of_reaching_in(tmp_path, monkeypatch):
    """`from m import _x` and `m._x` are found, a module's own and dunder names are not."""
    package = tmp_path / "services"
    package.mkdir()
    (package / "probe.py").write_text(
        "import ledger.books.db\nfrom services.stream import _Forward, StreamProcessor\nfrom services import probe\n"
        "x = ledger.books.db._first_line\ny = probe._mine\nz = ledger.__name__\n")
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    assert private_imports(package / "probe.py") == {
        "services.probe -> services.stream._Forward", "services.probe -> ledger.books.db._first_line"}
