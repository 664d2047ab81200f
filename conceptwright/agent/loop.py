"""The loop: prompt -> reply -> (parse, auto-fix, compile, validate) -> repair -> ..."""
from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from ..core import rules
from ..llm.base import LLM, Completion, LLMError, Message, Usage
from ..core.diagnostics import Diagnostic, render_all, errors
from .policy import StopPolicy
from .protocol import Job, Outcome
from .search import SearchRecord, Sample, agreement, choose, draw
from .result import Result
from .events import EventKind, Hooks
from .trace import AttemptRecord, TraceWriter


def run_job(
    job: Job,
    llm: LLM,
    *,
    target: str,
    policy: StopPolicy | None = None,
    trace: TraceWriter | None = None,
    run_id: str | None = None,
    hooks: Hooks | None = None,
) -> Result:
    """Run a job to a valid outcome or until the policy stops it; keep the best attempt.

    Raises LLMError if the very first call fails (nothing to return); a later failure
    stops the loop with ``stop_reason="llm_error"`` and keeps the best attempt so far.
    """
    policy = policy or StopPolicy()
    trace = trace or TraceWriter(None)
    run_id = run_id or uuid.uuid4().hex[:12]
    own = Hooks()  # this run's subscribers; the caller's hooks are not changed
    own.on("attempt_finished", trace.on_attempt)  # the trace is one subscriber among others

    def emit(kind: EventKind, attempt: int, **data: Any) -> None:
        for h in (own, hooks) if hooks is not None else (own,):
            h.emit(kind, run_id=run_id, target=target, attempt=attempt, **data)

    history: list[Outcome] = []
    records: list[AttemptRecord] = []
    usage = Usage()
    start = time.perf_counter()
    messages: list[Message] = job.first_messages()
    stop: str | None = None
    restarts, restart = policy.restarts, False
    search: SearchRecord | None = None

    def judge(completion: Completion, attempt: int) -> Outcome:
        emit("reply_received", attempt, input_tokens=completion.usage.input_tokens,
             output_tokens=completion.usage.output_tokens, seconds=completion.latency_s, finish_reason=completion.finish_reason)
        with rules.collect() as fired:
            outcome = job.evaluate(completion.text)
        outcome.rules = sorted(set(fired))
        emit("fixes_applied", attempt, fixes=outcome.fixes, rules=outcome.rules)
        emit("diagnostics", attempt, errors=outcome.error_count,
             warnings=len(outcome.diagnostics) - outcome.error_count, diagnostics=outcome.diagnostics, ok=outcome.ok)
        return outcome

    def record_of(completion: Completion, outcome: Outcome, sent: list[Message], attempt: int,
                  sample: int | None = None) -> AttemptRecord:
        return AttemptRecord(
            run_id=run_id, attempt=attempt, target=target, strategy=job.strategy, prompt_variant=job.prompt_variant,
            provider=getattr(llm, "provider", "unknown"), model=llm.name, input_tokens=completion.usage.input_tokens,
            output_tokens=completion.usage.output_tokens, finish_reason=completion.finish_reason,
            latency_s=round(completion.latency_s, 4), constrained=completion.constrained,
            messages=[m.model_dump() for m in sent], raw_output=completion.text, diagnostics=outcome.diagnostics,
            fixes=outcome.fixes, rules=outcome.rules, ok=outcome.ok, stop_reason=stop, sample=sample)

    pending: tuple[Completion, Outcome] | None = None
    if policy.samples > 1:  # test-time search: N first answers, the loop goes on from the best
        search, pending, usage, messages = _search(job, llm, policy, messages, emit, judge, record_of, records)
    while stop is None:
        if pending is not None:
            (completion, outcome), pending = pending, None
        else:
            try:
                temperature = getattr(job, "repair_temperature", 0.0) if history else 0.0
                if restart:
                    temperature = policy.restart_temperature
                emit("attempt_started", len(history), temperature=temperature,
                     how="restart" if restart else "repair" if history else "first", max_repairs=policy.max_repairs)
                completion = llm.complete(messages, schema=job.schema, max_tokens=job.max_tokens, temperature=temperature)
            except LLMError as exc:
                if not history:
                    raise
                stop = "llm_error"
                records[-1].stop_reason = stop
                history[-1].diagnostics.append(Diagnostic(code="llm-error", message=str(exc), severity="warning"))
                break
            outcome = judge(completion, len(history))
            usage = usage + completion.usage
        history.append(outcome)
        stop = policy.decide(history, usage.total, time.perf_counter() - start)
        restart = stop == "no_progress_same_diagnostics" and restarts > 0 and len(history) - 1 < policy.max_repairs
        if restart:
            stop, restarts = None, restarts - 1
        record = record_of(completion, outcome, messages, len(history) - 1,
                           sample=search.chosen if search is not None and len(history) == 1 else None)
        records.append(record)
        emit("attempt_finished", record.attempt, record=record)
        if stop is None:
            messages = _fresh_start(job.first_messages(), outcome) if restart else job.repair_messages(outcome)
    trace.close()
    best = _best(history)
    chosen = history[best]
    salvage = getattr(job, "last_resort", None)
    if not chosen.ok and salvage is not None:  # e.g. xmi: prune what nobody wrote, with a warning naming it
        top = max(o.score for o in history)
        for i in sorted(range(len(history)), key=lambda i: (-history[i].score, history[i].error_count, -i)):
            if history[i].score < policy.last_resort_keep * top:
                break  # a valid model holding a fraction of the task is not a better answer than the best invalid one
            with rules.collect() as fired:
                rescued = salvage(history[i])
            if rescued is not None and rescued.ok and rescued.score >= policy.last_resort_keep * top:
                rescued.rules = sorted(set(fired))
                chosen, best, stop = rescued, i, f"{stop}+last_resort"
                break
    emit("stopped", len(history), reason=stop or "", ok=chosen.ok, best_attempt=best)
    return Result(
        ok=chosen.ok,
        target=target,
        strategy=job.strategy,
        model=llm.name,
        run_id=run_id,
        artefacts=chosen.artefacts,
        conceptual=chosen.conceptual,
        diagnostics=chosen.diagnostics,
        facts=chosen.facts,
        rules=sorted({r for o in history for r in o.rules} | set(chosen.rules)),
        usage=usage,
        trace=[r for r in records if r.sample is None or r.sample == (search.chosen if search else None)],
        search=search,
        stop_reason=stop or "",
        best_attempt=best,
        seconds=round(time.perf_counter() - start, 3),
    )


