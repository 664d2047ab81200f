"""The local backend on every CPU: the AMX decision, the model in a worker process (a crash
is an error naming model and signal), a real multi-hundred-token decode, and the doctor."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conceptwright import cli, doctor
from conceptwright.llm import LlamaCppBackend, LLMError, Message, smollm2_path
from conceptwright.llm import cpu
from conceptwright.llm.llama_worker import describe_exit

from .test_cli import GOOD

LONG = Message(role="user", content="Describe the library. " + "It has books, writers and members who borrow books. " * 40)


# --------------------------------------------------------------------------- the decision


def test_cpu_flags_read_from_cpuinfo(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 amx_bf16 amx_tile amx_int8\n\nprocessor\t: 1\n")
    flags = cpu.cpu_flags.__wrapped__(str(info))
    assert {"avx2", "amx_int8"} <= flags
    assert cpu.amx_flags(flags) == ["amx_bf16", "amx_int8", "amx_tile"]
    assert cpu.cpu_flags.__wrapped__(str(tmp_path / "missing")) == frozenset()


def test_extra_buffers_off_where_the_cpu_has_amx(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(cpu.ENV, raising=False)
    on, why = cpu.extra_buffers(flags=frozenset({"avx2", "amx_tile", "amx_int8"}))
    assert on is False and "AMX" in why and "amx_int8" in why


def test_extra_buffers_stay_on_without_amx(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(cpu.ENV, raising=False)
    assert cpu.extra_buffers(flags=frozenset({"avx2", "avx512f", "avx512_vnni"}))[0] is True
    assert cpu.extra_buffers(flags=frozenset())[0] is True
    assert cpu.extra_buffers(flags=frozenset(), system_info="CPU : AVX2 = 1 | AMX_INT8 = 0 | REPACK = 1 |")[0] is True


def test_extra_buffers_off_where_llama_cpp_was_built_with_amx(monkeypatch: pytest.MonkeyPatch) -> None:
    """A VM can hide the CPU flag; a llama.cpp CPU backend with AMX_INT8 only loads on an AMX CPU."""
    monkeypatch.delenv(cpu.ENV, raising=False)
    on, why = cpu.extra_buffers(flags=frozenset({"avx2"}), system_info="CPU : AVX2 = 1 | AMX_INT8 = 1 |")
    assert on is False and "built with AMX_INT8" in why


def test_extra_buffers_override_by_argument_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    amx = frozenset({"amx_int8"})
    assert cpu.extra_buffers(True, flags=amx) == (True, "set by the backend argument")
    monkeypatch.setenv(cpu.ENV, "on")
    assert cpu.extra_buffers(flags=amx)[0] is True
    monkeypatch.setenv(cpu.ENV, "OFF")
    assert cpu.extra_buffers(flags=frozenset())[0] is False
    assert cpu.extra_buffers(True, flags=frozenset())[0] is True  # the argument beats the environment
    monkeypatch.setenv(cpu.ENV, "sometimes")
    with pytest.raises(LLMError, match="on, off or auto"):
        cpu.extra_buffers(flags=amx)
    monkeypatch.setenv(cpu.ENV, "off")
    assert LlamaCppBackend(smollm2_path()).extra_buffers is False
    monkeypatch.setenv(cpu.ENV, "auto")
    assert LlamaCppBackend(smollm2_path()).extra_buffers is None  # the worker decides from CPU and build
    assert LlamaCppBackend(smollm2_path(), extra_buffers=True).config.extra_buffers is True


def test_describe_exit_names_the_signal() -> None:
    assert describe_exit(-11) == "signal SIGSEGV"
    assert describe_exit(-6) == "signal SIGABRT"
    assert describe_exit(3) == "exit code 3"


# --------------------------------------------------------------------------- the real model


def test_embedded_model_decodes_a_long_prompt_in_a_subprocess() -> None:
    """The load path every backend uses, with this CPU's default decision, decodes a
    several-hundred-token prompt in one batch: on an AMX CPU with extra buffer types on this
    is the SIGSEGV of llama.cpp issue 20824, reported here as a failed test with its signal."""
    code = textwrap.dedent("""
        from conceptwright.llm import LlamaCppBackend, smollm2_path
        from conceptwright.llm.llama_worker import load_llama
        backend = LlamaCppBackend(smollm2_path(), name="smollm2", n_ctx=1024, n_threads=1)
        llama, info = load_llama(backend.config)
        tokens = llama.tokenize(("A library has books, writers and members. " * 80).encode(), add_bos=True)[:600]
        assert len(tokens) >= 400, len(tokens)
        llama.eval(tokens)  # one batched decode: n_ubatch 512 tokens at a time
        print("decoded", len(tokens), "extra_buffers", info["extra_buffers"])
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"decode died with {describe_exit(proc.returncode)}: {proc.stderr[-800:]}"
    assert proc.stdout.startswith("decoded 600")


