"""Escape suite: what LLM-written code tries, through the real paths (a direct-mode CAD reply
in the warm worker; a generated simulation script the way the sim validator runs it), at
every sandbox level this machine has. Each attempt is stopped or refused and reported as a
diagnostic, and the next job runs normally. The audit-hook level cannot stop reading files:
the table below says exactly which level stops which vector.

``CONCEPTWRIGHT_REQUIRE_SANDBOX=bubblewrap`` (CI) turns a missing bubblewrap into a failure.
"""
from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import pytest

from conceptwright.compilers.sim import compile_model, parse_model
from conceptwright.prompts.profiles import profile_for
from conceptwright.targets.cad import DirectJob
from conceptwright.tools import sandbox
from conceptwright.tools.cad.runner import CadRunner
from conceptwright.tools.sim import validate as sim_validate

SECRET = "cw-secret-7f3a9c-do-not-leak"
ALL = {"bubblewrap", "landlock", "audit-hook"}
OS = {"bubblewrap", "landlock"}  # the levels with a kernel-enforced boundary

# vector: (code, the levels that stop it). {secret}, {outside} and {port} are filled in per test.
VECTORS: dict[str, tuple[str, set[str]]] = {
    "read /etc/passwd": ("print(open('/etc/passwd').read())\nraise ValueError(open('/etc/passwd').read())\n", OS),
    "read a secret outside scratch": ("s = open({secret!r}).read()\nprint(s)\nraise ValueError(s)\n", OS),
    "write outside scratch": ("open({outside!r} + '/w.txt', 'w').write('x')\n", ALL),
    "os.open with write flags outside": (
        "import os\nos.close(os.open({outside!r} + '/o.txt', os.O_WRONLY | os.O_CREAT))\n", ALL),
    "socket connect to 127.0.0.1": (
        "import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2).sendall(b'escaped')\n", ALL),
    "os.system": ("import os\nos.system('echo x > ' + {outside!r} + '/m_system')\n", ALL),
    "subprocess": ("import subprocess\nsubprocess.run(['sh', '-c', 'echo x > ' + {outside!r} + '/m_sub'])\n", ALL),
    "os.fork": ("import os\nif os.fork() == 0:\n    open({outside!r} + '/m_fork', 'w').write('x')\n    os._exit(0)\n", ALL),
    "_posixsubprocess.fork_exec": (
        "import os, _posixsubprocess\nr, w = os.pipe()\n"
        "_posixsubprocess.fork_exec([b'/bin/sh', b'-c', b'echo x > ' + {outside!r}.encode() + b'/m_fe'], [b'/bin/sh'], "
        "True, (w,), None, None, -1, -1, -1, -1, -1, -1, r, w, True, False, -1, None, None, None, -1, None, False)\n", ALL),
    "ctypes libc system": (
        "import ctypes\nctypes.CDLL('libc.so.6').system(('echo x > ' + {outside!r} + '/m_ctypes').encode())\n", ALL),
    "exhaust memory": ("blob = bytearray(64 * 1024 ** 3)\n", ALL),
    "infinite loop": ("while True:\n    pass\n", ALL),
    "fill the disk": ("import itertools\nfor i in itertools.count():\n"
                      "    open(f'fill{{i}}.bin', 'wb').write(b'x' * (16 << 20))\n", ALL),
    "fork bomb": ("import os\nwhile True:\n    os.fork()\n", ALL),
}
MARKERS = ("w.txt", "o.txt", "m_system", "m_sub", "m_fork", "m_fe", "m_ctypes")


def test_the_required_level_is_available_here():
    required = os.environ.get("CONCEPTWRIGHT_REQUIRE_SANDBOX")
    assert required is None or required in sandbox.available_kinds(), sandbox._missing()


@pytest.mark.parametrize("kind", ["bubblewrap", "landlock"])
def test_forcing_a_missing_level_is_refused_never_silently_weaker(kind, monkeypatch):
    monkeypatch.setattr(sandbox, "available_kinds", lambda: [k for k in sandbox.KINDS if k != kind])
    monkeypatch.setenv("CONCEPTWRIGHT_SANDBOX", kind)
    with pytest.raises(sandbox.SandboxUnavailable, match="not available here"):
        sandbox.sandbox_kind()


@pytest.fixture(scope="module", params=[k for k in sorted(ALL, key=sandbox.KINDS.index) if k in sandbox.available_kinds()])
def level(request):
    kind = request.param  # the levels this machine has (the required one is checked above)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CONCEPTWRIGHT_SANDBOX", kind)
        mp.delenv("CONCEPTWRIGHT_REQUIRE_SANDBOX", raising=False)
        assert sandbox.sandbox_kind() == kind
        yield kind


@pytest.fixture(scope="module")
def runner(level):
    r = CadRunner()
    yield r
    r.close()


