"""Child processes that never outlive their parent."""
from __future__ import annotations

import os
import signal
import threading
import time


def die_with_parent(poll_s: float = 0.5) -> None:
    """End this process soon after its parent dies (``kill -9`` of the parent included), so no
    orphan goes on decoding or writing. A watcher thread notices the parent's pid change (an
    orphan is re-parented); unlike ``PR_SET_PDEATHSIG`` it does not fire when merely the thread
    that started this process ends, and it works on every POSIX system."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(poll_s)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()


def describe_exit(code: int | None) -> str:
    """'signal SIGSEGV' for a negative return code, else 'exit code N'."""
    if code is not None and code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"