@pytest.fixture(scope="module")
def backend() -> LlamaCppBackend:
    return LlamaCppBackend(smollm2_path(), name="smollm2", n_ctx=1024, n_threads=1)


def test_worker_decodes_several_hundred_tokens_and_reports_what_llama_cpp_sees(backend: LlamaCppBackend) -> None:
    info = backend.load()
    assert "CPU" in info["system_info"]
    assert info["extra_buffers"] is cpu.extra_buffers(backend.extra_buffers, system_info=info["system_info"])[0]
    out = backend.complete([LONG], max_tokens=4)
    assert out.usage.input_tokens > 400 and 0 < out.usage.output_tokens <= 4
    assert backend.worker.pid != os.getpid() and backend.worker.alive


def test_a_crash_of_the_model_process_is_an_llmerror_naming_model_and_signal(backend: LlamaCppBackend) -> None:
    backend.load()
    os.kill(backend.worker.pid, signal.SIGSEGV)
    with pytest.raises(LLMError, match=r"smollm2: the model process died with signal SIGSEGV .*SmolLM2"):
        backend.complete([LONG], max_tokens=2)
    assert backend.complete([LONG], max_tokens=2).usage.output_tokens > 0  # a new process next time


def test_a_model_that_does_not_answer_in_time_is_stopped(backend: LlamaCppBackend) -> None:
    slow = LlamaCppBackend(smollm2_path(), name="smollm2", n_ctx=1024, n_threads=1, timeout_s=0.05)
    slow.load()
    with pytest.raises(LLMError, match="no answer within"):
        slow.complete([LONG], max_tokens=64)
    assert not slow.worker.alive


def test_a_broken_gguf_is_a_load_error(tmp_path: Path) -> None:
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + os.urandom(4096))
    with pytest.raises(LLMError, match="broken.gguf"):
        LlamaCppBackend(bad, n_ctx=256, n_threads=1).complete([LONG], max_tokens=2)


def test_cli_reports_a_model_crash_as_one_line_exit_1(backend, monkeypatch, metamodels, tmp_path, capsys) -> None:
    from conceptwright import api

    backend.load()
    monkeypatch.setattr(api, "resolve", lambda model=None: backend)
    os.kill(backend.worker.pid, signal.SIGSEGV)
    code = cli.main(["generate", "xmi", "--metamodel", str(metamodels / "library.ecore"), "--spec", "a library",
                     "--out", str(tmp_path / "o.xmi")])
    err = capsys.readouterr().err
    assert code == 1 and "SIGSEGV" in err and "smollm2" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


# --------------------------------------------------------------------------- diagrams


def test_renderer_found_beside_the_interpreter_without_path(monkeypatch: pytest.MonkeyPatch) -> None:
    from conceptwright.tools import render as to_dot

    monkeypatch.setenv("PATH", "")
    cmd = to_dot.renderer()
    assert cmd is not None and Path(cmd[0]).parent == Path(sys.executable).parent
    assert b"<svg" in to_dot.render("digraph g { a -> b }", "svg")


def test_no_renderer_skips_the_diagram_with_a_warning(script, monkeypatch, metamodels, tmp_path, capsys) -> None:
    from conceptwright.tools import render as to_dot

    monkeypatch.setattr(to_dot, "renderer", lambda: None)
    script([GOOD])
    out, svg = tmp_path / "city.xmi", tmp_path / "city.svg"
    code = cli.main(["generate", "xmi", "--metamodel", str(metamodels / "library.ecore"), "--spec", "a library",
                     "--out", str(out), "--diagram", str(svg)])
    captured = capsys.readouterr()
    assert code == 0 and 'name="City"' in out.read_text() and not svg.exists()
    warning = [ln for ln in captured.err.splitlines() if ln.strip()]
    assert len(warning) == 1 and "warning: diagram" in warning[0] and "no Graphviz renderer" in warning[0]
    assert "Traceback" not in captured.err


