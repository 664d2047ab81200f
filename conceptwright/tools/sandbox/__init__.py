"""Run untrusted Python (anything an LLM wrote) in a sandboxed subprocess.

The boundary is the strongest the machine offers, detected at run time (``sandbox_kind()``):

- ``bubblewrap``: the child runs in ``bwrap`` with no network, its own pid/ipc/uts
  namespaces, no capabilities, dying with its parent; it sees read-only only what Python
  needs (the interpreter, the virtual environment, this package, /usr, ld.so.cache), a
  size-limited /tmp, a minimal /dev and its own /proc; its scratch folder is the one thing
  it can write. /root, /home, the project and user files are not there.
- ``landlock``: the kernel's Landlock applied in the child before the untrusted code: read
  only beneath the same paths, write only in scratch, TCP bind/connect refused (ABI >= 4).
  Landlock is layered inside bubblewrap too when the kernel has it.
- ``audit-hook``: only the inner layer below (one warning says so: install bubblewrap).

Always, as the inner layer: an audit hook (which the code cannot remove, though a
determined script can get around it: it is not a boundary) refuses network access, new
processes, ctypes and writes outside the working directory; rlimits on CPU seconds, address
space and file size; a wall-clock timeout that kills the process group (and with it the pid
namespace); a scrubbed environment. ``CONCEPTWRIGHT_SANDBOX`` forces a level;
``CONCEPTWRIGHT_REQUIRE_SANDBOX`` makes a weaker one an error.
"""
from __future__ import annotations

import functools
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from . import landlock

KINDS = ("bubblewrap", "landlock", "audit-hook")
TMPFS_BYTES = 64 * 1024 * 1024  # the sandbox's /tmp under bubblewrap
FSIZE_BYTES = 256 * 1024 * 1024  # one file
DISK_MB = 512  # all files in the working directory together (watched from outside)

_GUARD = r'''
import os, sys, ctypes, _posixsubprocess  # imported before the hook: numpy and friends import ctypes
_WORK = os.path.realpath(os.getcwd())
_TMP = os.path.realpath(os.environ.get("TMPDIR", _WORK))
_BLOCKED = {"socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg", "socket.getaddrinfo",
            "socket.gethostbyname", "socket.gethostbyaddr", "os.fork", "os.forkpty", "os.system", "os.exec",
            "os.posix_spawn", "os.spawn", "subprocess.Popen", "os.kill", "os.killpg", "signal.pthread_kill",
            "urllib.Request", "ctypes.dlopen", "ctypes.dlsym", "ctypes.dlsym/handle"}
_WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
def _inside(path):
    try:
        p = os.path.realpath(os.fsdecode(path) if not isinstance(path, int) else "")
    except Exception:
        return False
    return p == _WORK or p.startswith(_WORK + os.sep) or p.startswith(_TMP + os.sep) or p == "/dev/null"
def _hook(event, args):
    if event in _BLOCKED:
        raise PermissionError(f"sandbox: {event} is not allowed")
    if event == "open" and len(args) >= 3 and not isinstance(args[0], int):
        writes = (isinstance(args[1], str) and any(c in args[1] for c in "wax+")) or (
            isinstance(args[2], int) and args[2] & _WRITE)
        if writes and not _inside(args[0]):
            raise PermissionError(f"sandbox: writing {args[0]!r} outside the working directory is not allowed")
    if event in ("os.remove", "os.rename", "os.rmdir", "os.mkdir", "shutil.rmtree", "os.chmod", "os.truncate",
                 "os.symlink", "os.link", "os.chown", "os.utime") and args:
        if not isinstance(args[0], int) and not _inside(args[0]):
            raise PermissionError(f"sandbox: {event} outside the working directory is not allowed")
def _no_fork_exec(*a, **k):
    raise PermissionError("sandbox: _posixsubprocess.fork_exec is not allowed")
_posixsubprocess.fork_exec = _no_fork_exec  # it raises no audit event of its own
if "subprocess" in sys.modules:
    sys.modules["subprocess"]._fork_exec = _no_fork_exec
sys.addaudithook(_hook)
del _hook, _no_fork_exec
'''


class SandboxUnavailable(RuntimeError):
    """The level that was forced or required is not available here."""


