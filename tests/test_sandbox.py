"""The sandbox stops or refuses what untrusted code must not do, and the next job still runs."""
from __future__ import annotations

import pytest

from conceptwright.tools.sandbox import run_json, run_python


def test_normal_script_runs_and_returns_its_files():
    res = run_python("open('out.txt', 'w').write('ok')\nprint('done')", timeout_s=20)
    assert res.ok and res.stdout.strip() == "done" and res.files == {"out.txt": b"ok"}


@pytest.mark.parametrize("code, needle", [
    ("while True:\n    pass", "timeout"),
    ("x = bytearray(8 * 1024**3)", "memory limit"),
    ("import os\nwhile True:\n    os.fork()", "os.fork is not allowed"),
    ("import subprocess\nsubprocess.run(['true'])", "subprocess.Popen is not allowed"),
    ("open('/tmp/cw-escape.txt', 'w').write('x')", "outside the working directory"),
    ("import socket\nsocket.create_connection(('127.0.0.1', 9))", "not allowed"),
    ("import ctypes\nctypes.CDLL('libc.so.6').system(b'true')", "ctypes.dlopen is not allowed"),
    ("import os\nos.open('/tmp/cw-escape3.txt', os.O_WRONLY | os.O_CREAT)", "outside the working directory"),
    ("import subprocess\nsubprocess._fork_exec()", "fork_exec is not allowed"),
])
def test_hostile_scripts_are_stopped_and_reported(code, needle):
    res = run_python(code, timeout_s=2, memory_mb=512)
    assert not res.ok and needle in (res.killed_reason or "") + res.stderr
    follow = run_python("print(6 * 7)", timeout_s=20)  # the next job still runs
    assert follow.ok and follow.stdout.strip() == "42"


def test_environment_is_scrubbed(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "secret")
    res, data = run_json("import os, json\nprint(json.dumps(sorted(os.environ)))", timeout_s=20)
    assert res.ok and "OPENAI_API_KEY" not in data and "PATH" in data


def test_disk_limit_counts_every_file():
    res = run_python("import itertools\nfor i in itertools.count():\n    open(f'f{i}', 'wb').write(b'x' * 2**20)",
                     timeout_s=20, disk_mb=8)
    assert not res.ok and "disk limit" in (res.killed_reason or "")


def test_sandbox_kind_is_reported():
    from conceptwright.tools.sandbox import KINDS, available_kinds, sandbox_kind, sandbox_summary

    assert sandbox_kind() in KINDS and "audit-hook" in available_kinds() and sandbox_kind() in sandbox_summary()
    res = run_python("print('hi')", timeout_s=20)
    assert res.ok and res.sandbox == sandbox_kind()
