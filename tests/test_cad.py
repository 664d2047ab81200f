"""cad target: compiler, sandboxed warm worker, validator, loop (both strategies), edit, CLI."""
from __future__ import annotations

import copy
import json
import math

import pytest

from conceptwright import cli, generate
from conceptwright.agent.protocol import InputError
from conceptwright.compilers.cad.parse import parse_part
from conceptwright.tools.cad.check import check_part
from conceptwright.compilers.cad.schema import part_schema
from conceptwright.compilers.cad.to_cadquery import compile_part
from conceptwright.llm.llamacpp import check_grammar_schema
from conceptwright.prompts import cad as prompts
from conceptwright.prompts.profiles import profile_for
from conceptwright.targets import cad as cad_target
from conceptwright.targets.cad import ConceptualJob, DirectJob, extract_code
from conceptwright.tools.cad.runner import CadJob, CadReport, CadRunner, CodeBlock, ShapeStats
from conceptwright.core import rules
from conceptwright.tools.cad.fact_check import FACT_RULES
from conceptwright.tools.cad.validate import Expectations, check_report, from_description

from .scripted import ScriptedLLM

FLANGE_SPEC = ("A flange plate 120 x 80 x 10 mm with four 8 mm holes 10 mm from each corner "
               "and a 30 mm bore in the centre")
FLANGE = {
    "name": "flange_plate", "units": "mm",
    "parameters": [{"name": "length", "value": 120}, {"name": "width", "value": 80}, {"name": "thickness", "value": 10},
                   {"name": "hole_d", "value": 8}, {"name": "inset", "value": 10}, {"name": "bore_d", "value": 30}],
    "envelope": {"x": 120, "y": 80, "z": 10},
    "features": [
        {"id": "plate", "op": "extrude", "distance": "thickness",
         "sketch": {"on": "XY", "shape": "rectangle", "width": "length", "height": "width"}},
        {"id": "corner_holes", "op": "hole", "face": ">Z", "diameter": "hole_d", "positions": [
            ["-length/2 + inset", "-width/2 + inset"], ["length/2 - inset", "-width/2 + inset"],
            ["length/2 - inset", "width/2 - inset"], ["-length/2 + inset", "width/2 - inset"]]},
        {"id": "bore", "op": "hole", "face": ">Z", "diameter": "bore_d"},
    ],
}
FLANGE_VOLUME = 120 * 80 * 10 - 4 * math.pi * 4 ** 2 * 10 - math.pi * 15 ** 2 * 10


@pytest.fixture(scope="module")
def runner():
    r = CadRunner()
    yield r
    r.close()


def flange(**changes) -> dict:
    data = copy.deepcopy(FLANGE)
    data.update(changes)
    return data


def part_of(data: dict):
    part, diags, _ = parse_part(data)
    assert part is not None, diags
    return part


def evaluate(runner, data: dict, spec: str = FLANGE_SPEC):
    job = ConceptualJob(spec, profile_for("qwen"), runner=runner, pictures=False)
    return job.evaluate(json.dumps(data))


def codes(outcome) -> set[str]:
    return {d.code for d in outcome.diagnostics if d.severity == "error"}


# --- compiler -----------------------------------------------------------------------------

def test_flange_compiles_to_a_readable_parametric_script():
    script = compile_part(part_of(FLANGE))
    code = script.code
    assert code.index("length = 120") < code.index("# plate:") < code.index("# corner_holes:") < code.index("# bore:")
    assert code.count("\n# ") == 5  # the parameters header, one comment per feature (3) and the result
    assert "corner_holes_positions = [(-length / 2 + inset, -width / 2 + inset)" in code
    assert 'main = main.faces(">Z").workplane().hole(bore_d)' in code
    assert "result = main" in code and 'cq.exporters.export(result, f"{args.out}.step")' in code
    assert [b.name for b in script.blocks] == ["parameters", "plate", "corner_holes", "bore", "result"]
    lines = code.splitlines()
    for b in script.blocks:  # block line numbers point into the script as written
        assert lines[b.first_line - 1] == b.code.splitlines()[0]