def read_paths() -> list[str]:
    """What Python, the site-packages and this package need to read (nothing else)."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
             str(Path(__file__).resolve().parents[2])}  # the conceptwright package (editable installs)
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        paths.add(sysconfig.get_paths()[key])
    paths.update(p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p)
    paths.update(p for p in sys.path if p.endswith("site-packages"))
    real = sorted({os.path.realpath(p) for p in paths if os.path.exists(p)} - {"/"})
    return [p for p in real if not any(p.startswith(q + os.sep) for q in real)]  # outermost only


_SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_ETC = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/fonts", "/etc/localtime",
        "/etc/alternatives", "/etc/glvnd", "/etc/mime.types")


def _landlock_paths(write: list[str]) -> tuple[list[str], list[str]]:
    read = [*_SYSTEM_DIRS, *_ETC, "/sys/devices/system/cpu", "/dev/urandom", "/dev/random", "/dev/zero",
            "/proc/self", *read_paths()]
    return read, [*write, "/dev/null"]


@functools.lru_cache(maxsize=1)
def _bwrap() -> str | None:
    """The bwrap binary when it can actually create a sandbox here (containers may forbid namespaces)."""
    exe = shutil.which("bwrap")
    if exe is None:
        return None
    try:
        probe = subprocess.run([*bwrap_command([], os.getcwd(), exe=exe), "true"], capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return exe if probe.returncode == 0 else None


@functools.lru_cache(maxsize=1)
def landlock_abi() -> int:
    return landlock.abi()


def available_kinds() -> list[str]:
    return [k for k, ok in (("bubblewrap", _bwrap() is not None), ("landlock", landlock_abi() >= 1),
                            ("audit-hook", True)) if ok]


_WARNED = False


def sandbox_kind() -> str:
    """The boundary untrusted code runs behind: "bubblewrap", "landlock" or "audit-hook"."""
    global _WARNED
    have = available_kinds()
    forced = os.environ.get("CONCEPTWRIGHT_SANDBOX", "").strip()
    if forced:
        if forced not in KINDS:
            raise SandboxUnavailable(f"CONCEPTWRIGHT_SANDBOX={forced!r}: use one of {', '.join(KINDS)}")
        if forced not in have:
            raise SandboxUnavailable(f"CONCEPTWRIGHT_SANDBOX={forced} is not available here ({_missing()})")
        kind = forced
    else:
        kind = have[0]
    required = os.environ.get("CONCEPTWRIGHT_REQUIRE_SANDBOX", "").strip()
    if required in KINDS and KINDS.index(kind) > KINDS.index(required):
        raise SandboxUnavailable(f"CONCEPTWRIGHT_REQUIRE_SANDBOX={required} but the sandbox is {kind} ({_missing()})")
    if kind == "audit-hook" and not forced and not _WARNED:
        _WARNED = True
        warnings.warn(f"untrusted code runs behind an audit hook only, which is no security boundary: {_missing()}",
                      RuntimeWarning, stacklevel=2)
    return kind


def _missing() -> str:
    parts = []
    if _bwrap() is None:
        parts.append("bubblewrap is missing or cannot create namespaces (apt-get install bubblewrap)")
    if landlock_abi() < 1:
        parts.append("the kernel has no Landlock")
    return "; ".join(parts) or "bubblewrap and Landlock are both available"


def sandbox_summary() -> str:
    """One line for ``conceptwright doctor``."""
    kind = sandbox_kind()
    detail = {"bubblewrap": f"{_bwrap()}" + (f", Landlock ABI {landlock_abi()} layered inside" if landlock_abi() else ""),
              "landlock": f"Landlock ABI {landlock_abi()}, no bubblewrap (apt-get install bubblewrap)",
              "audit-hook": f"no OS boundary: {_missing()}"}[kind]
    return f"{kind}: untrusted code runs behind it ({detail})"


def bwrap_command(writable: list[str], cwd: str, *, exe: str | None = None) -> list[str]:
    """bwrap's command line up to the program: read-only system and Python, ``writable`` bound read-write."""
    cmd = [exe or _bwrap() or "bwrap", "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
           "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--cap-drop", "ALL"]
    for path in _SYSTEM_DIRS:
        if os.path.islink(path):
            cmd += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            cmd += ["--ro-bind", path, path]
    for path in _ETC:
        cmd += ["--ro-bind-try", path, path]
    for path in read_paths():
        if not path.startswith(("/usr/", "/tmp/")):
            cmd += ["--ro-bind", path, path]
    cmd += ["--dev", "/dev", "--proc", "/proc", "--size", str(TMPFS_BYTES), "--tmpfs", "/tmp"]
    for path in writable:
        cmd += ["--bind", path, path]
    return cmd + ["--chdir", cwd, "--"]


def confine(kind: str, writable: list[str]) -> list[str]:
    """The command prefix for ``kind`` (empty unless bubblewrap) -- Landlock is applied in the child."""
    return bwrap_command(writable, writable[0]) if kind == "bubblewrap" else []


def wants_landlock(kind: str) -> bool:
    return kind == "landlock" or (kind == "bubblewrap" and landlock_abi() >= 1)