def _search(job: Job, llm: LLM, policy: StopPolicy, messages: list[Message], emit: Callable[..., None],
            judge: Callable[[Completion, int], Outcome], record_of: Callable[..., AttemptRecord],
            records: list[AttemptRecord]) -> tuple[SearchRecord, tuple[Completion, Outcome], Usage, list[Message]]:
    """Draw ``policy.samples`` first answers of the same prompt, judge each, and return the search
    record, the chosen sample (the loop's attempt 0), the tokens of all samples and its prompt. The samples not
    chosen go to the trace file (``sample`` set, ``attempt`` 0) but not to the result's trace. A job
    with alternative examples may give sample i > 0 its own prompt (optional ``sample_messages(i)``);
    without it all samples share the first prompt (and a local model its KV state)."""
    drawn: list[tuple[Completion, Outcome]] = []
    samples: list[Sample] = []
    prompts: list[list[Message]] = []
    usage = Usage()
    for i in range(policy.samples):
        temperature = 0.0 if i == 0 else policy.sample_temperature
        seed = None if i == 0 else policy.sample_seed + i
        emit("attempt_started", 0, temperature=temperature, how="sample", sample=i, samples=policy.samples,
             max_repairs=policy.max_repairs)
        prompt = messages if i == 0 or not hasattr(job, "sample_messages") else job.sample_messages(i)
        try:
            completion = draw(llm, prompt, job, temperature=temperature, seed=seed)
        except LLMError:
            if not drawn:
                raise
            break  # go on with the samples drawn so far
        usage = usage + completion.usage
        outcome = judge(completion, 0)
        drawn.append((completion, outcome))
        prompts.append(prompt)
        samples.append(Sample(index=i, temperature=temperature, seed=seed, input_tokens=completion.usage.input_tokens,
                              output_tokens=completion.usage.output_tokens, seconds=round(completion.latency_s, 4),
                              ok=outcome.ok, errors=outcome.error_count, agreement=round(agreement(job, outcome), 4)))
        if policy.sample_until_valid and outcome.ok and i > 0:
            break
    best, why = choose([o for _, o in drawn], [s.agreement for s in samples])
    for i, (completion, outcome) in enumerate(drawn):
        if i != best:  # the chosen one is recorded by the loop as its attempt 0
            record = record_of(completion, outcome, prompts[i], 0, sample=i)
            records.append(record)
            emit("attempt_finished", 0, record=record)
    return SearchRecord(samples=samples, chosen=best, why=why), drawn[best], usage, prompts[best]


def _fresh_start(first: list[Message], previous: Outcome) -> list[Message]:
    """The first prompt again, told what went wrong before but not shown the previous answer
    (which a small model would copy)."""
    problems = render_all(errors(previous.diagnostics))
    note = f"An earlier answer to this task had these problems; write a new answer that avoids them:\n{problems}\n\n"
    last = first[-1]
    return first[:-1] + [Message(role=last.role, content=note + last.content)]


def _best(history: list[Outcome]) -> int:
    """Index of the best attempt: valid first, then with artefacts (usable ones before those the
    job marked unusable), then fewest errors, then latest."""
    def rank(i: int) -> tuple[int, int, int, int, int]:
        o = history[i]
        return (0 if o.ok else 1, 0 if o.artefacts else 1, 1 if o.usable is False else 0, o.error_count, -i)

    return min(range(len(history)), key=rank)
