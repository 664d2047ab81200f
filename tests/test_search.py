"""Test-time search: N first answers, ranked by validity, errors and the job's agreement; only the best
is repaired; N = 1 is today's loop; the trace and result say what was drawn and chosen."""
from __future__ import annotations

import json
from typing import Any

import pytest

from conceptwright.agent.loop import run_job
from conceptwright.agent.policy import StopPolicy
from conceptwright.agent.protocol import InputError, Outcome
from conceptwright.agent.run import split_strategy
from conceptwright.agent.search import choose
from conceptwright.agent.trace import TraceWriter
from conceptwright.core.diagnostics import Diagnostic
from conceptwright.llm.base import Completion, Message, Usage

from .scripted import ScriptedLLM


class ToyJob:
    """A target-agnostic job: a reply {"errors": k, "agree": a} has k errors and agreement a."""

    strategy = "conceptual"
    prompt_variant = "toy"
    schema = None
    max_tokens = 50
    repair_temperature = 0.0

    def __init__(self, with_agreement: bool = True) -> None:
        self.repairs_of: list[Any] = []
        if not with_agreement:
            self.agreement = None  # type: ignore[assignment]

    def first_messages(self) -> list[Message]:
        return [Message(role="system", content="toy"), Message(role="user", content="write a toy")]

    def repair_messages(self, previous: Outcome) -> list[Message]:
        self.repairs_of.append(previous.conceptual)
        return self.first_messages() + [Message(role="assistant", content=previous.feedback),
                                        Message(role="user", content="fix it")]

    def evaluate(self, raw: str) -> Outcome:
        data = json.loads(raw)
        diags = [Diagnostic(code="toy", obj=f"e{i}", message="wrong") for i in range(data["errors"])]
        return Outcome(conceptual=data, artefacts={"toy": raw}, diagnostics=diags, feedback=raw)

    def agreement(self, outcome: Outcome) -> float:
        return float(outcome.conceptual.get("agree", 0.0))


def reply(errors: int, agree: float = 0.0, tag: str = "") -> str:
    return json.dumps({"errors": errors, "agree": agree, "tag": tag})


def test_the_search_picks_the_valid_sample_over_an_invalid_first_one() -> None:
    llm = ScriptedLLM([reply(2, tag="first"), reply(0, tag="second"), reply(1, tag="third")])
    res = run_job(ToyJob(), llm, target="toy", policy=StopPolicy(samples=3))
    assert res.ok and res.conceptual["tag"] == "second"
    assert [c["temperature"] for c in llm.calls] == [0.0, 0.7, 0.7]  # the first at 0, the others sampled
    assert res.search is not None and res.search.chosen == 1 and res.search.why == "the only valid sample"
    assert res.attempts == 1 and res.repairs == 0 and res.stop_reason == "valid"


def test_the_loop_repairs_only_the_best_sample() -> None:
    job = ToyJob()
    llm = ScriptedLLM([reply(3, tag="a"), reply(1, tag="b"), reply(2, tag="c"), reply(0, tag="repaired")])
    res = run_job(job, llm, target="toy", policy=StopPolicy(samples=3, max_repairs=2))
    assert [r["tag"] for r in job.repairs_of] == ["b"]  # one repair, of the sample with the fewest errors
    assert res.ok and res.conceptual["tag"] == "repaired" and res.repairs == 1
    assert len(llm.calls) == 4  # 3 samples + 1 repair
    assert json.loads(llm.calls[3]["messages"][2].content)["tag"] == "b"  # the repair shows the chosen answer


def test_agreement_breaks_ties_between_equally_valid_samples() -> None:
    llm = ScriptedLLM([reply(1, 0.2, "low"), reply(1, 0.9, "high"), reply(2, 1.0, "more errors")])
    res = run_job(ToyJob(), llm, target="toy", policy=StopPolicy(samples=3, max_repairs=0))
    assert res.conceptual["tag"] == "high"
    assert [s.agreement for s in res.search.samples] == [0.2, 0.9, 1.0]
    assert "fewest" in res.search.why and "0.90" in res.search.why


def test_without_an_agreement_the_earliest_of_the_best_wins() -> None:
    llm = ScriptedLLM([reply(1, tag="a"), reply(1, tag="b")])
    res = run_job(ToyJob(with_agreement=False), llm, target="toy", policy=StopPolicy(samples=2, max_repairs=0))
    assert res.conceptual["tag"] == "a" and res.search.chosen == 0


def test_one_sample_is_todays_loop() -> None:
    replies = [reply(1, tag="a"), reply(0, tag="b")]
    today = run_job(ToyJob(), ScriptedLLM(list(replies)), target="toy", policy=StopPolicy())
    one = ScriptedLLM(list(replies))
    searched = run_job(ToyJob(), one, target="toy", policy=StopPolicy(samples=1))
    assert searched.search is None and today.search is None
    assert [r.raw_output for r in searched.trace] == [r.raw_output for r in today.trace] == replies
    assert [c["temperature"] for c in one.calls] == [0.0, 0.0]
    assert searched.usage == today.usage and searched.stop_reason == today.stop_reason == "valid"
    assert all(r.sample is None for r in searched.trace)