def test_flange_solid_bbox_volume_holes_and_step_reimport(runner):
    out = evaluate(runner, FLANGE)
    assert out.ok, out.diagnostics
    job = ConceptualJob(FLANGE_SPEC, profile_for("qwen"), runner=runner, pictures=True)
    report = runner.run(CadJob(blocks=[CodeBlock(**b.model_dump()) for b in compile_part(part_of(FLANGE)).blocks],
                               run_name="__cw__", exports=job.exports))
    r = report.result
    assert r is not None and r.n_solids == 1 and r.valid
    assert r.bbox == pytest.approx([-60, -40, 0, 60, 40, 10], abs=1e-6)
    assert r.volume == pytest.approx(FLANGE_VOLUME, rel=1e-9)
    diameters = sorted(round(h["diameter"], 6) for h in r.holes)
    assert diameters == [8, 8, 8, 8, 30]
    assert sorted((round(h["point"][0]), round(h["point"][1])) for h in r.holes if h["diameter"] < 10) == \
        [(-50, -30), (-50, 30), (50, -30), (50, 30)]
    # the STEP written re-imports (in a clean process) as the same solid
    assert report.verify is not None and report.verify.n_solids == 1
    assert abs(report.verify.volume - r.volume) <= 1e-3 * r.volume
    assert report.files["part.png"].startswith(b"\x89PNG") and b"<svg" in report.files["part.svg"]
    assert report.files["part.stl"].startswith(b"solid") or len(report.files["part.stl"]) > 84
    assert report.renderer in ("vtk", "matplotlib")


def test_generated_script_runs_on_its_own_and_exports_all_four(runner):
    code = compile_part(part_of(FLANGE)).code
    launcher = "import sys\nsys.argv = ['flange.py', '--out', 'part']\n"
    report = runner.run(CadJob(blocks=[CodeBlock(name="script", code=launcher + code)], exports=[]))
    assert report.error is None, report.error
    assert {"part.step", "part.stl", "part.svg", "part.png"} <= set(report.files)
    assert report.verify is not None and report.verify.volume == pytest.approx(FLANGE_VOLUME, rel=1e-3)


def test_matplotlib_fallback_renders_a_png(runner):
    code = ("import cadquery as cq\nfrom conceptwright.tools.cad.render import render_png\n"
            "result = cq.Workplane('XY').box(10, 20, 5)\nprint(render_png(result, 'part.png', prefer='matplotlib'))\n")
    report = runner.run(CadJob(blocks=[CodeBlock(name="script", code=code)], exports=[], verify=False))
    assert report.stdout.strip() == "matplotlib" and report.files["part.png"].startswith(b"\x89PNG")


def test_every_feature_kind_compiles_and_builds(runner):
    data = {"name": "sampler", "envelope": {"x": 80, "y": 80, "z": 50}, "features": [
        {"id": "plate", "op": "extrude", "sketch": {"on": "XY", "shape": "rectangle", "width": 80, "height": 80}, "distance": 20},
        {"id": "grid", "op": "hole", "face": ">Z", "diameter": 4, "pattern": {"kind": "linear", "count": [3, 2], "spacing": [10, 10], "at": [20, 20]}},
        {"id": "ring", "op": "hole", "face": ">Z", "diameter": 3, "depth": 5, "pattern": {"kind": "polar", "count": 6, "radius": 12, "at": [-20, -20]}},
        {"id": "cb", "op": "hole", "diameter": 5, "kind": "counterbore", "cbore_diameter": 9, "cbore_depth": 3, "positions": [[20, -20]]},
        {"id": "cs", "op": "hole", "diameter": 5, "kind": "countersink", "csk_diameter": 10, "positions": [[-20, 20]]},
        {"id": "boss", "op": "extrude", "sketch": {"on": ">Z", "shape": "polygon", "sides": 6, "diameter": 12}, "distance": 10},
        {"id": "slot", "op": "cut", "sketch": {"on": "XY", "offset": 20, "shape": "slot", "length": 30, "width": 6, "at": [0, -30]}, "depth": -5},
        {"id": "window", "op": "cut", "sketch": {"on": "XZ", "shape": "rectangle", "width": 10, "height": 5, "at": [0, 10]}, "depth": "through"},
        {"id": "fin", "op": "extrude", "body": "fin", "sketch": {"on": "YZ", "shape": "polyline", "points": [[0, 0], [10, 0], [0, 10]], "at": [-40, 20]}, "distance": 5, "symmetric": True},
        {"id": "join", "op": "boolean", "operation": "union", "tool": "fin"},
        {"id": "edge", "op": "chamfer", "edges": "bottom", "distance": 1},
        {"id": "flip", "op": "mirror", "plane": "XY"},
        {"id": "spin", "op": "move", "rotate_axis": "Z", "rotate_angle": 90, "translate": [0, 0, 20]},
        {"id": "knob", "op": "revolve", "body": "knob", "sketch": {"on": "XZ", "shape": "profile", "start": [0, 0],
         "segments": [{"to": [5, 0]}, {"to": [0, 5], "through": [3.5355339, 3.5355339]}]}, "axis": "Z"},
        {"id": "knob_up", "op": "move", "body": "knob", "translate": [0, 0, 50]},
        {"id": "cup", "op": "extrude", "body": "cup", "sketch": {"on": "XY", "shape": "circle", "diameter": 8, "offset": 40}, "distance": 10},
        {"id": "hollow", "op": "shell", "body": "cup", "thickness": 1, "open_face": ">Z"},
        {"id": "add_cup", "op": "boolean", "operation": "union", "tool": "cup"},
        {"id": "add_knob", "op": "boolean", "operation": "union", "tool": "knob"},
    ]}
    part = part_of(data)
    assert check_part(part) == []
    report = runner.run(CadJob(blocks=[CodeBlock(**b.model_dump()) for b in compile_part(part).blocks],
                               run_name="__cw__", exports=["step"]))
    assert report.error is None and report.failed_feature is None, (report.error, report.blocks)
    assert [b.feature for b in report.blocks][-1] == "result"
    assert report.result is not None and report.result.n_solids == 1 and report.result.valid
    assert report.result.bbox[5] == pytest.approx(55, abs=1e-6)  # knob top: 50 + radius 5


