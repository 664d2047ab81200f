"""What is done to every metamodel of the corpus (and to the XMI instances shipped with them),
the same for `python -m evals corpus` and tests/test_corpus.py.

A metamodel: load it (our ``Metamodel``), build what the xmi target builds from it (the prompt
summary, the decoding JSON Schema, the worked example), synthesise a small instance with no LLM
(``synth.py``), check it, check it conforms to the decoding schema, compile it to XMI, validate
the XMI (lxml read-back, every check, pyecore load), write it, and read the file back with
pyecore and with our reader: same objects. A real instance: read, check, pyecore load, and round
trip through the conceptual model (read -> compile -> read: same objects and links).

Every row has an ``outcome`` and a one-line ``message``; an exception that is not our InputError
is a ``traceback`` (the goal is none).
"""
from __future__ import annotations

import re
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

from pyecore.resources import URI

from conceptwright.compilers.xmi.example import example_instance
from conceptwright.compilers.xmi.metamodel import Metamodel
from conceptwright.compilers.xmi.model import InstanceModel
from conceptwright.compilers.xmi.schema import instance_schema, summary
from conceptwright.compilers.xmi.to_xmi import to_xmi
from conceptwright.core.errors import InputError
from conceptwright.prompts.profiles import profile_for
from conceptwright.targets.xmi import XmiTarget
from conceptwright.tools.xmi.check import check_model
from conceptwright.tools.xmi.validate import pyecore_load_check, read_xmi, validate_xmi

from .synth import synthesize

SUPPORTED = "supported"
PROFILE_MODELS = ("smollm2", "openai:gpt-4o-mini")  # a tiny local model's prompt profile and a large API model's


class Failed(Exception):
    def __init__(self, outcome: str, message: str) -> None:
        super().__init__(message)
        self.outcome, self.message = outcome, " ".join(message.split())


def _errors(diags: list[Any]) -> list[Any]:
    return [d for d in diags if d.severity == "error"]


def _first(diags: list[Any]) -> str:
    d = diags[0]
    return f"{d.code}: {d.message}"


def _traceback_line(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "conceptwright" in f.filename or "/evals/" in f.filename] or frames
    where = f" at {Path(ours[-1].filename).name}:{ours[-1].lineno}" if ours else ""
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:300] + where


def _pyecore_objects(path: Path, mm: Metamodel) -> int:
    """Load a written XMI file with pyecore (a fresh resource of the metamodel's set); count objects."""
    resource = mm.rset.get_resource(URI(str(path)))
    try:
        return sum(1 + sum(1 for _ in root.eAllContents()) for root in resource.contents)
    finally:
        mm.rset.remove_resource(resource)


def _shape(model: InstanceModel) -> tuple[Counter, int]:
    return Counter(o.cls for o in model.objects), sum(len(o.ref_ids(n)) for o in model.objects for n in o.refs)


