"""``conceptwright serve``: the web chat, built with Gradio.

Chat on the left; on the right the current artefact (the part in an interactive 3D view, the
object diagram of the instance model, the plot of the simulation), a download list of every
artefact and the trace, and what the last turn changed. Target and model pickers, a metamodel
upload for xmi, progress streamed while the agent works. The session id lives in the browser's
local storage, so a page reload resumes the conversation from disk. Errors (a bad upload, a
failing model) are shown in the chat; the server keeps running.
"""
from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # offline by default

from ..agent import Hooks, InputError  # noqa: E402
from ..agent.session import Session, Turn, default_store  # noqa: E402
from ..api import open_session  # noqa: E402
from ..llm import DEFAULT_MODEL, LLMError, resolve  # noqa: E402
from ..targets import available  # noqa: E402
from .terminal import describe  # noqa: E402

TARGETS = ("xmi", "cad", "sim")


def _model_choices(default: str) -> list[str]:
    """The models to pick from: the default, the embedded one, GGUF files in the model cache."""
    found = [default, "smollm2"]
    cache = Path.home() / ".cache/conceptwright/models"
    if cache.is_dir():
        found += [f"gguf:{p}" for p in sorted(cache.glob("*.gguf"))]
    return list(dict.fromkeys(found))


def _history(session: Session | None) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for t in session.turns if session else []:
        out += [{"role": "user", "content": t.message}, {"role": "assistant", "content": _reply(t, session.target.name)}]
    return out


def _reply(turn: Turn, target: str) -> str:
    text = describe(turn, target)
    head, _, rest = text.partition("\n")
    return f"**{head}**\n```\n{rest}\n```" if rest else f"**{head}**"


def _panes(session: Session | None) -> tuple[Any, str, Any, list[str], str]:
    """(3D model file, diagram HTML, plot file, files to download, what changed) of the latest artefacts."""
    turn = next((t for t in reversed(session.turns) if t.files), None) if session else None
    if turn is None:
        return None, "", None, [], ""
    files = turn.files
    picture = next((files[k] for k in ("diagram", "svg") if files.get(k, "").endswith(".svg")), None)
    svg = _inline_svg(Path(picture).read_text(encoding="utf-8")) if picture else ""
    model3d = files.get("stl")
    plot = files.get("plot")
    trace = Path(files[next(iter(files))]).parent / "trace.jsonl"
    downloads = [*files.values(), *([str(trace)] if trace.is_file() else [])]
    changed = "\n".join(f"- {c}" for c in turn.changes)
    return model3d, f'<div id="cw-diagram">{svg}</div>' if svg else "", plot, downloads, changed


def _inline_svg(text: str) -> str:
    """An SVG file's text without the XML declaration and doctype, to sit inside the page."""
    start = text.find("<svg")
    return text[start:] if start >= 0 else ""