def test_symmetric_extrude_spans_the_distance_in_total(runner):
    data = {"features": [{"id": "rod", "op": "extrude", "symmetric": True, "distance": 10,
                          "sketch": {"on": "YZ", "shape": "circle", "diameter": 4}}]}
    report = runner.run(CadJob(blocks=[CodeBlock(**b.model_dump()) for b in compile_part(part_of(data)).blocks],
                               run_name="__cw__", exports=[], verify=False))
    assert report.result is not None and report.result.bbox[0] == pytest.approx(-5) and report.result.bbox[3] == pytest.approx(5)


# --- validator: each check with a part that violates it -----------------------------------

def test_too_large_fillet_is_caught_and_named(runner):
    data = flange(features=FLANGE["features"] + [{"id": "round_all", "op": "fillet", "edges": "all", "radius": 8}])
    out = evaluate(runner, data)
    bad = [d for d in out.diagnostics if d.code in ("feature-invalid", "script-error")]
    assert bad and bad[0].obj == "round_all" and "radius" in bad[0].message


def test_cut_removing_everything_is_caught_and_named(runner):
    cut = {"id": "pocket", "op": "cut", "sketch": {"on": "XY", "shape": "rectangle", "width": 200, "height": 200}, "depth": "through"}
    out = evaluate(runner, flange(features=FLANGE["features"][:1] + [cut]))
    assert "feature-empty" in codes(out) and out.diagnostics[0].obj == "pocket"
    assert "void bounding box" in out.diagnostics[0].message and "leave this feature out" in out.diagnostics[0].message
    assert "step" in out.artefacts and out.usable  # the files hold the plate without the cut


def test_two_separate_solids(runner):
    extra = {"id": "tab", "op": "extrude", "body": "tab", "distance": 10,
             "sketch": {"on": "XY", "at": [200, 0], "shape": "rectangle", "width": 10, "height": 10}}
    out = evaluate(runner, flange(features=FLANGE["features"] + [extra]))
    assert "multiple-solids" in codes(out)


def test_envelope_mismatch_names_the_axis(runner):
    out = evaluate(runner, flange(envelope={"x": 120, "y": 80, "z": 20}))
    diags = [d for d in out.diagnostics if d.code == "envelope-mismatch"]
    assert [d.feature for d in diags] == ["z"] and "10" in diags[0].message


def test_description_dimensions(runner):
    """The older description checks, used when every fact rule is off (tests/test_cad_facts.py checks the facts)."""
    half = flange(parameters=[p if p["name"] != "length" else {"name": "length", "value": 60} for p in FLANGE["parameters"]],
                  envelope={"x": 60, "y": 80, "z": 10})
    with rules.disabled(FACT_RULES):
        assert "size-mismatch" in codes(evaluate(runner, half))
        assert "dimension-too-large" in codes(evaluate(runner, FLANGE, "A flange plate; the bolt circle is 400 mm across"))
    facts = [d for d in evaluate(runner, half).diagnostics if d.code == "fact-not-carried"]
    assert facts and facts[0].obj == "plate" and "120 x 80 x 10 mm" in facts[0].message


