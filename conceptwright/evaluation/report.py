"""What every eval report has, whatever the suite: models and strategies side by side with the
ratio between them, validity by repair round, where the time goes, and two plots."""
from __future__ import annotations

from pathlib import Path
from statistics import mean
from typing import Any


def table(headers: list[str], rows: list[list[object]]) -> str:
    def fmt(v: object) -> str:
        return f"{v:.2f}" if isinstance(v, float) else str(v)

    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(fmt(v) for v in r) + " |" for r in rows]
    return "\n".join(out)


def _group(rows: list[dict[str, Any]], model: str, strategy: str) -> list[dict[str, Any]]:
    return [r for r in rows if r["model"] == model and r["strategy"] == strategy]


def figures(rs: list[dict[str, Any]], suite: Any) -> dict[str, float]:
    """The headline figures of one (model, strategy) group."""
    if not rs:
        return {}
    seconds = sum(r["seconds"] for r in rs)
    llm = sum(r.get("llm_seconds", 0.0) for r in rs)
    return {"cases": len(rs), "valid": sum(bool(r["ok"]) for r in rs) / len(rs), "primary": mean(suite.primary(r) for r in rs),
            "tokens": mean(r["tokens_in"] + r["tokens_out"] for r in rs), "seconds": mean(r["seconds"] for r in rs),
            "outside_llm": (seconds - llm) / seconds if seconds else 0.0}


def common_sections(rows: list[dict[str, Any]], suite: Any, models: list[str], strategies: list[str], max_repairs: int) -> str:
    pairs = [(m, s) for m in models for s in strategies]
    base = figures(_group(rows, *pairs[0]), suite) if pairs else {}

    def ratio(value: float, ref: float | None) -> str:
        return f"{value / ref:.2f}x" if ref else "-"

    side = []
    for m, s in pairs:
        f = figures(_group(rows, m, s), suite)
        if not f:
            continue
        side.append([m, s, f["cases"], f"{100 * f['valid']:.0f}%", f["primary"], ratio(f["primary"], base.get("primary")),
                     int(f["tokens"]), ratio(f["tokens"], base.get("tokens")), f["seconds"],
                     ratio(f["seconds"], base.get("seconds")), f"{100 * f['outside_llm']:.1f}%"])
    rounds = []
    for m, s in pairs:
        rs = _group(rows, m, s)
        if rs:
            rounds.append([m, s] + [f"{sum(r['ok'] and r.get('valid_at') is not None and r['valid_at'] <= k for r in rs)}/{len(rs)}"
                                    for k in range(max_repairs + 1)])
    parts = [
        "## Side by side",
        f"Same cases, same run; ratios against the first row ({pairs[0][0]}, {pairs[0][1]}). {suite.PRIMARY} is the "
        "suite's quality figure per case, averaged. Outside the LLM = wall time in our own code (prompt building, fixes, "
        "compile, validate, sandbox start-up) as a share of the job's time.",
        table(["model", "strategy", "cases", "valid", suite.PRIMARY, "ratio", "tokens (mean)", "ratio", "seconds (mean)",
               "ratio", "outside the LLM"], side),
        "## Validity by repair round",
        "Cases valid after the first try (round 0) and after each repair round.",
        table(["model", "strategy"] + [f"round {k}" for k in range(max_repairs + 1)], rounds),
    ]
    return "\n\n".join(parts) + "\n"


def summary_json(rows: list[dict[str, Any]], suite: Any, models: list[str], strategies: list[str]) -> dict[str, Any]:
    return {"target": suite.TARGET, "primary": suite.PRIMARY,
            "groups": [{"model": m, "strategy": s, **figures(_group(rows, m, s), suite)} for m in models for s in strategies],
            "rows": rows}


def plots(rows: list[dict[str, Any]], out: Path, models: list[str], strategies: list[str], max_repairs: int) -> list[Path]:
    """validity_by_round.png and tokens_by_strategy.png (matplotlib, no screen needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pairs = [(m, s) for m in models for s in strategies if _group(rows, m, s)]
    if not pairs:
        return []
    written = []
    fig, ax = plt.subplots(figsize=(6, 4))
    for m, s in pairs:
        rs = _group(rows, m, s)
        ys = [sum(r["ok"] and r.get("valid_at") is not None and r["valid_at"] <= k for r in rs) / len(rs)
              for k in range(max_repairs + 1)]
        ax.plot(range(max_repairs + 1), ys, marker="o", label=f"{m} / {s}")
    ax.set(xlabel="repair round", ylabel="share valid", ylim=(0, 1.05), title="Validity by repair round")
    ax.set_xticks(range(max_repairs + 1))
    ax.legend(fontsize=7)
    fig.tight_layout()
    written.append(out / "validity_by_round.png")
    fig.savefig(written[-1], dpi=100)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(6, 4))
    labels = [f"{m}\n{s}" for m, s in pairs]
    ins = [mean(r["tokens_in"] for r in _group(rows, m, s)) for m, s in pairs]
    outs = [mean(r["tokens_out"] for r in _group(rows, m, s)) for m, s in pairs]
    ax.bar(labels, ins, label="input")
    ax.bar(labels, outs, bottom=ins, label="output")
    ax.set(ylabel="tokens per case (mean)", title="Tokens by strategy")
    ax.tick_params(axis="x", labelsize=7)
    ax.legend()
    fig.tight_layout()
    written.append(out / "tokens_by_strategy.png")
    fig.savefig(written[-1], dpi=100)
    plt.close(fig)
    return written
