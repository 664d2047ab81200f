"""Run untrusted Python (anything an LLM wrote) in a sandboxed subprocess.

Limits: wall-clock timeout that kills the whole process group; CPU seconds and address
space (memory) via setrlimit; a fresh temporary working directory; a scrubbed
environment. Inside the child, an audit hook (which the code cannot remove) refuses
network access, new processes (fork, exec, subprocess, os.system) and writing files
outside the working directory. Results come back as JSON on a side channel file.
"""
from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

_GUARD = r'''
import os, sys
_WORK = os.path.realpath(os.getcwd())
_TMP = os.path.realpath(os.environ.get("TMPDIR", _WORK))
_BLOCKED = {"socket.connect", "socket.bind", "socket.getaddrinfo", "socket.gethostbyname", "os.fork", "os.forkpty",
            "os.system", "os.exec", "os.posix_spawn", "os.spawn", "subprocess.Popen", "os.kill", "os.killpg",
            "urllib.Request", "ctypes.dlopen_untrusted"}
def _inside(path):
    try:
        p = os.path.realpath(os.fsdecode(path) if not isinstance(path, int) else "")
    except Exception:
        return False
    return p == _WORK or p.startswith(_WORK + os.sep) or p.startswith(_TMP + os.sep) or p.startswith("/dev/null")
def _hook(event, args):
    if event in _BLOCKED:
        raise PermissionError(f"sandbox: {event} is not allowed")
    if event == "open" and len(args) >= 2 and isinstance(args[1], str) and any(c in args[1] for c in "wax+"):
        if not isinstance(args[0], int) and not _inside(args[0]):
            raise PermissionError(f"sandbox: writing {args[0]!r} outside the working directory is not allowed")
    if event in ("os.remove", "os.rename", "os.rmdir", "os.mkdir", "shutil.rmtree", "os.chmod", "os.truncate") and args:
        if not isinstance(args[0], int) and not _inside(args[0]):
            raise PermissionError(f"sandbox: {event} outside the working directory is not allowed")
sys.addaudithook(_hook)
'''


class SandboxResult(BaseModel):
    ok: bool  # exit code 0 and not killed
    returncode: int | None
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0
    timed_out: bool = False
    killed_reason: str | None = None  # "timeout", "memory", "cpu", "signal N"
    files: dict[str, bytes] = Field(default_factory=dict)  # files the script left in its working directory

    def error_summary(self, limit: int = 1500) -> str:
        """The last part of stderr (the traceback) or the reason it was stopped."""
        if self.killed_reason:
            return f"the script was stopped: {self.killed_reason}"
        tail = self.stderr.strip()[-limit:]
        return tail or f"exit code {self.returncode}"


def _limits(cpu_s: int, memory_mb: int) -> Any:
    def apply() -> None:
        os.setsid()  # own process group, so a timeout kills everything it started
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
        mem = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024 * 1024, 256 * 1024 * 1024))

    return apply


def scrubbed_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Only what Python needs: no API keys, proxies or user variables."""
    keep = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0", "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1"}
    for k in ("VIRTUAL_ENV", "PYTHONPATH"):
        if k in os.environ:
            keep[k] = os.environ[k]
    keep.update(extra or {})
    return keep


def run_python(
    code: str,
    *,
    timeout_s: float = 60.0,
    cpu_s: int = 120,
    memory_mb: int = 2048,
    files: dict[str, str | bytes] | None = None,
    collect: tuple[str, ...] = ("*",),
    args: list[str] | None = None,
    python: str | None = None,
    guard: bool = True,
) -> SandboxResult:
    """Run ``code`` as ``script.py`` in a fresh temp dir with the limits above.

    ``files`` are written beside it first; files matching ``collect`` globs are read back.
    """
    with tempfile.TemporaryDirectory(prefix="cw-sandbox-") as tmp:
        work = Path(tmp)
        for name, content in (files or {}).items():
            target = work / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content if isinstance(content, bytes) else content.encode())
        (work / "script.py").write_text(code, encoding="utf-8")
        launcher = (_GUARD if guard else "") + (
            "import runpy, sys\nsys.argv = ['script.py'] + sys.argv[1:]\nrunpy.run_path('script.py', run_name='__main__')\n"
        )
        (work / "_cw_launch.py").write_text(launcher, encoding="utf-8")
        env = scrubbed_env({"TMPDIR": str(work), "HOME": str(work)})
        cmd = [python or sys.executable, "-I" if not env.get("PYTHONPATH") else "-s", "_cw_launch.py", *(args or [])]
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, preexec_fn=_limits(cpu_s, memory_mb))
        timed_out = False
        try:
            out, err = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            out, err = proc.communicate()
        seconds = time.perf_counter() - start
        rc = proc.returncode
        stderr = err.decode("utf-8", "replace")
        reason = None
        if timed_out:
            reason = f"timeout after {timeout_s:g} s (wall clock)"
        elif rc is not None and rc < 0:
            sig = -rc
            reason = "CPU time limit" if sig == signal.SIGXCPU else f"signal {signal.Signals(sig).name}"
        elif "MemoryError" in stderr[-2000:]:
            reason = f"memory limit ({memory_mb} MB)"
        collected: dict[str, bytes] = {}
        for pattern in collect:
            for path in work.glob(pattern):
                if path.is_file() and path.name not in ("script.py", "_cw_launch.py") and path.name not in (files or {}):
                    collected[path.name] = path.read_bytes()
        return SandboxResult(ok=rc == 0 and not timed_out, returncode=rc, stdout=out.decode("utf-8", "replace"),
                             stderr=stderr, seconds=round(seconds, 3), timed_out=timed_out, killed_reason=reason,
                             files=collected)


def run_json(code: str, **kw: Any) -> tuple[SandboxResult, Any]:
    """Run code that prints one JSON document as its last stdout line; return it parsed (or None)."""
    res = run_python(code, **kw)
    data = None
    for line in reversed(res.stdout.strip().splitlines()):
        try:
            data = json.loads(line)
            break
        except ValueError:
            continue
    return res, data