def test_hole_count_and_holes_off_the_part(runner):
    feats = copy.deepcopy(FLANGE["features"])
    feats[1]["positions"] = [[500, 500], [-500, 500], [50, 30], [-50, 30]]  # two miss the plate
    out = evaluate(runner, flange(features=feats))
    assert {d.obj for d in out.diagnostics if d.code == "hole-count"} >= {"corner_holes"}
    feats[1]["positions"] = [[500, 500]]
    assert "no-effect" in codes(evaluate(runner, flange(features=feats)))


def test_script_error_names_the_feature(runner):
    bad = {"id": "odd_cut", "op": "cut", "sketch": {"on": ">Q", "shape": "circle", "diameter": 3}, "depth": 1}
    data = flange(features=FLANGE["features"] + [bad])
    data["features"][-1]["sketch"]["on"] = ">Z"
    data["features"][-1]["depth"] = "1 / 0"
    out = evaluate(runner, data)
    assert "bad-value" in codes(out) and any(d.obj == "odd_cut" for d in out.diagnostics) and not out.ok


def test_failed_fillet_is_reported_and_left_out_of_the_files(runner):
    """A fillet OCCT cannot make stays an error for the LLM, but the files keep the part without it."""
    bad = {"id": "huge_round", "op": "fillet", "edges": "vertical", "radius": 500}
    out = evaluate(runner, flange(features=FLANGE["features"] + [bad]))
    assert "script-error" in codes(out) and not out.ok
    err = next(d for d in out.diagnostics if d.code == "script-error")
    assert err.obj == "huge_round" and "leave this feature out" in err.message
    assert "step" in out.artefacts and "huge_round" not in out.artefacts["code"]
    bad_selector = {"id": "odd_edges", "op": "chamfer", "edges": ">Q", "distance": 1}
    out = evaluate(runner, flange(features=FLANGE["features"] + [bad_selector]))
    assert codes(out) == {"script-error"} and out.diagnostics[0].obj == "odd_edges" and "step" in out.artefacts


def test_primitives_radius_and_partial_envelope(runner):
    data = {"name": "axle", "parameters": [{"name": "radius", "value": 5}, {"name": "length", "value": 40}],
            "envelope": {"x": 40, "y": 0, "z": 20},
            "features": [{"id": "block", "op": "box", "length": 20, "width": 20, "height": 20},
                         {"id": "shaft", "op": "cylinder", "diameter": "radius", "height": "length", "axis": "X"}]}
    out = evaluate(runner, data, "A 20 mm cube on an axle of radius 5 mm, 40 mm long")
    assert any("2 * radius" in f for f in out.fixes) and any("unchecked" in f for f in out.fixes)
    assert out.ok, out.diagnostics
    assert "cylinder(length, radius)" in out.artefacts["code"] and 'Workplane("YZ")' in out.artefacts["code"]
    assert not any(d.code == "missing-envelope" for d in out.diagnostics)  # the envelope is optional: y was left unchecked


@pytest.mark.parametrize("feature, code", [
    ({"id": "x", "op": "fillet", "body": "ghost", "radius": 1}, "unknown-body"),
    ({"id": "x", "op": "hole", "diameter": "__import__('os').system('ls')"}, "bad-value"),
    ({"id": "x", "op": "hole", "diameter": "missing_param * 2"}, "bad-value"),
    ({"id": "x", "op": "hole", "diameter": -3}, "bad-value"),
    ({"id": "plate", "op": "hole", "diameter": 3}, "duplicate-id"),
    ({"id": "x", "op": "revolve", "sketch": {"on": "XY", "shape": "circle", "diameter": 2}, "axis": "Z"}, "axis-not-in-plane"),
])
def test_model_checks_before_running(feature, code):
    diags = check_part(part_of(flange(features=FLANGE["features"] + [feature])))
    assert code in {d.code for d in diags} and any(d.obj in ("x", "plate") for d in diags)


