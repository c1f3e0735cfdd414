"""A study for tests and benchmarks, and its server as a real process (`persona annotate serve`) on a free port."""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from persona.study import StudyDesign, create_study


def questions_file(path: Path, count: int = 12) -> Path:
    """Preference questions in a LOO questions.jsonl's format: id, question, answer_a, answer_b."""
    rows = [
        {
            "id": f"q{i:02d}",
            "question": f"Question {i}: should a town spend its surplus on {topic}?",
            "answer_a": f"Yes: {topic} helps everyone in the long run (answer {i}a).",
            "answer_b": f"No: the money should go back to taxpayers (answer {i}b).",
        }
        for i, topic in enumerate(["parks", "libraries", "roads", "schools", "clinics", "buses"] * (count // 6 + 1))
    ][:count]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def make_study(folder: Path, **design: object) -> Path:
    """A study of acs12 personas over a questions file, created in ``folder / "study"``."""
    folder.mkdir(parents=True, exist_ok=True)
    items = questions_file(folder / "questions.jsonl")
    options = {"items": str(items), "personas": "draw:acs12", "n_personas": 2, "annotators": 2, "majority": 2} | design
    study = create_study(StudyDesign(**options), folder / "study")
    return study.folder


def links(study: Path) -> list[dict[str, str]]:
    with open(study / "links.csv") as handle:
        return list(csv.DictReader(handle))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """`persona annotate serve STUDY` in its own process; ``kill`` is SIGKILL, as a crash would be."""

    def __init__(self, study: Path, port: int | None = None, options: tuple[str, ...] = ()) -> None:
        self.study, self.port, self.options = study, port or free_port(), options
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.output = study.parent / f"server-{self.port}.log"

    def start(self) -> Server:
        env = os.environ | {"PYTHONUNBUFFERED": "1"}
        command = [sys.executable, "-m", "persona", "annotate", "serve", str(self.study), "--port", str(self.port)]
        command += self.options
        with open(self.output, "ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"study server exited: {self.output.read_text()}")
            try:
                httpx.get(self.base + "/", timeout=1)
                return self
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"study server did not answer within 30 s: {self.output.read_text()}")

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.kill()
