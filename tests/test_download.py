"""The PUMS downloader against a local HTTP server that supports ranges and can cut, ignore ranges, 404 or send junk."""

from __future__ import annotations

import io
import random
import re
import socket
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from persona.data.download import STATE_CODES, DownloadError, download_file, download_pums, pums_urls

CUT_AFTER = 1000


def _fixture_zip(member: str, seed: int) -> bytes:
    """A small PUMS-like zip whose random rows keep it several KB even when deflated, so byte counts mean something."""
    rng = random.Random(seed)
    rows = ["SERIALNO,AGEP,PINCP"] + [
        f"{rng.getrandbits(40)},{rng.randint(0, 99)},{rng.randint(0, 10**6)}" for _ in range(300)
    ]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(member, "\n".join(rows) + "\n")
    return buffer.getvalue()


PERSON_ZIP = _fixture_zip("psam_p06.csv", seed=6)
HOUSING_ZIP = _fixture_zip("psam_h06.csv", seed=7)


@dataclass
class ServerState:
    """Switches the tests flip, and what the server saw."""

    files: dict[str, bytes]
    ignore_ranges: bool = False  # always answer 200 with the whole file
    cut_after: int | None = None  # send the full Content-Length but only this many bytes, then hang up (once)
    not_found: bool = False
    garbage: bool = False  # answer 200 with bytes that are not a zip
    paths: list[str] = field(default_factory=list)
    ranges: list[str | None] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)


class PumsHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state: ServerState  # set on a subclass per server

    def do_GET(self) -> None:
        state = self.state
        state.paths.append(self.path)
        state.ranges.append(self.headers.get("Range"))
        body = state.files.get(self.path.rsplit("/", 1)[-1])
        if state.not_found or body is None:
            self._reply(404, b"not found")
            return
        if state.garbage:
            body = b"<html>this is not a zip</html>" * 100
        start = 0
        match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
        if match and not state.ignore_ranges:
            start = int(match.group(1))
            if start >= len(body):
                self._reply(416, b"", {"Content-Range": f"bytes */{len(body)}"})
                return
        headers = {"Content-Range": f"bytes {start}-{len(body) - 1}/{len(body)}"} if match and start else {}
        self._reply(206 if headers else 200, body[start:], headers)

    def _reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.state.statuses.append(status)
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.state.cut_after is not None and status == 200:
            self.wfile.write(body[: self.state.cut_after])
            self.state.cut_after = None
            self.close_connection = True
            return
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass
class Server:
    url: str
    state: ServerState


@pytest.fixture
def server() -> Iterator[Server]:
    state = ServerState(files={"csv_pca.zip": PERSON_ZIP, "csv_hca.zip": HOUSING_ZIP})
    handler = type("Handler", (PumsHandler,), {"state": state})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield Server(f"http://127.0.0.1:{httpd.server_address[1]}", state)
    httpd.shutdown()
    httpd.server_close()


def _part(path: Path) -> Path:
    return path.with_name(path.name + ".part")


def test_pums_urls() -> None:
    base = "https://www2.census.gov/programs-surveys/acs/data/pums/2022/1-Year"
    assert pums_urls(2022, state="ca") == [f"{base}/csv_pca.zip", f"{base}/csv_hca.zip"]
    assert pums_urls(2022, state="CA") == pums_urls(2022, state="ca")
    assert pums_urls(2021, national=True, period="5-Year", base_url="http://x/pums/") == [
        "http://x/pums/2021/5-Year/csv_pus.zip",
        "http://x/pums/2021/5-Year/csv_hus.zip",
    ]
    assert len(STATE_CODES) == 52 and STATE_CODES["CA"] == "06" and STATE_CODES["PR"] == "72"
    with pytest.raises(DownloadError, match="unknown state") as error:
        pums_urls(2022, state="XX")
    assert "CA" in str(error.value) and "WY" in str(error.value)
    for year in (2004, "2022", 2022.0):
        with pytest.raises(DownloadError, match="2005"):
            pums_urls(year, state="CA")  # type: ignore[arg-type]
    with pytest.raises(DownloadError, match="exactly one"):
        pums_urls(2022)
    with pytest.raises(DownloadError, match="exactly one"):
        pums_urls(2022, state="CA", national=True)


def test_full_download(server: Server, tmp_path: Path) -> None:
    path = tmp_path / "csv_pca.zip"
    assert download_file(f"{server.url}/csv_pca.zip", path, progress=True) == path
    assert path.read_bytes() == PERSON_ZIP
    assert not _part(path).exists()
    assert server.state.ranges == [None]