def test_rectangle_is_length_by_width_and_the_older_form_is_read():
    new = {"id": "p", "op": "extrude", "sketch": {"on": "XZ", "shape": "rectangle", "length": 30, "width": 10}, "distance": 5}
    old = {"id": "p", "op": "extrude", "sketch": {"on": "XZ", "shape": "rectangle", "width": 30, "height": 10}, "distance": 5}
    a, b = (parse_part({"features": [f]})[0] for f in (new, old))
    assert a == b and (a.features[0].sketch.length, a.features[0].sketch.width) == (30, 10)
    assert ".rect(p_length, p_width)" in compile_part(a).code


def test_schema_errors_point_at_the_feature():
    _, diags, _ = parse_part({"features": [{"id": "p", "op": "extrude", "sketch": {"shape": "rectangle", "width": 3}, "distance": 1}]})
    assert diags and diags[0].obj == "p" and "sketch.length" in diags[0].message


def test_certain_fixes():
    data = {"parameters": {"d": 10}, "envelope": [10, 10, 5], "features": [
        {"type": "extrude", "shape": "circle", "radius": "5 mm", "distance": "5mm"}]}
    part, diags, fixes = parse_part(data)
    assert part is not None and not diags and len(fixes) >= 4
    assert part.features[0].sketch.diameter == 10 and part.features[0].id == "f1"


def test_step_reimport_mismatch_is_an_error():
    good = ShapeStats(n_solids=1, valid=True, volume=1000.0, bbox=[0, 0, 0, 10, 10, 10])
    report = CadReport(result=good, files={"part.step": b"x"}, verify=good.model_copy(update={"volume": 1002.0}))
    assert [d.code for d in check_report(report, Expectations())] == ["step-reimport"]
    report.verify = good.model_copy(update={"volume": 1000.5})
    assert check_report(report, Expectations()) == []


def test_dimensions_read_from_descriptions():
    exp = from_description(FLANGE_SPEC)
    assert exp.blocks == [[120, 80, 10]] and 30 in exp.lengths and 8 in exp.lengths
    assert [(h.count, h.diameter) for h in exp.holes] == [(4, 8), (1, 30)]
    assert from_description("a 2 cm cube", "mm").lengths == [20]
    assert from_description("a rod 0.75 units long, 25% lighter, M8 thread").lengths == [0.75]


# --- the sandbox: attacks are stopped or refused, and the next job still runs -------------

@pytest.mark.parametrize("attack, expect", [
    ("while True:\n    pass\n", "timeout"),
    ("blob = bytearray(64 * 1024 ** 3)\n", "memory"),
    ("import os\nwhile True:\n    os.fork()\n", "os.fork"),
    ("open('/tmp/cw_escape.txt', 'w').write('x')\n", "outside the working directory"),
    ("import os\nos.open('/tmp/cw_escape2.txt', os.O_WRONLY | os.O_CREAT)\n", "outside the working directory"),
    ("import socket\nsocket.create_connection(('127.0.0.1', 9))\n", "socket"),
    ("import subprocess\nsubprocess.run(['true'])\n", "subprocess"),
])
def test_sandbox_attack_is_stopped_and_next_job_runs(runner, tmp_path, attack, expect):
    job = DirectJob("a cube", profile_for("qwen"), runner=runner, pictures=False, timeout_s=3)
    out = job.evaluate(f"```python\nimport cadquery as cq\n{attack}result = cq.Workplane().box(1, 1, 1)\n```")
    assert not out.ok and codes(out) <= {"stopped", "sandbox-refused"} and codes(out)
    assert expect in out.diagnostics[0].message
    assert not (tmp_path.parent / "cw_escape.txt").exists()
    import pathlib

    assert not pathlib.Path("/tmp/cw_escape.txt").exists() and not pathlib.Path("/tmp/cw_escape2.txt").exists()
    after = job.evaluate("```python\nimport cadquery as cq\nresult = cq.Workplane().box(1, 2, 3)\n```")
    assert after.ok, after.diagnostics


def test_worker_is_warm_and_recycled():
    r = CadRunner(max_jobs=2)
    try:
        job = CadJob(blocks=[CodeBlock(name="script", code="import cadquery as cq\nresult = cq.Workplane().box(1, 1, 1)\n")],
                     exports=[], verify=False)
        pids = [r.run(job).worker_pid for _ in range(3)]
        assert pids[0] == pids[1] != pids[2] and r.starts == 2
    finally:
        r.close()


# --- the loop, both strategies, and edit --------------------------------------------------