class Listener:
    """A TCP listener on 127.0.0.1 that records whether anything connected."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connected = False
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connected = True
            conn.close()

    def close(self) -> None:
        self._stop = True
        self._thread.join()
        self.sock.close()


@pytest.fixture
def scene(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    listener = Listener()
    yield {"secret": str(secret), "outside": str(outside), "port": listener.port, "listener": listener}
    listener.close()


def _escaped(name: str, scene: dict, text: str) -> bool:
    """Did the vector get what it wanted (seen from outside the sandbox)?"""
    if name == "read /etc/passwd":
        return "root:x:0:0" in text or ":/usr/sbin/nologin" in text
    if name == "read a secret outside scratch":
        return SECRET in text
    if name == "socket connect to 127.0.0.1":
        return scene["listener"].connected
    return any((Path(scene["outside"]) / m).exists() for m in MARKERS)


def _code(name: str, scene: dict) -> str:
    return VECTORS[name][0].format(**{k: scene[k] for k in ("secret", "outside", "port")})


@pytest.mark.parametrize("name", list(VECTORS))
def test_cad_direct_reply(runner, level, scene, name):
    job = DirectJob("a cube", profile_for("qwen"), runner=runner, pictures=False, timeout_s=3)
    out = job.evaluate(f"```python\nimport cadquery as cq\n{_code(name, scene)}result = cq.Workplane().box(1, 1, 1)\n```")
    text = "\n".join(d.message for d in out.diagnostics) + repr(out.artefacts)
    stopped = level in VECTORS[name][1]
    assert _escaped(name, scene, text) is not stopped, (level, name, text[-800:])
    assert not out.ok and out.diagnostics  # reported, whether stopped by the sandbox or failing after a read
    if stopped:
        assert SECRET not in text
    after = job.evaluate("```python\nimport cadquery as cq\nresult = cq.Workplane().box(1, 2, 3)\n```")
    assert after.ok, after.diagnostics


TANK = {
    "kind": "continuous", "name": "tank", "time_unit": "minute",
    "parameters": [{"id": "q", "value": 2, "unit": "L/minute"}],
    "stocks": [{"id": "level", "initial": 10, "unit": "L", "non_negative": True}],
    "flows": [{"id": "fill", "to": "level", "rate": "q", "unit": "L/minute"}],
    "time": {"start": 0, "stop": 5, "dt": 0.5, "method": "Euler"},
}


@pytest.fixture(scope="module")
def tank():
    model, diags, _ = parse_model(TANK)
    assert model is not None, diags
    return model, compile_model(model)["script"]


@pytest.mark.parametrize("name", list(VECTORS))
def test_sim_script(level, tank, scene, name):
    model, script = tank
    head, sep, body = script.partition("from __future__ import annotations\n")
    hostile = head + sep + _code(name, scene) + body  # the attack runs before the generated simulation
    report = sim_validate.validate(model, hostile, timeout_s=3)
    text = "\n".join(d.message for d in report.diagnostics) + (report.results_text or "")
    stopped = level in VECTORS[name][1]
    assert _escaped(name, scene, text) is not stopped, (level, name, text[-800:])
    assert report.diagnostics and report.results is None
    if stopped:
        assert SECRET not in text
    after = sim_validate._run(script, ["--results", "R.json", "--no-plot"], 20)  # the next job runs normally
    assert after.ok and b"level" in after.files["R.json"], after.error_summary()


@pytest.mark.parametrize("name", ["read /etc/passwd", "read a secret outside scratch", "write outside scratch",
                                  "socket connect to 127.0.0.1", "subprocess"])
def test_os_boundary_without_the_audit_hook(level, scene, name):
    """The kernel-enforced levels hold on their own: the same vectors with the inner audit hook off."""
    res = sandbox.run_python(_code(name, scene), timeout_s=10, guard=False)
    text = res.stdout + res.stderr
    if level not in OS:  # the audit-hook level without its hook has no walls: the vector gets through
        assert _escaped(name, scene, text), (level, name, text[-800:])
        return
    assert not _escaped(name, scene, text) and SECRET not in text, (level, name, text[-800:])
    if name == "subprocess":  # a process may start, but inside the same walls
        project = Path(__file__).resolve().parents[1]
        res = sandbox.run_python(f"import subprocess\nsubprocess.run(['cat', {scene['secret']!r}])\n"
                                 f"subprocess.run(['sh', '-c', 'ls -a {project}; echo x > {scene['outside']}/m_sub'])",
                                 timeout_s=10, guard=False)
        assert SECRET not in res.stdout + res.stderr and not _escaped(name, scene, "")
        assert "tests" not in res.stdout.split() and ".git" not in res.stdout.split()  # the project is not there


def test_sandbox_kind_and_forcing(monkeypatch):
    assert sandbox.sandbox_kind() in sandbox.KINDS
    monkeypatch.setenv("CONCEPTWRIGHT_SANDBOX", "audit-hook")
    assert sandbox.sandbox_kind() == "audit-hook"
    monkeypatch.setenv("CONCEPTWRIGHT_SANDBOX", "chroot")
    with pytest.raises(sandbox.SandboxUnavailable):
        sandbox.sandbox_kind()
    monkeypatch.setenv("CONCEPTWRIGHT_SANDBOX", "audit-hook")
    monkeypatch.setenv("CONCEPTWRIGHT_REQUIRE_SANDBOX", "bubblewrap")
    with pytest.raises(sandbox.SandboxUnavailable):
        sandbox.sandbox_kind()
