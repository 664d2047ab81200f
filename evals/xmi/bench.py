"""Scale benchmark: compile + validate + serialise conceptual models of growing size.

Each size runs in a fresh process so its peak memory (max RSS) is its own.
Run: python -m evals bench-xmi [--sizes 100,1000,10000,100000]
"""
from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ..common import ROOT, shared_dir, table


def synthetic(n: int) -> dict[str, Any]:
    """A library with n objects: one Library, n//4 writers, the rest books, each with an author."""
    writers = max(1, n // 4)
    books = max(0, n - 1 - writers)
    objs: list[dict[str, Any]] = [{"id": "lib", "class": "Library", "attrs": {"name": "Scale"},
                                   "refs": {"writers": [f"w{i}" for i in range(writers)], "books": [f"b{i}" for i in range(books)]}}]
    objs += [{"id": f"w{i}", "class": "Writer", "attrs": {"name": f"Writer {i}"}} for i in range(writers)]
    objs += [{"id": f"b{i}", "class": "Book", "attrs": {"title": f"Book {i}", "pages": 100 + i % 500, "category": "Mystery"},
              "refs": {"author": f"w{i % writers}"}} for i in range(books)]
    return {"objects": objs}


def one(n: int) -> dict[str, Any]:
    from conceptwright.compilers.xmi.model import InstanceModel
    from conceptwright.compilers.xmi.metamodel import Metamodel
    from conceptwright.compilers.xmi.to_xmi import to_xmi
    from conceptwright.tools.xmi.check import check_model
    from conceptwright.tools.xmi.validate import validate_xmi

    mm = Metamodel(shared_dir() / "examples" / "metamodels" / "library.ecore")
    data = synthetic(n)
    t0 = time.perf_counter()
    model = InstanceModel.model_validate(data)
    t1 = time.perf_counter()
    diags = check_model(model, mm)
    t2 = time.perf_counter()
    xmi = to_xmi(model, mm)
    t3 = time.perf_counter()
    _, xdiags = validate_xmi(xmi, mm)
    t4 = time.perf_counter()
    assert not diags and not xdiags, (diags[:3], xdiags[:3])
    return {"objects": len(model.objects), "parse_s": t1 - t0, "check_s": t2 - t1, "compile_serialise_s": t3 - t2,
            "validate_xmi_s": t4 - t3, "total_s": t4 - t0, "xmi_bytes": len(xmi),
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main(args: Any) -> int:
    rows, results = [], []
    for n in [int(s) for s in args.sizes.split(",")]:
        proc = subprocess.run([sys.executable, "-m", "evals.xmi.bench", str(n)], capture_output=True, text=True, cwd=ROOT)
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            return 1
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        results.append(r)
        prev = results[-2] if len(results) > 1 else None
        growth = f"{r['total_s'] / prev['total_s']:.1f}x for {r['objects'] / prev['objects']:.0f}x objects" if prev else "-"
        rows.append([r["objects"], r["parse_s"], r["check_s"], r["compile_serialise_s"], r["validate_xmi_s"], r["total_s"],
                     f"{r['total_s'] / r['objects'] * 1e6:.0f}", f"{r['peak_mb']:.0f}", growth])
        print(json.dumps(r), flush=True)
    text = "\n\n".join([
        "# xmi scale benchmark",
        "Conceptual model (library.ecore: 1 Library, n/4 Writers, the rest Books with an author) parsed, checked, "
        "compiled and serialised to XMI with pyecore, then the XMI validated (lxml read-back, all checks, pyecore load). "
        "One process per size; peak = max RSS of that process.",
        table(["objects", "parse s", "check s", "compile+serialise s", "validate XMI s", "total s", "µs/object", "peak MB", "growth"], rows),
    ]) + "\n"
    out = Path(args.out) if args.out else ROOT / "evals" / "reports" / "bench-xmi.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    print(json.dumps(one(int(sys.argv[1]))))
