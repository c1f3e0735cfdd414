"""The study server against a careless or hostile client, over real HTTP: each test is one of the probe's findings."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from study_server import Server, free_port, links, make_study
from test_study import REASON, answer_rows, tasks_of

from persona.experiments.agreement import load_annotations
from persona.study import export_study
from persona.study.app import HEADERS


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    study = make_study(tmp_path_factory.mktemp("hardening"), n_personas=3)  # six links, one per test that answers
    with Server(study) as server:
        yield server


def _client(server: Server) -> httpx.Client:
    return httpx.Client(base_url=server.base, follow_redirects=False, timeout=30)


def _started(server: Server, index: int) -> tuple[httpx.Client, str, str]:
    link = links(server.study)[index]
    client = _client(server)
    if not client.get(link["path"]).text.count("Question"):
        client.post(link["path"] + "/start")
    return client, link["path"], link["annotator"]


def _answers(study: Path, label: str) -> list[sqlite3.Row]:
    ids = {t["assignment_id"] for t in tasks_of(study, label)}
    return [row for row in answer_rows(study) if row["assignment_id"] in ids]


def test_a_path_position_that_is_not_a_short_ascii_number_is_404_with_every_security_header(served):
    client, path, _ = _started(served, 0)
    for position in ("%C2%B2", "%E2%91%A0", "9" * 5000, "-1", "1.0"):
        response = client.get(f"{path}/q/{position}")
        assert response.status_code == 404, position
        assert all(response.headers.get(name) == value for name, value in HEADERS.items()), position


def test_a_server_error_page_carries_the_security_headers(tmp_path, monkeypatch):
    from starlette.testclient import TestClient

    from persona.study.app import make_app
    from persona.study.store import Store

    study = make_study(tmp_path)
    monkeypatch.setattr(Store, "assignment", lambda self, token: 1 / 0)
    response = TestClient(make_app(study), raise_server_exceptions=False).get(links(study)[0]["path"])
    assert response.status_code == 500
    assert all(response.headers.get(name) == value for name, value in HEADERS.items())


def test_head_never_changes_state(served):
    study = served.study
    client, path, label = _started(served, 1)
    head = client.head(f"{path}/q/1")
    assert head.status_code == 200 and head.text == ""
    with sqlite3.connect(study / "study.db") as db:
        stamped = db.execute("SELECT COUNT(*) FROM tasks WHERE first_shown_at IS NOT NULL").fetchone()[0]
    assert stamped == 0 or all(t["first_shown_at"] is None for t in tasks_of(study, label))  # HEAD shows nothing
    client.request("HEAD", f"{path}/q/1", content=f"choice=A&justification={REASON}".encode())
    assert _answers(study, label) == []  # a HEAD with a form body saves nothing
    for task in tasks_of(study, label):
        client.post(f"{path}/q/{task['position']}", data={"choice": "A", "justification": REASON})
    assert client.head(f"{path}/review").status_code == 200
    with sqlite3.connect(study / "study.db") as db:
        submitted = db.execute("SELECT submitted_at FROM assignments WHERE label = ?", (label,)).fetchone()[0]
    assert submitted is None  # a link checker's HEAD on the review page submits nothing


def test_the_admin_page_shows_status_by_label_and_no_link_token(served):
    study = served.study
    from persona.study.store import Store

    admin = _client(served).get(f"/admin/{Store(study).meta('admin_token')}")
    assert admin.status_code == 200
    for link in links(study):
        assert link["annotator"] in admin.text
        assert link["path"].rsplit("/", 1)[-1] not in admin.text


def test_zero_width_or_blank_characters_are_not_a_justification(served):
    client, path, label = _started(served, 2)
    for padding in ("\u200b" * 25, "\u00a0" * 25, "\u200b \u2028 \t" * 8, "a\u200b" * 19):
        response = client.post(f"{path}/q/1", data={"choice": "A", "justification": padding})
        assert response.status_code == 422 and "at least 20 characters" in response.text
    assert _answers(served.study, label) == []


def test_a_form_from_another_site_is_refused_and_one_from_this_site_kept(served):
    client, path, label = _started(served, 3)
    form = {"choice": "A", "justification": REASON}
    for header in ({"Origin": "https://evil.example"}, {"Referer": "https://evil.example/page"}, {"Origin": "null"}):
        response = client.post(f"{path}/q/1", data=form, headers=header)
        assert response.status_code == 403 and response.headers["x-frame-options"] == "DENY"
    assert _answers(served.study, label) == []
    assert client.post(f"{path}/q/1", data=form, headers={"Origin": served.base}).status_code == 303
    assert len(_answers(served.study, label)) == 1


def test_a_raw_utf8_form_body_is_stored_as_typed(served):
    client, path, label = _started(served, 4)
    body = "choice=A&justification=héllo, this person values their café and community".encode()
    headers = {"content-type": "application/x-www-form-urlencoded"}
    assert client.post(f"{path}/q/1", content=body, headers=headers).status_code == 303
    assert _answers(served.study, label)[0]["justification"].startswith("héllo")
    bad = client.post(f"{path}/q/2", content=b"choice=A&justification=\xff\xfe" + b"x" * 30, headers=headers)
    assert bad.status_code == 400 and len(_answers(served.study, label)) == 1


def test_exports_are_owner_only_and_formulas_are_neutralised_in_csv_but_kept_in_jsonl(tmp_path):
    from starlette.testclient import TestClient

    from persona.study.app import make_app

    study = make_study(tmp_path, annotators=1, majority=1)
    client = TestClient(make_app(study), follow_redirects=False)
    link = links(study)[0]
    client.post(link["path"] + "/start")
    formula = '=HYPERLINK("http://evil.example","click") because this person would'
    for task in tasks_of(study, link["annotator"]):
        shown = ("B" if task["swapped"] else "A") if task["attention"] else "A"
        client.post(f"{link['path']}/q/{task['position']}", data={"choice": shown, "justification": formula})
    client.post(link["path"] + "/review")
    out = export_study(study).folder
    for name in os.listdir(out):
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o600, name
    csv_text = (out / "annotations.csv").read_text()
    assert "'=HYPERLINK" in csv_text and '",=HYPERLINK' not in csv_text and "\n=HYPERLINK" not in csv_text
    rows = [json.loads(line) for line in (out / "annotations.jsonl").read_text().splitlines()]
    assert rows and all(row["justification"] == formula for row in rows)
    assert len(load_annotations([out / "annotations.csv"])) == len(rows)  # agreement compute reads the export
    assert len(load_annotations([out / "annotations.jsonl"])) == len(rows)


def test_half_sent_requests_and_slow_bodies_are_cut_off(served):
    from persona.study.app import BODY_TIMEOUT
    from persona.study.limits import HEADER_TIMEOUT

    host, port = "127.0.0.1", served.port
    _, path, _ = _started(served, 5)  # a real question, so its handler reads the body
    head = socket.create_connection((host, port))
    head.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # never finishes its headers
    body = socket.create_connection((host, port))
    request = f"POST {path}/q/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nchoice=A"
    body.sendall(request.encode())
    started = time.monotonic()
    results: dict[str, bytes] = {}

    def read(name: str, sock: socket.socket) -> None:
        sock.settimeout(HEADER_TIMEOUT + BODY_TIMEOUT + 10)
        results[name] = sock.recv(4096)

    readers = [threading.Thread(target=read, args=pair) for pair in (("head", head), ("body", body))]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join()
    assert results["head"] == b""  # closed, with nothing to say to a request that never came
    assert results["body"].startswith(b"HTTP/1.1 408")
    assert time.monotonic() - started < max(HEADER_TIMEOUT, BODY_TIMEOUT) + 5


def test_one_remote_client_cannot_hold_every_connection_but_this_machine_can():
    """The protocol itself, on transports standing in for remote and local clients (a test's traffic is local)."""
    import asyncio

    from uvicorn.config import Config
    from uvicorn.server import ServerState

    from persona.study.limits import PER_CLIENT, BoundedH11Protocol

    class Transport(asyncio.Transport):
        def __init__(self, address: str) -> None:
            super().__init__()
            self.address, self.closed = address, False

        def get_extra_info(self, name: str, default: object = None) -> object:
            return {"peername": (self.address, 50000), "sockname": ("127.0.0.1", 8765)}.get(name, default)

        def close(self) -> None:
            self.closed = True

        def is_closing(self) -> bool:
            return self.closed

        def write(self, data: bytes) -> None:
            pass

    async def connect(address: str, count: int) -> list[tuple[BoundedH11Protocol, Transport]]:
        config = Config(app=lambda scope, receive, send: None, http=BoundedH11Protocol)
        config.load()
        state, opened = ServerState(), []
        for _ in range(count):
            protocol, transport = BoundedH11Protocol(config, state, {}), Transport(address)
            protocol.connection_made(transport)
            opened.append((protocol, transport))
        return opened

    async def scenario() -> None:
        remote = await connect("203.0.113.9", PER_CLIENT + 5)
        assert sum(t.closed for _, t in remote) == 5  # beyond the cap: closed at once
        other = await connect("198.51.100.7", 3)
        assert not any(t.closed for _, t in other)  # the cap is per client
        remote[0][0].connection_lost(None)
        again = await connect("203.0.113.9", 1)
        assert not again[0][1].closed  # a closed connection frees its place
        local = await connect("127.0.0.1", PER_CLIENT + 5)
        assert not any(t.closed for _, t in local)  # a local proxy (or the tests) is not capped
        for protocol, transport in [*remote, *other, *again, *local]:
            if not transport.closed:
                protocol.connection_lost(None)
        assert not BoundedH11Protocol.open_per_client

    asyncio.run(scenario())


def test_a_second_server_on_a_busy_port_fails_before_printing_the_admin_link(served):
    command = [sys.executable, "-m", "persona", "annotate", "serve", str(served.study), "--port", str(served.port)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "pick another --port" in done.stdout + done.stderr
    assert "admin page" not in done.stdout + done.stderr
    port = free_port()
    assert port != served.port


def test_prolific_checks_the_study_binds_a_place_to_its_session_and_returns_unanswered_places(tmp_path):
    study = make_study(tmp_path, entry="prolific", prolific_study_id="STUDY42")  # 4 places
    with Server(study, options=("--place-timeout", "1")) as server:
        client = _client(server)

        def enter(pid: str, session: str | None = "S1", study_id: str | None = "STUDY42") -> httpx.Response:
            query = {"PROLIFIC_PID": pid} | ({"SESSION_ID": session} if session else {})
            return client.get("/start", params=query | ({"STUDY_ID": study_id} if study_id else {}))

        assert enter("p1", study_id="OTHER").status_code == 403 and enter("p1", study_id=None).status_code == 403
        first = enter("p1", "S1")
        assert first.status_code == 303
        assert enter("p1", "S1").headers["location"] == first.headers["location"]  # the same place, again
        assert enter("p1", "S2").status_code == 403  # knowing someone's id is not enough
        assert enter("p1", None).status_code == 403
        # p1 answers one question: that place is never handed back
        path = first.headers["location"]
        client.post(path + "/start")
        client.post(path + "/q/1", data={"choice": "A", "justification": REASON})
        made_up = [enter(f"fake{n}", f"F{n}") for n in range(3)]
        assert all(r.status_code == 303 for r in made_up) and enter("late", "L1").status_code == 410  # full
        time.sleep(1.5)  # the made-up places were taken, never answered, and are now stale
        real = enter("real", "R1")
        assert real.status_code == 303 and real.headers["location"] in {r.headers["location"] for r in made_up}
        assert real.headers["location"] != path
        with sqlite3.connect(study / "study.db") as db:
            rows = db.execute("SELECT prolific_pid, prolific_session, prolific_study FROM assignments").fetchall()
        assert ("p1", "S1", "STUDY42") in rows and ("real", "R1", "STUDY42") in rows
    annotators = (export_study(study, include_unsubmitted=True).folder / "annotators.csv").read_text()
    assert "prolific_session" in annotators.splitlines()[0] and "S1" in annotators


def test_a_study_made_before_the_prolific_columns_opens_and_gains_them(tmp_path):
    from persona.study.store import Store

    study = make_study(tmp_path)
    with sqlite3.connect(study / "study.db") as db:
        db.execute("ALTER TABLE assignments DROP COLUMN prolific_session")
        db.execute("ALTER TABLE assignments DROP COLUMN prolific_study")
    rows = Store(study).assignments()
    assert rows and all("prolific_session" in row and row["prolific_study"] is None for row in rows)
