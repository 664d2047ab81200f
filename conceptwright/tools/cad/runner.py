"""Caller side of the warm CAD worker (tools/cad/worker.py): starts it in its own session
with a scrubbed environment, sends jobs, enforces an outer deadline, and recycles it after
``max_jobs`` jobs, or when it crashes or stops answering, or when the sandbox level changes.
Under bubblewrap the whole worker runs inside ``bwrap`` with only its base folder writable
(tools/sandbox); under Landlock each job applies it before the untrusted code. Every piece of CAD code, ours or
an LLM's, runs through here: there is no unguarded path."""
from __future__ import annotations

import atexit
import base64
import concurrent.futures
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any, Literal

from pydantic import BaseModel, Field

from ...core.proc import describe_exit
from ..sandbox import confine, sandbox_kind, scrubbed_env, wants_landlock

Export = Literal["step", "stl", "svg", "png"]


class CodeBlock(BaseModel):
    name: str  # feature id (diagnostics name it), or "script"
    code: str
    first_line: int = 1
    op: str = ""
    var: str | None = None  # body variable to check after this block


class CadJob(BaseModel):
    blocks: list[CodeBlock]
    files: dict[str, bytes] = Field(default_factory=dict)  # put beside the script
    run_name: str = "__main__"
    result_names: list[str] = Field(default_factory=lambda: ["result"])
    exports: list[Export] = Field(default_factory=lambda: ["step", "stl"])
    stl_tolerance: float | None = None
    timeout_s: float = 60.0
    cpu_s: int = 120
    memory_mb: int = 2048
    verify: bool = True  # re-import the STEP in a clean process


class ShapeStats(BaseModel):
    n_solids: int = 0
    valid: bool = False
    volume: float = 0.0
    bbox: list[float] | None = None  # xmin, ymin, zmin, xmax, ymax, zmax
    n_faces: int = 0
    holes: list[dict[str, Any]] = Field(default_factory=list)
    measures: dict[str, Any] = Field(default_factory=dict)  # probe.measure: planes, edges, circles, cylinders
    error: str | None = None

    @property
    def size(self) -> tuple[float, float, float] | None:
        if not self.bbox:
            return None
        return (self.bbox[3] - self.bbox[0], self.bbox[4] - self.bbox[1], self.bbox[5] - self.bbox[2])


class BlockStats(BaseModel):
    feature: str
    op: str = ""
    var: str | None = None
    n_solids: int
    valid: bool
    volume: float
    seconds: float = 0.0


class ScriptError(BaseModel):
    feature: str
    op: str = ""
    type: str
    message: str
    line: int | None = None


class CadReport(BaseModel):
    """What became of one job."""

    returncode: int | None = None
    killed_reason: str | None = None  # timeout, memory, CPU, signal, worker crash
    timed_out: bool = False
    seconds: float = 0.0
    stdout: str = ""
    stderr: str = ""
    blocks: list[BlockStats] = Field(default_factory=list)
    error: ScriptError | None = None
    failed_feature: str | None = None  # first block that left no solid or an invalid one
    result: ShapeStats | None = None
    result_from: str | None = None
    renderer: str | None = None
    export_errors: dict[str, str] = Field(default_factory=dict)
    files: dict[str, bytes] = Field(default_factory=dict)  # part.step, part.stl, part.svg, part.png
    verify: ShapeStats | None = None  # the STEP re-imported in a clean process
    worker_pid: int | None = None

    @property
    def final(self) -> ShapeStats | None:
        """The stats to trust: the STEP re-imported in a clean process when that worked, else the in-process result."""
        return self.verify if self.verify is not None and self.verify.error is None else self.result

    @property
    def refused(self) -> str | None:
        """The sandbox's refusal message, when the script tried something forbidden."""
        text = (self.error.message if self.error else "") + self.stderr
        for line in text.splitlines():
            if "sandbox:" in line:
                return line[line.index("sandbox:"):].strip()
        return None