def test_conceptual_loop_repairs_with_diagnostics(runner):
    bad = flange(features=FLANGE["features"] + [{"id": "round_all", "op": "fillet", "edges": "all", "radius": 8}])
    llm = ScriptedLLM([json.dumps(bad), json.dumps(FLANGE)])
    res = generate("cad", FLANGE_SPEC, model=llm, runner=runner, pictures=False)
    assert res.ok and res.attempts == 2 and res.strategy == "conceptual"
    assert llm.calls[0]["schema"] == part_schema()
    repair = llm.calls[1]["messages"]
    assert [m.role for m in repair] == ["system", "user", "assistant", "user"]
    assert '"round_all"' in repair[2].content and "round_all" in repair[3].content
    assert FLANGE_SPEC in repair[3].content  # the description is repeated, not left to the example
    assert llm.calls[0]["temperature"] == 0 and llm.calls[1]["temperature"] > 0
    assert res.conceptual["features"][0]["id"] == "plate"
    assert {"code", "step", "stl"} <= set(res.artefacts)


def test_direct_loop_runs_llm_code_in_the_sandbox(runner):
    broken = "```python\nimport cadquery as cq\nresult = cq.Workplane('XY').box(120, 80, 10).edges('|Z').fillet(50)\n```"
    good = ("```python\nimport cadquery as cq\nplate = cq.Workplane('XY').box(120, 80, 10)\n"
            "plate = plate.faces('>Z').workplane().rect(100, 60, forConstruction=True).vertices().hole(8)\n"
            "result = plate.faces('>Z').workplane().hole(30)\n```")
    llm = ScriptedLLM([broken, good])
    res = generate("cad", FLANGE_SPEC, model=llm, strategy="direct", runner=runner, pictures=False)
    assert res.ok and res.attempts == 2 and llm.calls[0]["schema"] is None
    assert "fillet(50)" in llm.calls[1]["messages"][2].content
    assert "script-error" in llm.calls[1]["messages"][3].content or "invalid" in llm.calls[1]["messages"][3].content


def test_direct_without_result_is_diagnosed(runner):
    job = DirectJob("a cube", profile_for("qwen"), runner=runner, pictures=False)
    out = job.evaluate("import cadquery as cq\nbox = cq.Workplane().box(1, 1, 1).faces('>Z').workplane().rect(1, 1)\n")
    assert codes(out) == {"no-solid"} and "result" in out.diagnostics[0].message


def test_extract_code():
    assert extract_code("Here:\n```python\nx = 1\n```\nbye") == "x = 1\n"
    assert extract_code("```python\nx = 1\ny = 2") == "x = 1\ny = 2\n"  # cut off


def test_edit_part_changes_the_model(runner):
    changed = copy.deepcopy(FLANGE)
    changed["parameters"][3]["value"] = 10
    llm = ScriptedLLM([json.dumps(changed)])
    res = generate("cad", "make the four holes 10 mm", edit=FLANGE, model=llm, runner=runner, max_tokens=50_000)
    assert res.ok and {"name": "hole_d", "value": 10.0} in res.conceptual["parameters"]
    prompt = llm.calls[0]["messages"][1].content
    assert '"corner_holes"' in prompt and "make the four holes 10 mm" in prompt
    assert llm.calls[0]["schema"] == part_schema()
    with pytest.raises(InputError):
        generate("cad", "x", edit="not json", model=llm, runner=runner)
    assert res.trace[0].prompt_variant.endswith("/edit")


def test_schema_is_a_llama_cpp_grammar():
    schema = part_schema()
    check_grammar_schema(schema)
    from llama_cpp.llama_grammar import LlamaGrammar

    assert LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False) is not None


def test_prompt_examples_are_valid_parts(runner):
    part = part_of(json.loads(prompts.EXAMPLE_JSON))
    assert check_part(part) == []
    out = ConceptualJob(prompts.EXAMPLE_SPEC, profile_for("qwen"), runner=runner, pictures=False).evaluate(prompts.EXAMPLE_JSON)
    assert out.ok, out.diagnostics
    direct = DirectJob(prompts.EXAMPLE_SPEC, profile_for("qwen"), runner=runner, pictures=False).evaluate(prompts.EXAMPLE_CODE)
    assert direct.ok, direct.diagnostics
    assert check_part(part_of(json.loads(prompts.EXAMPLE_JSON_COMPACT))) == []
    compact = prompts.conceptual_messages("x", profile_for("smollm2"))[1].content
    assert prompts.EXAMPLE_JSON_COMPACT in compact
    assert len(compact) < len(prompts.conceptual_messages("x", profile_for("qwen"))[1].content)


