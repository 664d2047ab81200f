"""The layers import only downwards, and every target has the same shape in every layer."""
from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "conceptwright"
# lower numbers are lower layers; a module may import its own package or a strictly lower layer
RANK = {"core": 0, "llm": 1, "compilers": 1, "tools": 2, "prompts": 2, "agent": 3, "targets": 4}
TOP = 5  # api.py, cli.py, doctor.py, __init__.py, __main__.py
TARGETS = ("xmi", "cad", "sim")


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in RANK else ""


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) of every import of conceptwright in a file, TYPE_CHECKING ones included."""
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    package = parts if parts[-1] == "__init__" else parts[:-1]
    package = [p for p in package if p != "__init__"]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
                names = [module] if node.module else [f"{module}.{a.name}" for a in node.names]
            else:
                names = [node.module or ""]
            found += [(node.lineno, n) for n in names if n.startswith("conceptwright")]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("conceptwright")]
    return found


def test_imports_only_go_down() -> None:
    wrong = []
    for path in sorted(PKG.rglob("*.py")):
        here = _layer(".".join(path.relative_to(PKG.parent).with_suffix("").parts))
        rank = RANK.get(here, TOP)
        for line, module in _imports(path):
            there = _layer(module)
            if there == here:
                continue
            if RANK.get(there, TOP) >= rank:
                wrong.append(f"{path.relative_to(PKG.parent)}:{line} ({here or 'top'}) imports {module} ({there or 'top'})")
    assert wrong == []


def test_the_checker_sees_an_upward_import(tmp_path: Path) -> None:
    """The walk resolves relative imports: a compiler importing tools is reported."""
    fake = PKG / "compilers" / "xmi" / "_upward_probe.py"
    fake.write_text("from ...tools.xmi.check import check_model\nfrom . import model\n")
    try:
        assert _imports(fake) == [(1, "conceptwright.tools.xmi.check"), (2, "conceptwright.compilers.xmi.model")]
    finally:
        fake.unlink()


def test_every_target_has_the_same_shape_in_every_layer() -> None:
    for t in TARGETS:
        assert (PKG / "compilers" / t / "model.py").is_file(), t
        assert (PKG / "compilers" / t / "schema.py").is_file(), t
        assert (PKG / "compilers" / t / "fixes.py").is_file(), t
        assert (PKG / "tools" / t / "check.py").is_file(), t
        assert (PKG / "tools" / t / "validate.py").is_file(), t
        assert (PKG / "prompts" / f"{t}.py").is_file(), t
        assert (PKG / "targets" / f"{t}.py").is_file(), t