# --------------------------------------------------------------------------- doctor


def test_doctor_passes_here() -> None:
    proc = subprocess.run([sys.executable, "-m", "conceptwright", "doctor"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    names = [ln.split()[1] for ln in lines if ln.startswith(("ok", "FAIL"))]
    assert names == ["versions", "cpu", "model", "graphviz", "sandbox", "cad"]
    assert "llama-cpp-python" in lines[0] and "decodes a 200-token prompt" in proc.stdout and "tok/s" in proc.stdout
    assert lines[-1] == "conceptwright doctor: all 6 checks passed"


def test_doctor_names_the_failing_check_and_exits_1(monkeypatch, capsys) -> None:
    monkeypatch.setattr(doctor, "PACKAGES", ("conceptwright", "no-such-package-zz"))
    monkeypatch.setattr(doctor, "_model", lambda n: ("cpu fine", "model fine"))
    monkeypatch.setattr(doctor, "_cad_worker", lambda: (_ for _ in ()).throw(RuntimeError("the CAD worker did not start")))
    assert cli.main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  versions" in out and "no-such-package-zz MISSING" in out
    assert "FAIL  cad" in out and "ok    model" in out and "2 of 6 checks failed" in out


def test_the_model_process_dies_with_its_parent(tmp_path):
    """kill -9 of the program holding a model leaves no model process decoding on."""
    import os
    import signal
    import subprocess
    import sys
    import time

    code = ("from conceptwright.llm.llamacpp import LlamaCppBackend, smollm2_path\n"
            "from conceptwright.llm.base import Message\n"
            "b = LlamaCppBackend(smollm2_path(), name='smollm2', n_ctx=512, n_threads=1)\n"
            "b.complete([Message(role='user', content='hi')], max_tokens=2)\n"
            "print(b.worker.pid, flush=True)\n"
            "import time; time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    child = int(proc.stdout.readline())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    for _ in range(100):
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        os.kill(child, signal.SIGKILL)
        raise AssertionError("the model process outlived its parent")


SCHEMA = {"type": "object", "properties": {"family": {"type": "string", "maxLength": 20},
                                           "members": {"type": "array", "maxItems": 3, "items": {"type": "string", "maxLength": 12}}},
          "required": ["family", "members"], "additionalProperties": False}


@pytest.mark.parametrize("engine", ["gbnf", "llguidance"])
def test_both_grammar_engines_hold_the_embedded_model_to_the_schema(backend: LlamaCppBackend, engine: str) -> None:
    import jsonschema

    backend.grammar_engine = engine
    msgs = [Message(role="user", content="The Smith family: John, Jane, Tom. Answer in JSON.")]
    c = backend.complete(msgs, schema=SCHEMA, max_tokens=120)
    jsonschema.validate(json.loads(c.text), SCHEMA)
    assert c.constrained


def test_the_prefix_cache_gives_the_same_reply_as_a_fresh_decode(backend: LlamaCppBackend) -> None:
    """A repair repeats the first prompt: with the cache only the new tail is decoded, and greedy
    output does not change."""
    first = [Message(role="user", content="Name three colours as a JSON list.")]
    repair = first + [Message(role="assistant", content='["red"]'), Message(role="user", content="Three, please.")]
    backend.prefix_cache = False
    fresh = backend.complete(repair, max_tokens=24).text
    backend.complete(first, max_tokens=4)
    backend.prefix_cache = True
    assert backend.complete(repair, max_tokens=24).text == fresh


def test_samples_of_one_prompt_reuse_its_kv_state_with_their_own_seeds(backend: LlamaCppBackend) -> None:
    """Test-time search draws N answers of the same prompt: with the prefix cache the second and later
    samples find the whole prompt in the KV state (the worker counts it); each has its own seed."""
    prompt = [Message(role="user", content="Name a colour. " * 20)]
    backend.prefix_cache = True
    backend.complete([Message(role="user", content="Something else entirely.")], max_tokens=2)
    first = backend.complete(prompt, max_tokens=8, temperature=0.0)
    assert backend.last_reused_tokens < first.usage.input_tokens  # a new prompt: decoded
    later = [backend.complete(prompt, max_tokens=8, temperature=0.9, seed=1000 + i) for i in range(2)]
    assert all(c.usage.input_tokens == first.usage.input_tokens for c in later)
    assert backend.last_reused_tokens == first.usage.input_tokens  # the whole prompt came from the KV state