# --- CLI ----------------------------------------------------------------------------------

@pytest.fixture
def script(script, monkeypatch, runner):
    """The shared scripted LLM, with the CLI's CAD jobs on this module's warm runner."""
    monkeypatch.setattr(cad_target, "shared_runner", lambda: runner)
    return script


def test_cli_valid_exit_0_writes_step_stl_png_code(script, tmp_path, capsys):
    script([json.dumps(FLANGE)])
    out = tmp_path / "o" / "flange.step"
    code = cli.main(["generate", "cad", "--spec", FLANGE_SPEC, "--out", str(out), "--stl", str(tmp_path / "f.stl"),
                     "--png", str(tmp_path / "f.png"), "--code", str(tmp_path / "f.py"), "--trace", str(tmp_path / "t.jsonl")])
    assert code == 0, capsys.readouterr().err
    assert out.read_bytes().startswith(b"ISO-10303-21")
    assert (tmp_path / "f.png").read_bytes().startswith(b"\x89PNG") and (tmp_path / "f.stl").stat().st_size > 1000
    assert "bore_d = 30" in (tmp_path / "f.py").read_text()
    assert "valid cad written" in capsys.readouterr().out


def test_cli_invalid_exit_2_writes_best_attempt(script, tmp_path, capsys):
    bad = flange(parameters=[p if p["name"] != "length" else {"name": "length", "value": 100} for p in FLANGE["parameters"]])
    script([json.dumps(bad), json.dumps(bad)])
    out = tmp_path / "flange.step"
    code = cli.main(["generate", "cad", "--spec", FLANGE_SPEC, "--out", str(out), "--code", str(tmp_path / "f.py"),
                     "--max-repairs", "1"])
    err = capsys.readouterr().err
    assert code == 2 and "fact-not-carried" in err and out.exists() and (tmp_path / "f.py").exists()


@pytest.mark.parametrize("args, needle", [
    (["--spec", "a cube", "--out", "cube.stl"], "must end with .step"),
    (["--spec", "a cube", "--out", "c.step", "--png", "c.jpg"], "must end with .png"),
    (["--spec", "  ", "--out", "c.step"], "empty"),
    (["--spec-file", "missing.txt", "--out", "c.step"], "cannot read --spec-file"),
    (["--spec", "a cube"], "--out"),
    (["--spec", "a cube", "--out", "c.step", "--strategy", "magic"], "invalid choice"),
])
def test_cli_bad_input_exit_1_one_line(script, tmp_path, capsys, args, needle):
    script([json.dumps(FLANGE)])
    code = cli.main(["generate", "cad", *args])
    err = capsys.readouterr().err
    assert code == 1 and needle in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "c.step").exists()


# --- eval runner --------------------------------------------------------------------------

def test_eval_runner_side_by_side_with_resume(runner, tmp_path, monkeypatch):
    """The cad suite through `conceptwright eval`'s engine: scored against the ground truth, resumable."""
    from conceptwright import jobs
    from conceptwright.evaluation import cad as cad_suite
    from conceptwright.evaluation import run_eval
    from conceptwright.targets import cad as cad_target

    monkeypatch.setattr(cad_suite, "shared_runner", lambda: runner)
    monkeypatch.setattr(cad_target, "shared_runner", lambda: runner)
    direct = ("```python\nimport cadquery as cq\nresult = cq.Workplane('XY').box(120, 80, 10)"
              ".faces('>Z').workplane().hole(30)\n```")
    llm = ScriptedLLM([json.dumps(FLANGE), direct])
    monkeypatch.setitem(jobs._MODELS, "scripted-cad", llm)
    run = run_eval("cad", tmp_path / "ev", models=["scripted-cad"], strategies=["conceptual", "direct"], max_repairs=0,
                   only=["own-flange-plate"], progress=False)
    rows = {r["strategy"]: r for r in run.rows}
    assert rows["conceptual"]["ok"] and rows["conceptual"]["iou"] == pytest.approx(1.0, abs=1e-6)
    assert rows["conceptual"]["chamfer"] < 0.01 < rows["direct"]["chamfer"]  # direct missed the four holes
    assert rows["direct"]["valid_solid"] and not rows["direct"]["ok"]  # hole-count failed
    text = run.report_md.read_text()
    assert "| conceptual | 1/1 (100%) | 1/1 (100%) |" in text and "own-flange-plate" in text
    assert all((tmp_path / "ev" / "batch" / "jobs" / r["job"] / "trace.jsonl").exists() for r in run.rows)
    monkeypatch.setitem(jobs._MODELS, "scripted-cad", ScriptedLLM([]))  # nothing left to ask
    again = run_eval("cad", tmp_path / "ev", models=["scripted-cad"], strategies=["conceptual", "direct"], max_repairs=0,
                     only=["own-flange-plate"], progress=False, resume=True)
    assert sorted(r["job"] for r in again.rows) == sorted(r["job"] for r in run.rows)