def test_resume_after_cut(server: Server, tmp_path: Path) -> None:
    path = tmp_path / "csv_pca.zip"
    url = f"{server.url}/csv_pca.zip"
    server.state.cut_after = CUT_AFTER
    with pytest.raises(DownloadError) as error:
        download_file(url, path, progress=False)
    assert f"{CUT_AFTER} of {len(PERSON_ZIP)} bytes" in str(error.value) and url in str(error.value)
    assert _part(path).read_bytes() == PERSON_ZIP[:CUT_AFTER]
    assert not path.exists()

    download_file(url, path, progress=False)
    assert server.state.ranges[-1] == f"bytes={CUT_AFTER}-"
    assert server.state.statuses[-1] == 206
    assert path.read_bytes() == PERSON_ZIP
    assert not _part(path).exists()


def test_server_ignoring_ranges_restarts_the_part(server: Server, tmp_path: Path) -> None:
    path = tmp_path / "csv_pca.zip"
    _part(path).write_bytes(PERSON_ZIP[:CUT_AFTER])
    server.state.ignore_ranges = True
    download_file(f"{server.url}/csv_pca.zip", path, progress=False)
    assert server.state.ranges == [f"bytes={CUT_AFTER}-"] and server.state.statuses == [200]
    assert path.read_bytes() == PERSON_ZIP
    assert not _part(path).exists()


def test_part_already_complete_is_finished_on_416(server: Server, tmp_path: Path) -> None:
    path = tmp_path / "csv_pca.zip"
    _part(path).write_bytes(PERSON_ZIP)
    download_file(f"{server.url}/csv_pca.zip", path, progress=False)
    assert server.state.statuses == [416]
    assert path.read_bytes() == PERSON_ZIP


def test_part_longer_than_the_file_starts_over(server: Server, tmp_path: Path) -> None:
    path = tmp_path / "csv_pca.zip"
    _part(path).write_bytes(PERSON_ZIP + b"stale tail of an older release")
    download_file(f"{server.url}/csv_pca.zip", path, progress=False)
    assert server.state.statuses == [416, 200]
    assert server.state.ranges[1] is None
    assert path.read_bytes() == PERSON_ZIP


def test_already_downloaded_makes_no_request(server: Server, tmp_path: Path) -> None:
    path = tmp_path / "csv_pca.zip"
    url = f"{server.url}/csv_pca.zip"
    download_file(url, path, progress=False)
    assert len(server.state.paths) == 1
    download_file(url, path, progress=False)
    assert len(server.state.paths) == 1


def test_corrupt_existing_file_is_downloaded_again(server: Server, tmp_path: Path) -> None:
    path = tmp_path / "csv_pca.zip"
    path.write_bytes(PERSON_ZIP[:CUT_AFTER])
    download_file(f"{server.url}/csv_pca.zip", path, progress=False)
    assert len(server.state.paths) == 1
    assert path.read_bytes() == PERSON_ZIP


def test_not_a_zip(server: Server, tmp_path: Path) -> None:
    path = tmp_path / "csv_pca.zip"
    server.state.garbage = True
    with pytest.raises(DownloadError, match="not a valid zip"):
        download_file(f"{server.url}/csv_pca.zip", path, progress=False)
    assert not path.exists()
    assert not _part(path).exists()


def test_404_names_the_url(server: Server, tmp_path: Path) -> None:
    path = tmp_path / "csv_pca.zip"
    url = f"{server.url}/pums/2004/1-Year/csv_pca.zip"
    server.state.not_found = True
    with pytest.raises(DownloadError, match="no such file") as error:
        download_file(url, path, progress=False)
    assert url in str(error.value)
    assert not path.exists() and not _part(path).exists()


def test_offline_keeps_the_part_and_suggests_a_manual_download(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    path = tmp_path / "csv_pca.zip"
    _part(path).write_bytes(PERSON_ZIP[:CUT_AFTER])
    with pytest.raises(DownloadError, match="could not be reached") as error:
        download_file(f"http://127.0.0.1:{port}/csv_pca.zip", path, progress=False, timeout=2.0)
    assert f"--source pums:{tmp_path}" in str(error.value)
    assert not path.exists()
    assert _part(path).read_bytes() == PERSON_ZIP[:CUT_AFTER]


def test_download_pums_fetches_person_and_housing(server: Server, tmp_path: Path) -> None:
    dest = tmp_path / "pums" / "2022"
    paths = download_pums(2022, dest, state="ca", base_url=f"{server.url}/pums", progress=False)
    assert paths == [dest / "csv_pca.zip", dest / "csv_hca.zip"]
    assert [path.read_bytes() for path in paths] == [PERSON_ZIP, HOUSING_ZIP]
    assert server.state.paths == ["/pums/2022/1-Year/csv_pca.zip", "/pums/2022/1-Year/csv_hca.zip"]
