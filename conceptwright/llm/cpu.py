"""What the CPU offers llama.cpp, and whether to load weights into llama.cpp's extra buffer types.

llama.cpp's CPU backend can place weights in "extra buffer types": the AMX buffer (Intel
Sapphire Rapids class and newer) and the repack buffer (weights interleaved for AVX2/AVX-512
or NEON kernels). The AMX matrix kernel crashes on batched decode (``ggml_backend_amx_mul_mat``,
llama.cpp issue 20824): any prompt longer than one token takes the process down with SIGSEGV.
The kernel is only reached through its buffer type, so loading with extra buffer types off
(``llama_model_params.use_extra_bufts = False``) avoids it with any wheel, prebuilt or built
with ``-march=native``.

Default (``auto``): off where the CPU reports AMX, on elsewhere (the repack kernels are
sound, and measured faster, see the README). Override with the backend argument
``extra_buffers=True|False`` or ``CONCEPTWRIGHT_LLAMA_EXTRA_BUFFERS=on|off|auto``.
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from .base import LLMError

ENV = "CONCEPTWRIGHT_LLAMA_EXTRA_BUFFERS"
AMX_FLAGS = frozenset({"amx_tile", "amx_int8", "amx_bf16", "amx_fp16", "amx_complex"})
_ON = {"on", "1", "true", "yes"}
_OFF = {"off", "0", "false", "no"}


@lru_cache(maxsize=1)
def cpu_flags(cpuinfo: str = "/proc/cpuinfo") -> frozenset[str]:
    """The feature flags the kernel reports for the first CPU (empty where unknown)."""
    try:
        text = Path(cpuinfo).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


def amx_flags(flags: frozenset[str] | None = None) -> list[str]:
    """The AMX features among ``flags`` (default: this machine's)."""
    return sorted(AMX_FLAGS & (cpu_flags() if flags is None else flags))


def requested(explicit: bool | None = None) -> tuple[bool | None, str]:
    """The setting asked for: the argument, else ``CONCEPTWRIGHT_LLAMA_EXTRA_BUFFERS``; ``None`` is auto."""
    if explicit is not None:
        return explicit, "set by the backend argument"
    setting = os.environ.get(ENV, "auto").strip().lower()
    if setting in _ON:
        return True, f"{ENV}={setting}"
    if setting in _OFF:
        return False, f"{ENV}={setting}"
    if setting not in ("", "auto"):
        raise LLMError(f"{ENV} must be on, off or auto, not '{setting}'")
    return None, "auto"


def extra_buffers(
    explicit: bool | None = None, flags: frozenset[str] | None = None, system_info: str = ""
) -> tuple[bool, str]:
    """Whether to load weights into extra buffer types, and why (a short phrase for doctor and traces).

    Auto: off where the CPU reports AMX or llama.cpp's CPU backend was built with it
    (``AMX_INT8 = 1`` in ``llama_print_system_info``; a VM may hide the CPU flag), on elsewhere.
    """
    choice, why = requested(explicit)
    if choice is not None:
        return choice, why
    amx = amx_flags(flags)
    if "AMX_INT8 = 1" in system_info:
        amx.append("llama.cpp built with AMX_INT8")
    if amx:
        return False, f"off: AMX ({', '.join(amx)}), whose llama.cpp kernel crashes on batched decode"
    return True, "on: no AMX in the CPU or in llama.cpp"