def build_app(*, model: str = DEFAULT_MODEL, store: str | Path | None = None,
              llm_factory: Callable[[str], Any] = resolve) -> Any:
    """The Gradio app. ``llm_factory`` turns a model name into a backend (tests pass a scripted one)."""
    import gradio as gr

    store = Path(store or default_store())
    store.mkdir(parents=True, exist_ok=True)
    sessions: dict[str, Session] = {}
    lock = threading.Lock()

    def get(sid: str | None) -> Session | None:
        if not sid:
            return None
        with lock:
            if sid not in sessions:
                try:
                    data = Session.load(sid, store)
                    sessions[sid] = Session(_target(data.target), llm_factory(data.model or model), options=dict(data.options),
                                            store=store, data=data)
                except (InputError, LLMError):
                    return None
            return sessions[sid]

    def _target(name: str) -> Any:
        from ..targets import get_target

        return get_target(name)

    def on_load(sid: str | None):
        s = get(sid)
        m3d, diagram, plot, files, changed = _panes(s)
        target = s.target.name if s else "xmi"
        return (_history(s), sid if s else "", m3d, diagram, plot, files, changed, target,
                gr.update(visible=target == "xmi"))

    def send(message: str, chat: list[dict[str, str]], sid: str | None, target: str, model_name: str,
             metamodel: Any) -> Iterator[tuple]:
        chat = list(chat or [])
        message = (message or "").strip()
        s = get(sid)

        def out(status: str = "") -> tuple:  # the panes follow in a separate step (show): a 3D view
            return ("", chat, s.id if s else "", status)  # updated by a streaming event never draws

        if not message:
            yield out("write a message first")
            return
        chat.append({"role": "user", "content": message})
        try:
            if s is None or s.target.name != target:
                options: dict[str, Any] = {}
                if target == "xmi":
                    path = getattr(metamodel, "name", metamodel)
                    if not path:
                        raise InputError("upload a metamodel (.ecore) for the xmi target first")
                    from ..compilers.xmi.metamodel import Metamodel

                    Metamodel(path)  # a bad upload is an error in the chat, not a broken session
                    options["metamodel"] = path
                s = open_session(target, model=llm_factory(model_name), store=store, **options)
                s.data.model = model_name
                s.save()
                with lock:
                    sessions[s.id] = s
            elif model_name and model_name != s.data.model:
                s.llm, s.data.model = llm_factory(model_name), model_name
        except (InputError, LLMError, ValueError, OSError) as exc:
            chat.append({"role": "assistant", "content": f"error: {exc}"})
            yield out()
            return
        progress: queue.Queue[str] = queue.Queue()
        hooks = Hooks()
        hooks.on("attempt_started", lambda e: progress.put(f"attempt {e.attempt + 1}: {e.data.get('how', 'first')} ..."))
        hooks.on("diagnostics", lambda e: progress.put("valid" if e.data.get("ok") else f"{e.data.get('errors', 0)} problem(s)"))
        done: dict[str, Any] = {}

        def work() -> None:
            try:
                done["turn"] = s.send(message, hooks=hooks)
            except Exception as exc:  # noqa: BLE001 - shown in the chat; the server goes on
                done["error"] = exc

        chat.append({"role": "assistant", "content": "working ..."})
        worker = threading.Thread(target=work, daemon=True)
        worker.start()
        lines: list[str] = []
        while worker.is_alive() or not progress.empty():
            try:
                lines.append(progress.get(timeout=0.25))
            except queue.Empty:
                continue
            chat[-1] = {"role": "assistant", "content": "working ...\n" + "\n".join(lines[-6:])}
            yield out(lines[-1])
        worker.join()
        if "error" in done:
            exc = done["error"]
            chat[-1] = {"role": "assistant", "content": f"error: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"}
        else:
            chat[-1] = {"role": "assistant", "content": _reply(done["turn"], s.target.name)}
        yield out("")

    def show(sid: str | None):
        return _panes(get(sid))

    def undo(sid: str | None):
        s = get(sid)
        if s is not None:
            s.undo()
        return (_history(s), *(_panes(s)))

    def new_session():
        return [], "", None, "", None, [], "", ""

    with gr.Blocks(title="conceptwright") as demo:
        sid = gr.BrowserState("", storage_key="conceptwright-session")
        gr.Markdown("## conceptwright: describe a model, then change it by instruction")
        with gr.Row():
            target = gr.Dropdown(list(TARGETS), value="xmi", label="target", elem_id="cw-target")
            model_pick = gr.Dropdown(_model_choices(model), value=model, label="model", allow_custom_value=True,
                                     elem_id="cw-model")
            metamodel = gr.File(label="metamodel (.ecore)", file_types=[".ecore"], elem_id="cw-metamodel")
        with gr.Row():
            with gr.Column(scale=1):
                chat = gr.Chatbot(label="chat", height=460, elem_id="cw-chat")
                box = gr.Textbox(placeholder="describe the model, or what to change", label="message", elem_id="cw-message")
                with gr.Row():
                    send_btn = gr.Button("send", variant="primary", elem_id="cw-send")
                    undo_btn = gr.Button("undo", elem_id="cw-undo")
                    new_btn = gr.Button("new session", elem_id="cw-new")
                status = gr.Markdown("", elem_id="cw-status")
            with gr.Column(scale=1):
                part = gr.Model3D(label="part (3D)", elem_id="cw-part", height=320)
                diagram = gr.HTML("", label="diagram / drawing", elem_id="cw-diagram-pane")
                plot = gr.Image(label="simulation plot", type="filepath", elem_id="cw-plot", interactive=False)
                changed = gr.Markdown("", elem_id="cw-changes")
                files = gr.File(label="artefacts", file_count="multiple", interactive=False, elem_id="cw-files")
        outputs = [box, chat, sid, status]
        inputs = [box, chat, sid, target, model_pick, metamodel]
        panes = [part, diagram, plot, files, changed]
        send_btn.click(send, inputs, outputs, api_name="send").then(show, [sid], panes)
        box.submit(send, inputs, outputs).then(show, [sid], panes)
        gr.api(show, api_name="show")
        undo_btn.click(undo, [sid], [chat, part, diagram, plot, files, changed], api_name="undo")
        new_btn.click(new_session, None, [chat, sid, part, diagram, plot, files, changed, status])
        target.change(lambda t: gr.update(visible=t == "xmi"), target, metamodel)
        demo.load(on_load, [sid], [chat, sid, part, diagram, plot, files, changed, target, metamodel])
    demo.queue(default_concurrency_limit=1)  # one model at a time on a small machine
    return demo


def serve(*, host: str = "127.0.0.1", port: int = 7860, model: str = DEFAULT_MODEL) -> int:
    """Run the web chat until interrupted."""
    if "xmi" not in available():
        raise InputError("the xmi target is not installed")
    store = default_store()
    demo = build_app(model=model, store=store)
    print(f"conceptwright web chat on http://{host}:{port} (model {model}); Ctrl+C stops it", flush=True)
    demo.launch(server_name=host, server_port=port, allowed_paths=[str(store)], quiet=True,
                show_error=True)
    return 0
