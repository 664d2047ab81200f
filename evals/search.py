"""``python -m evals search --target sim --model M --n 1,2,4,8``: quality against the number of samples.

One eval run with every sample count side by side (strategy ``conceptual@N``, test-time search:
N first answers, the repairs from the best). Per N: quality (the suite's primary figure), validity,
tokens, seconds; the knee is the smallest N that reaches 90% of the best gain in quality over N = 1
(N = 1 when no N gains), so users can pick their budget. Report and plot:
evals/reports/search-TARGET-MODEL.md and .png.
"""
from __future__ import annotations

from pathlib import Path
from statistics import mean
from typing import Any

from conceptwright import evaluation

from .common import REPORTS, RUNS, model_slug, table, write_report

KNEE_SHARE = 0.9


def curve(rows: list[dict[str, Any]], suite: Any, ns: list[int], strategy: str) -> list[dict[str, Any]]:
    """Per sample count: cases, quality, validity, tokens and seconds (means per case)."""
    out = []
    for n in ns:
        group = [r for r in rows if r["strategy"] == f"{strategy}@{n}"]
        if not group:
            continue
        out.append({"n": n, "cases": len(group), "quality": mean(suite.primary(r) for r in group),
                    "valid": mean(float(bool(r["ok"])) for r in group),
                    "tokens": mean(r["tokens_in"] + r["tokens_out"] for r in group),
                    "seconds": mean(r["seconds"] for r in group), "repairs": mean(r["repairs"] for r in group)})
    return out


def knee(points: list[dict[str, Any]]) -> int:
    """The smallest N with at least KNEE_SHARE of the best quality gain over the first N."""
    if not points:
        return 1
    base, best = points[0]["quality"], max(p["quality"] for p in points)
    if best <= base:
        return points[0]["n"]
    return next(p["n"] for p in points if p["quality"] - base >= KNEE_SHARE * (best - base))


def plot(points: list[dict[str, Any]], path: Path, title: str) -> Path | None:
    """Quality and validity against N, with tokens on a second axis (matplotlib, no screen)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    ns = [p["n"] for p in points]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(ns, [p["quality"] for p in points], marker="o", label="quality")
    ax.plot(ns, [p["valid"] for p in points], marker="s", label="valid")
    ax.set(xlabel="samples N", ylabel="share of cases", ylim=(0, 1.05), xscale="log", title=title)
    ax.set_xticks(ns, [str(n) for n in ns])
    tokens = ax.twinx()
    tokens.plot(ns, [p["tokens"] for p in points], color="grey", linestyle="--", marker="^", label="tokens")
    tokens.set_ylabel("tokens per case (mean)")
    lines = ax.get_lines() + tokens.get_lines()
    ax.legend(lines, [str(line.get_label()) for line in lines], loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def report(points: list[dict[str, Any]], suite: Any, title: str, figure: Path | None) -> str:
    k = knee(points)
    body = [[p["n"], p["cases"], f"{p['quality']:.2f}", f"{p['valid']:.2f}", int(p["tokens"]), f"{p['seconds']:.1f}",
             f"{p['repairs']:.2f}", "**knee**" if p["n"] == k else ""] for p in points]
    parts = [f"# test-time search: {title}", __doc__.split("\n\n", 1)[1].strip(),
             table(["N", "cases", f"quality ({suite.PRIMARY})", "valid", "tokens (mean)", "seconds (mean)",
                    "repairs (mean)", ""], body),
             f"Knee: **N = {k}**."]
    if figure is not None:
        parts.append(f"![quality against N]({figure.name})")
    return "\n\n".join(parts) + "\n"


def main(args: Any) -> int:
    from conceptwright.llm import resolve

    ns = sorted({int(n) for n in args.n.split(",") if n.strip()})
    suite = evaluation.get_suite(args.target)
    label = args.model if args.model == "reference" else resolve(args.model).name
    slug = model_slug(label)
    out = Path(args.results) if getattr(args, "results", None) else RUNS / f"search-{args.target}-{slug}"
    strategy = args.strategy or suite.STRATEGIES[0]
    run = evaluation.run_eval(suite, out, models=[args.model], strategies=[strategy], cases=args.cases,
                              max_repairs=args.max_repairs, only=args.only.split(",") if args.only else None,
                              limit=args.limit, samples=ns, progress=not getattr(args, "no_progress", False),
                              title=label)
    points = curve(run.rows, suite, ns, strategy)
    md = Path(args.out) if args.out else REPORTS / f"search-{args.target}-{slug}.md"
    md.parent.mkdir(parents=True, exist_ok=True)
    figure = plot(points, md.with_suffix(".png"), f"{args.target}, {label}")
    write_report("search", slug, report(points, suite, f"{args.target}, {label}", figure), str(md))
    return 0
