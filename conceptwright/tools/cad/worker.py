"""The warm CAD worker: a long-lived process that imports CadQuery once (about 4 s) and
then serves jobs over a pipe, one JSON line in and one out.

Each job runs in a process forked from the warm worker, so it starts with CadQuery loaded
and leaves nothing behind: its own process group, wall-clock timeout (the group is
killed), CPU, memory and file-size limits, a fresh working directory, Landlock (read only
what Python needs, write only that directory, no TCP) when the runner asks for it, and the
sandbox's audit hook (tools/sandbox) refusing network, new processes, ctypes and writes
outside that directory. Untrusted code never runs in the worker itself, only in these
children. Under bubblewrap the runner starts the whole worker inside ``bwrap``
(tools/cad/runner.py), so the jobs see only its base folder and what Python needs.

Run as ``python -m conceptwright.tools.cad.worker``; the caller is tools/cad/runner.py.
"""
from __future__ import annotations

import base64
import json
import os
import resource
import select
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ..sandbox import _GUARD, apply_landlock, disk_usage

MAX_FILE = 64 * 1024 * 1024
MAX_DISK = 256 * 1024 * 1024  # all files of one job together
TAIL = 8000


def _vm_bytes() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0  # pragma: no cover - Linux only


def _die_with_parent() -> None:
    """PR_SET_PDEATHSIG: the job dies if the worker is killed (before the guard forbids ctypes)."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)
    except Exception:  # pragma: no cover - not Linux
        pass


def _child(task: Any, req: dict[str, Any], work: Path, result_path: Path) -> None:
    """In the forked job process: isolate, limit, guard, run ``task``; never returns."""
    code = 1
    try:
        os.setpgid(0, 0)
        _die_with_parent()
        os.closerange(3, 4096)  # the protocol pipes stay with the worker
        result = open(result_path, "w", encoding="utf-8")  # opened before the guard: outside the work dir
        out = os.open(work / "stdout.txt", os.O_WRONLY | os.O_CREAT, 0o600)
        err = os.open(work / "stderr.txt", os.O_WRONLY | os.O_CREAT, 0o600)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0), os.dup2(out, 1), os.dup2(err, 2)
        sys.stdout = open(1, "w", closefd=False)
        sys.stderr = open(2, "w", closefd=False)
        os.chdir(work)
        os.environ.update(TMPDIR=str(work), HOME=str(work), MPLCONFIGDIR=str(work))
        mem = _vm_bytes() + int(req.get("memory_mb", 2048)) * 1024 * 1024
        cpu = int(req.get("cpu_s", 60))
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_FILE, MAX_FILE))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if os.environ.get("CW_LANDLOCK") == "1":
            apply_landlock([str(work)])  # fails closed: an error here ends the job
        exec(_GUARD, {})
        report = task(req)
        result.write(json.dumps(report))
        result.close()
        code = 0
    except BaseException:  # noqa: BLE001 - whatever happens, the child must not return into the worker loop
        import traceback

        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001
                pass
        os._exit(code)


def _wait(pid: int, timeout: float, work: Path | None = None) -> tuple[int | None, str | None]:
    """Wait for the job; kill its process group at the deadline or when ``work`` holds more
    than MAX_DISK. (wait status, None or "timeout" or "disk")."""
    deadline = time.monotonic() + timeout
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):  # pragma: no cover - old kernels: poll
        fd = None
    try:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return status, None
            left = deadline - time.monotonic()
            if left <= 0:
                why = "timeout"
                break
            if work is not None and disk_usage(work) > MAX_DISK:
                why = "disk"
                break
            if fd is not None:
                select.select([fd], [], [], min(left, 0.25))
            else:  # pragma: no cover
                time.sleep(min(0.02, left))
    finally:
        if fd is not None:
            os.close(fd)
    for target in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            target()
        except ProcessLookupError:
            pass
    return os.waitpid(pid, 0)[1], why


def _tail(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError:
        return ""
    return data[-TAIL:].decode("utf-8", "replace")


def _run_in_child(task: Any, req: dict[str, Any], base: Path, files: dict[str, bytes], timeout: float) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="job-", dir=base))
    control = Path(tempfile.mkdtemp(prefix="ctl-", dir=base))
    result_path = control / "result.json"
    try:
        for name, data in files.items():
            (work / Path(name).name).write_bytes(data)
        start = time.perf_counter()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child (measured through the runner tests)
            _child(task, req, work, result_path)
        status, why = _wait(pid, timeout, work)
        timed_out = why == "timeout"
        seconds = time.perf_counter() - start
        reason = None
        rc = os.waitstatus_to_exitcode(status) if status is not None else None
        stderr = _tail(work / "stderr.txt")
        if timed_out:
            reason = f"timeout after {timeout:g} s (wall clock)"
        elif why == "disk":
            reason = f"disk limit ({MAX_DISK // 2**20} MB in the working directory)"
        elif rc is not None and rc < 0:
            sig = -rc
            reason = "CPU time limit" if sig == signal.SIGXCPU else f"killed by signal {signal.Signals(sig).name}"
        elif "MemoryError" in stderr:
            reason = f"memory limit ({req.get('memory_mb', 2048)} MB)"
        report = None
        if result_path.is_file() and result_path.stat().st_size:
            report = json.loads(result_path.read_text(encoding="utf-8"))
        if report is not None and report.get("error") and report["error"].get("type") == "MemoryError":
            reason = f"memory limit ({req.get('memory_mb', 2048)} MB)"
        wanted = set(req.get("collect", []))
        out_files = {p.name: base64.b64encode(p.read_bytes()).decode() for p in work.iterdir()
                     if p.name in wanted and p.is_file() and p.stat().st_size <= MAX_FILE}
        return {"returncode": rc, "killed_reason": reason, "timed_out": timed_out, "seconds": round(seconds, 3),
                "stdout": _tail(work / "stdout.txt"), "stderr": stderr, "report": report, "files": out_files}
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(control, ignore_errors=True)


def handle(req: dict[str, Any], base: Path) -> dict[str, Any]:
    from . import probe as cad_probe

    files = {k: base64.b64decode(v) for k, v in req.get("files", {}).items()}
    req = dict(req, collect=list(cad_probe.EXPORT_NAMES.values()))
    reply = _run_in_child(cad_probe.run_job, req, base, files, float(req.get("timeout_s", 60)))
    step = reply["files"].get("part.step")
    reply["verify"] = None
    if step and req.get("verify", True):
        check = _run_in_child(lambda _r: cad_probe.verify_step(), {"memory_mb": 4096, "cpu_s": 120, "collect": []},
                              base, {"part.step": base64.b64decode(step)}, 120.0)
        reply["verify"] = check["report"] if check["report"] is not None else {
            "error": check["killed_reason"] or check["stderr"][-500:] or "re-import failed"}
    return reply


def main() -> int:
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # stray prints (CadQuery, VTK) must not reach the protocol pipe
    import cadquery  # noqa: F401 - the point of the worker: import once, fork many
    import cadquery.vis  # noqa: F401 - VTK for the pictures

    from . import probe as cad_probe, render as cad_render  # noqa: F401

    base = Path(os.environ.get("CW_CAD_BASE") or tempfile.mkdtemp(prefix="cw-cad-"))
    proto.write(json.dumps({"ready": True, "pid": os.getpid(), "cadquery": cadquery.__version__}) + "\n")
    proto.flush()
    try:
        for line in sys.stdin:
            if not line.strip():
                continue
            try:
                reply = handle(json.loads(line), base)
            except Exception as exc:  # noqa: BLE001 - a bad request must not end the worker
                reply = {"returncode": None, "killed_reason": f"worker error: {type(exc).__name__}: {exc}",
                         "timed_out": False, "seconds": 0.0, "stdout": "", "stderr": "", "report": None, "files": {},
                         "verify": None}
            proto.write(json.dumps(reply) + "\n")
            proto.flush()
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
