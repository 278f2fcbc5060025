"""Dependencies point one way: adapters -> hub -> schemas.

The hub names an adapter only by its slug in config, through the loader
(``hub.channels.adapter_class`` and ``partner_side``, which import ``adapters.<slug>``
by name); no module under ``hub/`` imports ``adapters`` itself, and ``schemas/``
imports neither. Every import statement counts, those inside functions too.
"""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def imported_modules(source: str) -> list[tuple[int, str]]:
    """(line, module) of every absolute import in ``source``, wherever it stands."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def imports_of(package: str, forbidden: tuple[str, ...]) -> list[str]:
    """``path:line module`` for each import of a ``forbidden`` package under ``package/``."""
    offenders = []
    for path in sorted((REPO / package).rglob("*.py")):
        for line, module in imported_modules(path.read_text()):
            if module.split(".")[0] in forbidden:
                offenders.append(f"{path.relative_to(REPO)}:{line} {module}")
    return offenders


def test_no_hub_module_imports_an_adapter() -> None:
    assert imports_of("hub", ("adapters",)) == []


def test_schemas_import_neither_the_hub_nor_an_adapter() -> None:
    assert imports_of("schemas", ("hub", "adapters")) == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from adapters.pos.client import upload_file", ["adapters.pos.client"]),
        ("import adapters.bni46", ["adapters.bni46"]),
        ("def f():\n    from adapters import pos\n", ["adapters"]),
        ("from . import sibling", []),
        ("import importlib\nimportlib.import_module('adapters.pos')", ["importlib"]),
    ],
)
def test_every_import_statement_is_seen_even_inside_a_function(
    source: str, expected: list[str]
) -> None:
    assert [module for _, module in imported_modules(source)] == expected
