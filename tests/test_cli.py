"""CLI contract: arguments, outputs and exit codes (0 valid, 2 best invalid written, 1 bad input)."""
from __future__ import annotations

import subprocess
import sys

import pytest

from conceptwright import cli

from .conftest import dumps

GOOD = dumps([{"id": "lib", "class": "Library", "attrs": {"name": "City"}, "refs": {"writers": ["w1"]}},
              {"id": "w1", "class": "Writer", "attrs": {"name": "Ann"}}])
BAD = dumps([{"id": "lib", "class": "Library", "refs": {"books": ["b1"]}},
             {"id": "b1", "class": "Book", "refs": {"author": "w9"}}])


def run(*args: str) -> int:
    return cli.main(list(args))


def test_valid_exit_0_writes_xmi_trace_and_diagram(script, metamodels, tmp_path, capsys):
    script([GOOD])
    out, trace, svg = tmp_path / "o" / "city.xmi", tmp_path / "t.jsonl", tmp_path / "d.svg"
    code = run("generate", "xmi", "--metamodel", str(metamodels / "library.ecore"), "--spec", "a library",
               "--out", str(out), "--trace", str(trace), "--diagram", str(svg))
    assert code == 0
    assert 'name="City"' in out.read_text() and len(trace.read_text().splitlines()) == 1
    assert b"<svg" in svg.read_bytes()
    assert "valid xmi written" in capsys.readouterr().out


def test_invalid_exit_2_still_writes_best_attempt(script, metamodels, tmp_path, capsys):
    script([BAD, BAD])
    spec = tmp_path / "spec.txt"
    spec.write_text("a library")
    out = tmp_path / "city.xmi"
    code = run("generate", "xmi", "--metamodel", str(metamodels / "library.ecore"), "--spec-file", str(spec),
               "--out", str(out), "--max-repairs", "1")
    assert code == 2 and out.exists() and "<library:Library" in out.read_text()
    err = capsys.readouterr().err
    assert "dangling-reference" in err and "w9" in err


@pytest.mark.parametrize("args, needle", [
    (["--metamodel", "missing.ecore", "--spec", "x"], "metamodel not found"),
    (["--metamodel", "{mm}", "--spec-file", "missing.txt"], "cannot read --spec-file"),
    (["--metamodel", "{mm}", "--spec", "x", "--strategy", "magic"], "invalid choice"),
    (["--metamodel", "{mm}"], "one of the arguments --spec --spec-file is required"),
    (["--metamodel", "{mm}", "--spec", "x", "--spec-file", "f"], "not allowed with"),
    (["--metamodel", "{mm}", "--spec", "   "], "empty"),
    (["--metamodel", "{mm}", "--spec", "x", "--model", "gguf:/nope.gguf"], "not found"),
    (["--metamodel", "{mm}", "--spec", "x", "--model", "banana"], "unknown model"),
    (["--metamodel", "{bad}", "--spec", "x"], "cannot read metamodel"),
])
def test_bad_input_exit_1_one_line(metamodels, tmp_path, capsys, args, needle):
    bad = tmp_path / "bad.ecore"
    bad.write_text("<ecore:EPackage")
    args = [a.replace("{mm}", str(metamodels / "library.ecore")).replace("{bad}", str(bad)) for a in args]
    code = run("generate", "xmi", *args, "--out", str(tmp_path / "o.xmi"))
    err = capsys.readouterr().err
    assert code == 1 and needle in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o.xmi").exists()


def test_embedded_smollm2_end_to_end_through_llama_cpp(metamodels, tmp_path):
    """The real embedded model, via the installed console script, with constrained decoding."""
    out, trace = tmp_path / "city.xmi", tmp_path / "t.jsonl"
    proc = subprocess.run(
        [sys.executable, "-m", "conceptwright", "generate", "xmi", "--metamodel", str(metamodels / "library.ecore"),
         "--spec", "The City Library has two writers, Ann Leckie and Frank Herbert.", "--out", str(out),
         "--trace", str(trace), "--max-repairs", "1"],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode in (0, 2), proc.stderr
    import json

    records = [json.loads(line) for line in trace.read_text().splitlines()]
    assert records and records[0]["gen_ai.request.model"] == "smollm2" and records[0]["constrained"] is True
    assert records[0]["gen_ai.usage.output_tokens"] > 0
    # the grammar guarantees the reply is JSON of the instance schema: no parse or schema errors
    assert not {d["code"] for r in records for d in r["diagnostics"]} & {"parse-error", "schema-error", "unknown-class"}
    if proc.returncode == 0:
        assert "<library:Library" in out.read_text()


def test_the_readme_example_on_the_embedded_model_names_every_member_and_invents_none(metamodels, tmp_path):
    """SmolLM2 with its shipped calibrated variant (mentions): John, Jane, Tom and Bob, no one else."""
    import re

    out = tmp_path / "smith.xmi"
    proc = subprocess.run(
        [sys.executable, "-m", "conceptwright", "generate", "xmi", "--metamodel", str(metamodels / "Families.ecore"),
         "--spec", "The Smith family: father John, mother Jane, sons Tom and Bob.", "--out", str(out)],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert sorted(re.findall(r'firstName="([^"]*)"', text)) == ["Bob", "Jane", "John", "Tom"]
    assert 'lastName="Smith"' in text
