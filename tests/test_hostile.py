"""Hostile inputs (issue 17): every kind is one clear line through the CLI (exit 1), in bounded
time and memory, reading no other file and nothing from the network.

The CLI runs in a subprocess with ``--model openai:trap`` pointed at a local HTTP server that
counts requests: the metamodel or spec is refused before any LLM call, so the server must see
no request at all, neither from the LLM backend nor from an XML parser fetching a DTD/URL.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conceptwright.compilers.xmi.metamodel import Metamodel
from conceptwright.core.errors import InputError
from conceptwright.tools.xmi.validate import validate_xmi

ROOT = Path(__file__).resolve().parents[1]
SECRET = "TOP-SECRET-7f3a91"
TIMEOUT = 60  # generous: each of these is refused in well under a second after start-up
XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<ecore:EPackage xmi:version="2.0" xmlns:xmi="http://www.omg.org/XMI" '
        f'{XSI} xmlns:ecore="http://www.eclipse.org/emf/2002/Ecore" name="p" nsURI="http://p" nsPrefix="p">\n')
TAIL = "</ecore:EPackage>\n"
STR = 'eType="ecore:EDataType http://www.eclipse.org/emf/2002/Ecore#//EString"'


def _class(name: str, body: str = "", extra: str = "") -> str:
    return f'  <eClassifiers xsi:type="ecore:EClass" name="{name}"{extra}>{body}</eClassifiers>\n'


def _attr(name: str) -> str:
    return f'<eStructuralFeatures xsi:type="ecore:EAttribute" name="{name}" {STR}/>'


GOOD = HEAD + _class("Root", _attr("name")) + TAIL


@pytest.fixture(scope="module")
def trap():
    """An HTTP server on 127.0.0.1 that records every request it gets."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            """Quiet."""

        def _any(self) -> None:
            hits.append(f"{self.command} {self.path}")
            body = f'<!ENTITY x "{SECRET}">'.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _any  # noqa: N815

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()


@pytest.fixture(scope="module")
def secret(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("secret") / "passwd"
    p.write_text(f"root:x:0:0:{SECRET}:/root:/bin/sh\n")
    return p


SUBPROCESS = {"xxe-file", "xxe-http", "billion-laughs", "100MB", "10000-deep", "spec-100MB"}


def _cli(trap, tmp: Path, *args: str, subprocess_run: bool = False) -> subprocess.CompletedProcess:
    """The CLI in a subprocess (the real entry point; its timeout bounds time and memory), or,
    for the other kinds (the machine is shared: a start-up costs seconds), ``cli.main`` in-process."""
    url, _ = trap
    argv = ["generate", "xmi", *args, "--out", str(tmp / "o.xmi"), "--model", "openai:trap", "--max-repairs", "0"]
    env = {"OPENAI_BASE_URL": f"{url}/v1", "OPENAI_API_KEY": "x", "no_proxy": "*"}
    if subprocess_run:
        return subprocess.run([sys.executable, "-m", "conceptwright", *argv], capture_output=True, text=True,
                              timeout=TIMEOUT, cwd=ROOT, env={**os.environ, **env})
    import contextlib
    import io
    import time

    from conceptwright import cli

    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    out, err = io.StringIO(), io.StringIO()
    start = time.monotonic()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(argv)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    assert time.monotonic() - start < TIMEOUT
    return subprocess.CompletedProcess(argv, code, out.getvalue(), err.getvalue())


def _assert_refused(proc: subprocess.CompletedProcess, tmp: Path, trap, *needles: str) -> None:
    _, hits = trap
    err = proc.stderr.strip()
    assert proc.returncode == 1, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr and len(err.splitlines()) == 1, err
    for needle in needles:
        assert needle in err, err
    assert SECRET not in proc.stdout + proc.stderr
    for f in tmp.rglob("*"):
        if f.is_file() and f.suffix != ".ecore" and f.name != "passwd":
            assert SECRET.encode() not in f.read_bytes()
    assert not (tmp / "o.xmi").exists()
    assert hits == [], hits


def _bad_metamodel(tmp: Path, data: bytes | str, name: str = "bad.ecore") -> Path:
    p = tmp / name
    p.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return p


def _doctype(decl: str) -> str:
    return HEAD.replace("<ecore:EPackage", f"<!DOCTYPE ecore:EPackage [{decl}]>\n<ecore:EPackage", 1)


# -- hostile metamodels, through the CLI ---------------------------------------------------------
def _xxe_file(tmp, url, secret):
    return _doctype(f'<!ENTITY xxe SYSTEM "file://{secret}">') + _class("Root", _attr("name"), ' instanceClassName="&xxe;"') + TAIL


def _xxe_http(tmp, url, secret):
    return _doctype(f'<!ENTITY xxe SYSTEM "{url}/evil.dtd">') + _class("Root", _attr("name"), ' instanceClassName="&xxe;"') + TAIL


def _external_dtd(tmp, url, secret):
    return HEAD.replace("<ecore:EPackage", f'<!DOCTYPE ecore:EPackage SYSTEM "{url}/evil.dtd">\n<ecore:EPackage', 1) + _class("Root") + TAIL


def _billion_laughs(tmp, url, secret):
    ents = '<!ENTITY lol "lol">' + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">' for i in range(1, 10))
    return _doctype(ents) + _class("Root", _attr("name"), ' instanceClassName="&lol9;"') + TAIL


def _huge(tmp, url, secret):
    p = tmp / "bad.ecore"
    with p.open("wb") as fh:  # 100 MB, sparse: costs no disk and must cost no memory
        fh.write(GOOD.encode())
        fh.truncate(100 * 2**20)
    return p


def _deep(tmp, url, secret):
    return HEAD + _class("Root", "<eAnnotations>" * 10_000 + "</eAnnotations>" * 10_000) + TAIL


def _wrong_encoding(tmp, url, secret):
    return (HEAD + _class("Caf\xe9") + TAIL).encode("latin-1")  # declared UTF-8


def _mixed_encoding(tmp, url, secret):
    return (HEAD + _class("Caf\xe9")).encode("utf-8") + (_class("Na\xefve") + TAIL).encode("latin-1")


def _utf16_declared(tmp, url, secret):
    return GOOD.replace("UTF-8", "UTF-16").encode("utf-8")


def _nul(tmp, url, secret):
    return (HEAD + _class("Root") + TAIL).encode().replace(b'name="Root"', b'name="Ro\x00ot"')


def _cycle(tmp, url, secret):
    return HEAD + _class("A", extra=' eSuperTypes="#//C"') + _class("B", extra=' eSuperTypes="#//A"') + _class("C", extra=' eSuperTypes="#//B"') + TAIL


def _self_super(tmp, url, secret):
    return HEAD + _class("A", extra=' eSuperTypes="#//A"') + TAIL


def _dup_class(tmp, url, secret):
    return HEAD + _class("A", _attr("x")) + _class("A", _attr("y")) + TAIL


def _dup_feature(tmp, url, secret):
    return HEAD + _class("A", _attr("x") + _attr("x")) + TAIL


def _other_file(tmp, url, secret):
    (tmp / "other.ecore").write_text(HEAD + _class("X", _attr(SECRET)) + TAIL)
    return HEAD + _class("A", extra=' eSuperTypes="other.ecore#//X"') + TAIL


def _other_file_href(tmp, url, secret):
    return HEAD + _class("A", f'<eStructuralFeatures xsi:type="ecore:EReference" name="r"><eType href="file://{secret}#//X"/></eStructuralFeatures>') + TAIL


def _url_type(tmp, url, secret):
    return HEAD + _class("A", f'<eStructuralFeatures xsi:type="ecore:EAttribute" name="r" eType="ecore:EDataType {url}/types#//T"/>') + TAIL


def _url_super(tmp, url, secret):
    return HEAD + _class("A", extra=f' eSuperTypes="{url}/mm.ecore#//X"') + TAIL


def _not_xml(tmp, url, secret):
    return b"\x89PNG\r\n\x1a\n" + os.urandom(64).replace(b"\x00", b"\x01")


def _empty(tmp, url, secret):
    return b""


METAMODELS = {
    "xxe-file": (_xxe_file, "DOCTYPE"),
    "xxe-http": (_xxe_http, "DOCTYPE"),
    "external-dtd": (_external_dtd, "DOCTYPE"),
    "billion-laughs": (_billion_laughs, "DOCTYPE"),
    "100MB": (_huge, "larger than"),
    "10000-deep": (_deep, "nest"),
    "wrong-encoding": (_wrong_encoding, "encoding"),
    "mixed-encoding": (_mixed_encoding, "encoding"),
    "utf16-declared": (_utf16_declared, "UTF-16"),
    "nul-bytes": (_nul, "NUL"),
    "supertype-cycle": (_cycle, "supertype cycle"),
    "self-supertype": (_self_super, "supertype cycle A -> A"),
    "duplicate-class": (_dup_class, "two classifiers named 'A'"),
    "duplicate-feature": (_dup_feature, "two features named 'x'"),
    "other-ecore-file": (_other_file, "another file (other.ecore)"),
    "file-href": (_other_file_href, "refers to a URL"),
    "url-etype": (_url_type, "refers to a URL"),
    "url-supertype": (_url_super, "refers to a URL"),
    "binary": (_not_xml, "cannot read metamodel"),
    "empty": (_empty, "empty"),
}


@pytest.mark.parametrize("kind", list(METAMODELS))
def test_hostile_metamodel_one_line_exit_1(kind, trap, secret, tmp_path):
    make, needle = METAMODELS[kind]
    data = make(tmp_path, trap[0], secret)
    path = data if isinstance(data, Path) else _bad_metamodel(tmp_path, data)
    proc = _cli(trap, tmp_path, "--metamodel", str(path), "--spec", "a model", subprocess_run=kind in SUBPROCESS)
    _assert_refused(proc, tmp_path, trap, needle, str(path))


# -- hostile spec files, through the CLI ---------------------------------------------------------
SPECS = {
    "spec-100MB": (lambda p: (p.write_bytes(b"a"), os.truncate(p, 100 * 2**20)), "larger than"),
    "spec-nul": (lambda p: p.write_bytes(b"a library\x00\x01\x02"), "NUL"),
    "spec-latin1": (lambda p: p.write_bytes("caf\xe9 library".encode("latin-1")), "not UTF-8"),
    "spec-folder": (lambda p: p.mkdir(), "folder"),
}


@pytest.mark.parametrize("kind", list(SPECS))
def test_hostile_spec_file_one_line_exit_1(kind, trap, tmp_path):
    make, needle = SPECS[kind]
    mm = _bad_metamodel(tmp_path, GOOD, "good.ecore")
    spec = tmp_path / "spec.txt"
    make(spec)
    proc = _cli(trap, tmp_path, "--metamodel", str(mm), "--spec-file", str(spec), subprocess_run=kind in SUBPROCESS)
    _assert_refused(proc, tmp_path, trap, needle, "--spec-file")


# -- hostile XMI (what an LLM writes under the direct strategy, or a file read for scoring) ------
def _mm(tmp: Path) -> Metamodel:
    return Metamodel(_bad_metamodel(tmp, HEAD + _class("Root", _attr("name") + '<eStructuralFeatures xsi:type="ecore:EReference" '
                                    'name="next" eType="#//Root"/>') + TAIL, "good.ecore"))


def _xmi(body: str, doctype: str = "") -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n{doctype}<p:Root xmi:version="2.0" xmlns:xmi="http://www.omg.org/XMI" '
            f'xmlns:p="http://p" name="x"{body}/>')


XMIS = {
    "xmi-xxe-file": lambda url, s: _xmi(' name2="&x;"', f'<!DOCTYPE p:Root [<!ENTITY x SYSTEM "file://{s}">]>\n'),
    "xmi-xxe-http": lambda url, s: _xmi(' name2="&x;"', f'<!DOCTYPE p:Root [<!ENTITY x SYSTEM "{url}/e">]>\n'),
    "xmi-billion-laughs": lambda url, s: _billion_laughs(None, url, s).split("]>")[0].replace("ecore:EPackage", "p:Root") + "]>\n" + _xmi(' name3="&lol9;"').split("?>\n", 1)[1],
    "xmi-deep": lambda url, s: _xmi("").replace("/>", ">" + "<a>" * 10_000 + "</a>" * 10_000 + "</p:Root>"),
    "xmi-nul": lambda url, s: _xmi(' name4="a\x00b"'),
    "xmi-huge": lambda url, s: _xmi(' name5="' + "a" * (65 * 2**20) + '"'),
    "xmi-href-file": lambda url, s: _xmi(f' next="file://{s}#/"'),
    "xmi-href-url": lambda url, s: _xmi(f' next="{url}/m.xmi#/"'),
    "xmi-href-other": lambda url, s: _xmi(' next="other.xmi#/"'),
}


@pytest.mark.parametrize("kind", list(XMIS))
def test_hostile_xmi_is_an_error_diagnostic(kind, trap, secret, tmp_path):
    url, hits = trap
    mm = _mm(tmp_path)
    (tmp_path / "other.xmi").write_text(_xmi(f' name="{SECRET}"'))
    model, diags = validate_xmi(XMIS[kind](url, secret), mm)
    errs = [d for d in diags if d.severity == "error"]
    assert errs, diags
    assert all("\n" not in d.message for d in errs)
    assert SECRET not in repr(model) + repr(diags)
    assert hits == []


# -- positive: the ATL-zoo form without nsURI loads and saves ------------------------------------
def test_package_without_ns_uri_gets_one_with_a_warning(tmp_path):
    from conceptwright.compilers.xmi import to_xmi
    from conceptwright.compilers.xmi.model import InstanceModel
    from conceptwright.compilers.xmi.metamodel import MetamodelWarning

    path = _bad_metamodel(tmp_path, GOOD.replace(' nsURI="http://p" nsPrefix="p"', ""))
    with pytest.warns(MetamodelWarning, match="no nsURI"):
        mm = Metamodel(path)
    assert mm.top_packages[0].nsURI == "http://p" and mm.warnings
    xmi = to_xmi(InstanceModel.model_validate({"objects": [{"id": "r", "class": "Root", "attrs": {"name": "n"}}]}), mm)
    assert 'name="n"' in xmi
    _, diags = validate_xmi(xmi, mm)
    assert not [d for d in diags if d.severity == "error"], diags


def test_ecore_and_xmltype_references_by_path_are_supported(tmp_path):
    body = ('<eStructuralFeatures xsi:type="ecore:EAttribute" name="a" '
            'eType="ecore:EDataType platform:/plugin/org.eclipse.emf.ecore/model/Ecore.ecore#//EString"/>'
            '<eStructuralFeatures xsi:type="ecore:EAttribute" name="b" '
            'eType="ecore:EDataType http://www.eclipse.org/emf/2003/XMLType#//Int"/>'
            '<eStructuralFeatures xsi:type="ecore:EReference" name="c" eType="bad.ecore#//Root"/>')
    mm = Metamodel(_bad_metamodel(tmp_path, HEAD + _class("Root", body) + TAIL))
    feats = mm.classes["Root"].features
    assert feats["a"].kind == "string" and feats["b"].kind == "int" and feats["c"].type_name == "Root"


def test_in_process_errors_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="supertype cycle"):
        Metamodel(_bad_metamodel(tmp_path, _self_super(None, None, None)))