def test_trace_and_result_record_samples_tokens_and_the_choice(tmp_path) -> None:
    path = tmp_path / "trace.jsonl"
    llm = ScriptedLLM([reply(1, tag="a"), reply(0, tag="bb"), reply(2, tag="ccc")])
    res = run_job(ToyJob(), llm, target="toy", policy=StopPolicy(samples=3), trace=TraceWriter(path))
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert sorted(x["sample"] for x in lines) == [0, 1, 2]  # every sample is in the trace file
    assert [r.sample for r in res.trace] == [1]  # the result's trace: the chosen sample, then its repairs
    assert [s.index for s in res.search.samples] == [0, 1, 2]
    assert [s.output_tokens for s in res.search.samples] == [len(reply(1, tag="a")) // 4, len(reply(0, tag="bb")) // 4,
                                                            len(reply(2, tag="ccc")) // 4]
    assert res.usage.output_tokens == sum(s.output_tokens for s in res.search.samples)  # all samples are paid for
    assert [s.ok for s in res.search.samples] == [False, True, False] and [s.errors for s in res.search.samples] == [1, 0, 2]
    assert res.llm_seconds == pytest.approx(0.03)


class SeededLLM(ScriptedLLM):
    """A backend that takes a per-call seed, like the local llama.cpp one."""

    def complete(self, messages: list[Message], *, schema: dict[str, Any] | None = None, max_tokens: int | None = None,
                 temperature: float = 0.0, seed: int | None = None) -> Completion:
        out = super().complete(messages, schema=schema, max_tokens=max_tokens, temperature=temperature)
        self.calls[-1]["seed"] = seed
        return out


def test_each_sample_gets_its_own_seed_where_the_backend_takes_one() -> None:
    llm = SeededLLM([reply(1), reply(1), reply(1)])
    run_job(ToyJob(), llm, target="toy", policy=StopPolicy(samples=3, max_repairs=0, sample_seed=10))
    assert [c["seed"] for c in llm.calls] == [None, 11, 12]
    assert len({tuple(m.content for m in c["messages"]) for c in llm.calls}) == 1  # one prompt: its KV state is reused


def test_a_failing_later_sample_keeps_the_ones_drawn() -> None:
    from conceptwright.llm.base import LLMError

    llm = ScriptedLLM([reply(1, tag="a"), LLMError("down")])
    res = run_job(ToyJob(), llm, target="toy", policy=StopPolicy(samples=4, max_repairs=0))
    assert res.conceptual["tag"] == "a" and res.search.drawn == 1


def test_choose_says_why() -> None:
    ok = Outcome(artefacts={"a": "x"})
    bad = Outcome(artefacts={"a": "x"}, diagnostics=[Diagnostic(code="c", message="m")])
    assert choose([bad, ok, ok], [0.0, 0.5, 0.9]) == (2, "valid, agreement 0.90, the earliest of the best")
    assert choose([ok], [0.0]) == (0, "the only sample")


def test_strategy_suffix_and_bad_sample_counts() -> None:
    assert split_strategy("conceptual@4") == ("conceptual", 4)
    assert split_strategy("direct", 2) == ("direct", 2)
    for bad in ("conceptual@x", "conceptual@0", "conceptual@65"):
        with pytest.raises(InputError, match="samples|whole number"):
            split_strategy(bad)


def test_generate_cli_and_batch_take_samples(script, tmp_path, capsys, metamodels) -> None:
    from conceptwright import cli
    from conceptwright.agent.batch import JobSpec

    from .test_cli import GOOD

    fam = metamodels / "library.ecore"
    llm = script(["{}", GOOD])
    out = tmp_path / "f.xmi"
    code = cli.main(["generate", "xmi", "--metamodel", str(fam), "--spec", "The City library has the writer Ann.", "--out", str(out),
                     "--samples", "2", "--max-repairs", "0"])
    assert code == 0 and out.is_file() and len(llm.calls) == 2
    assert [c["temperature"] for c in llm.calls] == [0.0, 0.7]
    assert cli.main(["generate", "xmi", "--metamodel", str(fam), "--spec", "x", "--out", str(out), "--samples", "0"]) == 1
    assert "samples must be between 1 and 64" in capsys.readouterr().err
    assert JobSpec.model_validate({"id": "a", "target": "xmi", "spec": "s", "samples": 4}).samples == 4


class Counting:
    """A stand-in for llama-cpp-python's Llama: a KV state that keeps the longest common prefix."""

    def __init__(self) -> None:
        self._input_ids: list[int] = []
        self.decoded = 0  # prompt tokens actually decoded
        self.resets = 0
        self.seeds: list[int] = []

    def reset(self) -> None:
        self.resets += 1
        self._input_ids = []

    def set_seed(self, seed: int) -> None:
        self.seeds.append(seed)

    def create_chat_completion(self, messages: list[dict[str, str]], **kw: Any) -> dict[str, Any]:
        prompt = [ord(c) for c in "".join(m["content"] for m in messages)]
        keep = 0
        for a, b in zip(self._input_ids, prompt):
            if a != b:
                break
            keep += 1
        keep = min(keep, len(prompt) - 1)
        self.decoded += len(prompt) - keep
        reply = f"sample-{kw['seed']}"
        self._input_ids = prompt + [ord(c) for c in reply]
        return {"choices": [{"message": {"content": reply}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": len(prompt), "completion_tokens": len(reply)}}


def test_n_samples_of_one_prompt_reuse_its_kv_state_in_the_worker() -> None:
    from conceptwright.llm.llama_worker import _complete

    llama = Counting()
    messages = [{"role": "user", "content": "x" * 200}]
    replies = [_complete(llama, {"messages": messages, "seed": 1000 + i, "prefix_cache": True, "temperature": 0.7}, {})
               for i in range(4)]
    assert llama.resets == 0 and llama.seeds == [1000, 1001, 1002, 1003]
    assert [r["cache"]["reused_tokens"] for r in replies] == [0, 200, 200, 200]  # the whole prompt is found in the KV state
    assert llama.decoded == 200 + 3  # the prompt once, then only its last token per sample
    off = Counting()
    _complete(off, {"messages": messages, "seed": 1, "prefix_cache": False}, {})
    again = _complete(off, {"messages": messages, "seed": 2, "prefix_cache": False}, {})
    assert off.resets == 2 and again["cache"]["reused_tokens"] == 0 and off.decoded == 400


def test_the_search_eval_writes_the_n_curve_with_the_scripted_reference(tmp_path) -> None:
    """`python -m evals search` end to end on the sim suite's own answerer (no LLM): one case, N = 1, 2."""
    from evals.__main__ import main

    out = tmp_path / "search.md"
    code = main(["search", "--target", "sim", "--model", "reference", "--n", "1,2", "--only", "sd-constant-inflow",
                 "--out", str(out), "--results", str(tmp_path / "run"), "--max-repairs", "0", "--no-progress"])
    text = out.read_text()
    assert code == 0 and "| 1 | 1 | 1.00 | 1.00 |" in text and "| 2 | 1 | 1.00 | 1.00 |" in text
    assert "Knee: **N = 1**" in text and out.with_suffix(".png").is_file()
    rows = [json.loads(x) for x in (tmp_path / "run" / "results.jsonl").read_text().splitlines()]
    assert sorted((r["strategy"], r["samples"]) for r in rows) == [("conceptual@1", 1), ("conceptual@2", 2)]


def test_knee_is_the_smallest_n_with_most_of_the_gain() -> None:
    from evals.search import knee

    pts = [{"n": 1, "quality": 0.2}, {"n": 2, "quality": 0.5}, {"n": 4, "quality": 0.58}, {"n": 8, "quality": 0.6}]
    assert knee(pts) == 4
    assert knee([{"n": 1, "quality": 0.5}, {"n": 2, "quality": 0.5}]) == 1


def test_eval_runs_sample_counts_side_by_side_and_refuses_bad_ones(tmp_path, capsys) -> None:
    from conceptwright import cli

    out = tmp_path / "ev"
    code = cli.main(["eval", "--target", "sim", "--model", "reference", "--samples", "1,2", "--only",
                     "ode-exponential-decay", "--out", str(out), "--max-repairs", "0", "--no-progress"])
    assert code == 0
    rows = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert sorted(r["strategy"] for r in rows) == ["conceptual@1", "conceptual@2"] and all(r["ok"] for r in rows)
    status = json.loads(next((out / "batch" / "jobs").glob("*conceptual-2*/status.json")).read_text())
    assert status["search"]["chosen"] == 0 and len(status["search"]["samples"]) == 2
    assert cli.main(["eval", "--target", "sim", "--model", "reference", "--samples", "1,x", "--out", str(out)]) == 1
    assert "--samples takes whole numbers" in capsys.readouterr().err


def test_a_job_with_alternative_examples_gives_later_samples_their_own_prompt() -> None:
    class Rotating(ToyJob):
        def sample_messages(self, i: int) -> list[Message]:
            return [Message(role="system", content=f"toy, example {i}"), Message(role="user", content="write a toy")]

    llm = ScriptedLLM([reply(1, tag="a"), reply(0, tag="b")])
    res = run_job(Rotating(), llm, target="toy", policy=StopPolicy(samples=2))
    assert [c["messages"][0].content for c in llm.calls] == ["toy", "toy, example 1"]
    assert res.conceptual["tag"] == "b" and res.trace[0].messages[0]["content"] == "toy, example 1"


def test_a_valid_sample_that_drops_content_does_not_beat_one_that_keeps_it() -> None:
    from conceptwright.agent.search import choose

    full_invalid = Outcome(artefacts={"x": "1"}, diagnostics=[Diagnostic(code="required", message="m")])
    thin_valid = Outcome(artefacts={"x": "1"})
    assert choose([thin_valid, full_invalid], [0.2, 0.9])[0] == 1  # content first: the thin valid one does not compete
    assert choose([thin_valid, full_invalid], [0.85, 0.9])[0] == 0  # within the slack: validity decides