def test_conceptual_prompt_ends_with_the_users_description_not_the_example():
    from conceptwright.prompts import cad as cad_prompts
    from conceptwright.prompts.profiles import profile_for

    for model in ("smollm2", "gguf:qwen2.5-coder"):
        msgs = cad_prompts.conceptual_messages("A washer 20 mm across with a 8 mm hole, 2 mm thick.", profile_for(model))
        assert msgs[-1].content.rstrip().endswith("Description: A washer 20 mm across with a 8 mm hole, 2 mm thick.\nJSON:")


def test_feature_id_used_as_body_name_means_its_body():
    data = {"name": "pipe", "features": [
        {"id": "outer", "op": "box", "length": 10, "width": 10, "height": 40},
        {"id": "bore", "op": "hole", "body": "outer", "diameter": 6},
        {"id": "boss", "op": "cylinder", "body": "peg", "diameter": 4, "height": 50},
        {"id": "join", "op": "boolean", "operation": "union", "tool": "boss"}]}
    part, diags, fixes = parse_part(data)
    assert part is not None and check_part(part) == []
    assert part.features[1].body == "main" and part.features[3].tool == "peg"
    assert len([f for f in fixes if "is a feature id" in f]) == 2


def test_centre_hole_from_the_curved_side_of_a_cylinder_goes_along_its_axis(runner):
    data = {"name": "tube", "parameters": [{"name": "outer_d", "value": 0.75}, {"name": "inner_d", "value": 0.3125}],
            "envelope": {"x": 1.5, "y": 0.75, "z": 0.75},
            "features": [{"id": "body", "op": "cylinder", "diameter": "outer_d", "height": 1.5, "axis": "X"},
                         {"id": "bore", "op": "hole", "face": ">Z", "diameter": "inner_d"}]}
    out = evaluate(runner, data, "A horizontal tube 1.5 long, outer diameter 0.75, inner diameter 0.3125")
    assert out.ok, out.diagnostics
    assert any("curved side" in f for f in out.fixes) and 'faces(">X")' in out.artefacts["code"]


def test_boolean_with_a_shape_that_was_joined_keeps_that_shape_apart():
    data = {"name": "pair", "features": [
        {"id": "cube", "op": "box", "length": 10, "width": 10, "height": 10},
        {"id": "prism", "op": "extrude", "sketch": {"on": "XY", "shape": "rectangle", "width": 5, "height": 5}, "distance": 20},
        {"id": "both", "op": "boolean", "operation": "intersect", "tool": "prism"}]}
    part, _, fixes = parse_part(data)
    assert part is not None and check_part(part) == []
    assert part.features[1].body == "prism" and part.features[2].tool == "prism" and part.features[2].body == "main"
    assert any("body of its own" in f for f in fixes)


def test_cut_that_splits_the_body_is_named_and_left_out_of_the_files(runner):
    data = {"name": "split", "envelope": {"x": 40, "y": 20, "z": 10}, "features": [
        {"id": "bar", "op": "box", "length": 40, "width": 20, "height": 10},
        {"id": "slot", "op": "cut", "sketch": {"on": "XY", "shape": "rectangle", "length": 4, "width": 30}, "depth": "through"}]}
    out = evaluate(runner, data, "A bar 40 x 20 x 10 mm")
    err = next(d for d in out.diagnostics if d.code == "multiple-solids")
    assert err.obj == "slot" and "split the body into 2" in err.message and not out.ok
    assert "step" in out.artefacts and "slot" not in out.artefacts["code"].split("# result")[0].split("# Parameters")[1]