def landlock_prelude(writable: list[str]) -> str:
    """Python source that applies Landlock in the child (or exits: the sandbox fails closed)."""
    read, write = _landlock_paths(writable)
    return (Path(landlock.__file__).read_text(encoding="utf-8") + "\ntry:\n"
            f"    restrict({read!r}, {write!r})\nexcept OSError as _e:\n"
            "    sys.stderr.write(f'sandbox: Landlock could not be applied: {_e}\\n'); os._exit(70)\n")


def apply_landlock(writable: list[str]) -> int:
    """Apply Landlock to the calling process (the CAD worker's job children)."""
    read, write = _landlock_paths(writable)
    return landlock.restrict(read, write)


class SandboxResult(BaseModel):
    ok: bool  # exit code 0 and not killed
    returncode: int | None
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0
    timed_out: bool = False
    killed_reason: str | None = None  # "timeout", "memory", "cpu", "signal N"
    files: dict[str, bytes] = Field(default_factory=dict)  # files the script left in its working directory
    sandbox: str = ""  # the level it ran behind

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
        resource.setrlimit(resource.RLIMIT_FSIZE, (FSIZE_BYTES, FSIZE_BYTES))

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


def disk_usage(path: Path | str) -> int:
    """Bytes in the files beneath ``path`` (what a script has written)."""
    total = 0
    for root, _dirs, names in os.walk(path):
        for name in names:
            try:
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
            except OSError:
                pass
    return total


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
    kind: str | None = None,
    disk_mb: int = DISK_MB,
) -> SandboxResult:
    """Run ``code`` as ``script.py`` in a fresh temp dir with the limits above, behind ``kind``
    (default ``sandbox_kind()``). ``files`` are written beside it first; files matching
    ``collect`` globs are read back."""
    kind = kind or sandbox_kind()
    with tempfile.TemporaryDirectory(prefix="cw-sandbox-") as tmp:
        work = Path(tmp).resolve()
        for name, content in (files or {}).items():
            target = work / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content if isinstance(content, bytes) else content.encode())
        (work / "script.py").write_text(code, encoding="utf-8")
        launcher = (landlock_prelude([str(work)]) if wants_landlock(kind) else "") + (_GUARD if guard else "") + (
            "import runpy, sys\nsys.argv = ['script.py'] + sys.argv[1:]\nrunpy.run_path('script.py', run_name='__main__')\n"
        )
        (work / "_cw_launch.py").write_text("import os, sys\n" + launcher, encoding="utf-8")
        env = scrubbed_env({"TMPDIR": str(work), "HOME": str(work)})
        cmd = [*confine(kind, [str(work)]), python or sys.executable, "-I" if not env.get("PYTHONPATH") else "-s",
               "_cw_launch.py", *(args or [])]
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, preexec_fn=_limits(cpu_s, memory_mb))
        timed_out, reason = False, None
        while True:
            try:
                out, err = proc.communicate(timeout=max(min(0.25, start + timeout_s - time.perf_counter()), 0.01))
                break
            except subprocess.TimeoutExpired:
                if time.perf_counter() - start >= timeout_s:
                    timed_out, reason = True, f"timeout after {timeout_s:g} s (wall clock)"
                elif disk_usage(work) > disk_mb * 1024 * 1024:
                    reason = f"disk limit ({disk_mb} MB in the working directory)"
                else:
                    continue
                try:
                    os.killpg(proc.pid, signal.SIGKILL)  # bwrap dies, and its pid namespace with it
                except ProcessLookupError:
                    pass
                out, err = proc.communicate()
                break
        seconds = time.perf_counter() - start
        rc = proc.returncode
        stderr = err.decode("utf-8", "replace")
        if reason:
            pass
        elif rc is not None and rc < 0:
            sig = -rc
            reason = "CPU time limit" if sig == signal.SIGXCPU else f"signal {signal.Signals(sig).name}"
        elif kind == "bubblewrap" and rc is not None and rc > 128 and not stderr.strip():
            sig = rc - 128  # bwrap reports its child's signal as 128 + N
            reason = "CPU time limit" if sig == signal.SIGXCPU else f"signal {signal.Signals(sig).name}"
        elif "MemoryError" in stderr[-2000:]:
            reason = f"memory limit ({memory_mb} MB)"
        collected: dict[str, bytes] = {}
        for pattern in collect:
            for path in work.glob(pattern):
                if path.is_file() and path.name not in ("script.py", "_cw_launch.py") and path.name not in (files or {}):
                    collected[path.name] = path.read_bytes()
        return SandboxResult(ok=rc == 0 and not reason, returncode=rc, stdout=out.decode("utf-8", "replace"),
                             stderr=stderr, seconds=round(seconds, 3), timed_out=timed_out, killed_reason=reason,
                             files=collected, sandbox=kind)


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