def check_metamodel(path: str | Path, out_dir: str | Path | None = None) -> dict[str, Any]:
    """The whole procedure for one metamodel; a row for the report."""
    path = Path(path)
    row: dict[str, Any] = {"path": str(path), "outcome": SUPPORTED, "message": "", "stage": ""}
    t0 = time.perf_counter()
    stage = "load"
    try:
        try:
            mm = Metamodel(path)
        except InputError as exc:
            raise Failed("load-error", str(exc).replace(str(path), path.name)) from None
        row["_mm"] = mm  # for the caller (instances); not part of the report
        row.update(classes=len(mm.classes), concrete=sum(c.concrete for c in mm.classes.values()),
                   packages=len(mm.packages), warnings=list(getattr(mm, "warnings", [])))
        stage = "prompt"
        summary(mm)
        schema = instance_schema(mm)
        own = example_instance(mm)
        if own is not None:
            check_model(own, mm)
        for strategy in XmiTarget.strategies:  # what the target builds before its first LLM call
            for model_name in PROFILE_MODELS:
                job = XmiTarget().prepare("A small example model.", strategy=strategy, profile=profile_for(model_name),
                                          metamodel=mm, out=Path(out_dir or path.parent) / "model.xmi")
                job.first_messages()
        stage = "synthesise"
        model, problems, cover = synthesize(mm)
        row.update(cover)
        if model is None:
            raise Failed("not-instantiable", problems[0])
        stage = "check"
        diags = _errors(check_model(model, mm))
        stage = "compile"
        xmi = to_xmi(model, mm, metamodel_location=path.name)  # compiled even when invalid: it must not crash
        if problems:
            raise Failed("synthesis", problems[0])
        if diags:
            raise Failed("synthesis-invalid", _first(diags))
        stage = "schema"
        schema_problem = _schema_problem(model, schema)
        if schema_problem:
            raise Failed("schema-mismatch", schema_problem)
        stage = "validate"
        _, xdiags = validate_xmi(xmi, mm)
        if _errors(xdiags):
            raise Failed("compiled-invalid", _first(_errors(xdiags)))
        stage = "read back"
        if out_dir is not None:
            target = Path(out_dir) / (path.stem + ".xmi")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(xmi, encoding="utf-8")
            n = _pyecore_objects(target, mm)
            if n != len(model.objects):
                raise Failed("read-back", f"pyecore reads {n} objects back from the written XMI, {len(model.objects)} were written")
        back, rdiags = read_xmi(xmi, mm)
        if back is None:
            raise Failed("read-back", _first(rdiags))
        if _shape(back)[0] != _shape(model)[0]:
            raise Failed("read-back", f"read back {dict(_shape(back)[0])}, wrote {dict(_shape(model)[0])}")
    except Failed as f:
        row.update(outcome=f.outcome, message=f.message)
    except Exception as exc:  # noqa: BLE001 - a crash is what this run looks for
        row.update(outcome="traceback", message=f"{stage}: {_traceback_line(exc)}", traceback=traceback.format_exc())
    row["stage"] = stage
    row["seconds"] = round(time.perf_counter() - t0, 3)
    return row


def _schema_problem(model: InstanceModel, schema: dict[str, Any]) -> str | None:
    """Whether the valid instance is one the decoding schema allows (else constrained decoding could never write it)."""
    try:
        import jsonschema
    except ImportError:  # a dev dependency; without it the check is skipped
        return None
    schema = {**schema, "properties": {**schema["properties"], "objects": {
        k: v for k, v in schema["properties"]["objects"].items() if k != "maxItems"}}}  # a decoding budget, not a rule
    validator = jsonschema.Draft202012Validator(schema)
    error = next(iter(validator.iter_errors(model.dump())), None)
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path)
    return f"the decoding schema rejects a valid instance at {where or '/'}: {error.message[:200]}"


def check_instance(path: str | Path, mm: Metamodel, *, single_root: bool = True) -> dict[str, Any]:
    """Read, check and round-trip one real XMI instance of ``mm``."""
    path = Path(path)
    row: dict[str, Any] = {"path": str(path), "metamodel": str(mm.path), "outcome": "valid", "message": ""}
    t0 = time.perf_counter()
    stage = "read"
    try:
        data = path.read_bytes()
        model, diags = read_xmi(data, mm)
        if model is None:
            raise Failed("unreadable", _first(diags))
        row["objects"] = len(model.objects)
        stage = "check"
        found = _errors(check_model(model, mm))
        if not single_root:
            found = [d for d in found if d.code != "not-contained" or "exactly one root" not in d.message]
        found += _errors(pyecore_load_check(data, mm))
        for d in found:  # a reference into another document is not dangling: that document is never opened
            if d.code == "dangling-reference" and re.search(r"refers to '[^']*(#|://)", d.message):
                d.code = "external-reference"
        row["codes"] = dict(Counter(d.code for d in found))
        if found:
            row.update(outcome="invalid", message=_first(found))
        stage = "round trip"
        again = to_xmi(model, mm)
        back, bdiags = read_xmi(again, mm)
        if back is None:
            raise Failed("round-trip", _first(bdiags))
        (c1, l1), (c2, l2) = _shape(model), _shape(back)
        known = Counter({k: v for k, v in c1.items() if k in mm.classes and mm.classes[k].concrete})
        if c2 != known:
            raise Failed("round-trip", f"compiled back {sum(c2.values())} objects of {sum(known.values())}")
        row["round_trip"] = {"objects": sum(c2.values()), "links_before": l1, "links_after": l2}
    except Failed as f:
        row.update(outcome=f.outcome, message=f.message)
    except Exception as exc:  # noqa: BLE001
        row.update(outcome="traceback", message=f"{stage}: {_traceback_line(exc)}", traceback=traceback.format_exc())
    row["seconds"] = round(time.perf_counter() - t0, 3)
    return row