class CadRunner:
    """One warm worker, used by one job at a time (thread-safe)."""

    def __init__(self, *, max_jobs: int = 200, start_timeout: float = 120.0, python: str | None = None) -> None:
        self.max_jobs = max_jobs
        self.start_timeout = start_timeout
        self.python = python or sys.executable
        self._proc: subprocess.Popen[bytes] | None = None
        self._base: str | None = None
        self._log = tempfile.TemporaryFile()
        self._lock = threading.Lock()
        self.jobs_served = 0  # by the current worker
        self.starts = 0
        self.kind: str | None = None  # the sandbox level of the current worker

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc and self._proc.poll() is None else None

    def _start(self) -> None:
        # VTK renders off-screen through EGL: no X server to try first
        kind = sandbox_kind()
        self._base = os.path.realpath(tempfile.mkdtemp(prefix="cw-cad-"))  # the jobs' directories; removed with the worker
        env = scrubbed_env({"TMPDIR": self._base if kind == "bubblewrap" else tempfile.gettempdir(),
                            "HOME": self._base, "CW_CAD_BASE": self._base, "CW_LANDLOCK": "1" if wants_landlock(kind) else "0",
                            "VTK_DEFAULT_OPENGL_WINDOW": "vtkEGLRenderWindow"})
        cmd = [*confine(kind, [self._base]), self.python, "-s" if env.get("PYTHONPATH") else "-I", "-m",
               "conceptwright.tools.cad.worker"]
        # spawned from one long-lived thread: bwrap's --die-with-parent (PR_SET_PDEATHSIG) fires when the
        # *thread* that started it ends, and a job may come from a short-lived one (a batch or web thread)
        self._proc = _spawner().submit(
            subprocess.Popen, cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, env=env,
            cwd=self._base if kind == "bubblewrap" else tempfile.gettempdir(), start_new_session=True).result()
        self.kind = kind
        self.jobs_served = 0
        self.starts += 1
        hello = self._read_line(self.start_timeout)
        if not hello or not json.loads(hello).get("ready"):
            self._kill()
            raise RuntimeError(f"the CAD worker did not start: {self._log_tail()}")

    def _log_tail(self) -> str:
        self._log.seek(0)
        return self._log.read()[-1500:].decode("utf-8", "replace").strip() or "no output"

    def _read_line(self, timeout: float) -> bytes | None:
        assert self._proc and self._proc.stdout
        fd = self._proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        buf = b""
        while not buf.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return None
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return None
            buf += chunk
        return buf

    def _kill(self) -> None:
        if self._proc is None:
            return
        try:
            os.killpg(self._proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._proc.wait()
        for pipe in (self._proc.stdin, self._proc.stdout):
            if pipe:
                pipe.close()
        self._proc = None
        if self._base:
            shutil.rmtree(self._base, ignore_errors=True)
            self._base = None

    def close(self) -> None:
        with self._lock:
            self._kill()

    def recycle(self) -> None:
        """Replace the worker with a fresh one (at the next job)."""
        self.close()

    def run(self, job: CadJob) -> CadReport:
        """Run one job on the warm worker. A worker that dies with the job in flight (a crash in
        OCCT, the OOM killer, ``kill -9``) is replaced and the job retried once; a second death, or a
        worker that stops answering, is reported on the job (``killed_reason``) and the next job gets
        a fresh worker."""
        with self._lock:
            for attempt in (1, 2):
                if (self._proc is None or self._proc.poll() is not None or self.jobs_served >= self.max_jobs
                        or self.kind != sandbox_kind()):
                    self._kill()
                    try:
                        self._start()
                    except RuntimeError as exc:
                        if attempt == 1:
                            raise
                        return CadReport(killed_reason=f"the CAD worker died on this job and did not restart: {exc}")
                assert self._proc and self._proc.stdin
                req = job.model_dump(exclude={"files"}) | {"files": {k: base64.b64encode(v).decode() for k, v in job.files.items()}}
                proc = self._proc
                try:
                    proc.stdin.write((json.dumps(req) + "\n").encode())
                    proc.stdin.flush()
                    line = self._read_line(job.timeout_s + 180.0)  # the job's own deadline is enforced by the worker
                except (BrokenPipeError, OSError):
                    line = None
                self.jobs_served += 1
                if line is not None:
                    return _report(json.loads(line), proc.pid)
                died = proc.poll() is not None or _wait_exit(proc, 0.5)
                self._kill()
                if not died:  # hung: the job is at fault, do not run it again
                    return CadReport(killed_reason="the CAD worker stopped answering and was restarted", worker_pid=proc.pid)
                if attempt == 2:
                    return CadReport(killed_reason=f"the CAD worker died twice on this job ({describe_exit(proc.returncode)}); "
                                                   "it was restarted", worker_pid=proc.pid)
        raise AssertionError("unreachable")


_SPAWNER: concurrent.futures.ThreadPoolExecutor | None = None


def _spawner() -> concurrent.futures.ThreadPoolExecutor:
    global _SPAWNER
    if _SPAWNER is None:
        _SPAWNER = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="conceptwright-cad-spawn")
    return _SPAWNER


def _wait_exit(proc: subprocess.Popen[bytes], seconds: float) -> bool:
    try:
        proc.wait(seconds)
        return True
    except subprocess.TimeoutExpired:
        return False


def _report(reply: dict[str, Any], pid: int) -> CadReport:
    body = reply.get("report") or {}
    verify = reply.get("verify")
    return CadReport(
        returncode=reply.get("returncode"), killed_reason=reply.get("killed_reason"), timed_out=reply.get("timed_out", False),
        seconds=reply.get("seconds", 0.0), stdout=reply.get("stdout", ""), stderr=reply.get("stderr", ""),
        blocks=[BlockStats(**b) for b in body.get("blocks", [])],
        error=ScriptError(**body["error"]) if body.get("error") else None,
        failed_feature=body.get("failed_feature"),
        result=ShapeStats(**body["result"]) if body.get("result") else None,
        result_from=body.get("result_from"), renderer=body.get("renderer"),
        export_errors=body.get("export_errors", {}),
        files={k: base64.b64decode(v) for k, v in reply.get("files", {}).items()},
        verify=ShapeStats(**verify) if verify else None, worker_pid=pid,
    )


_SHARED: CadRunner | None = None
_SHARED_LOCK = threading.Lock()


def shared_runner() -> CadRunner:
    """The process-wide warm worker (started at the first job, stopped at exit)."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = CadRunner()
            atexit.register(_SHARED.close)
        return _SHARED
