"""A study's SQLite database: the plan, who holds which assignment, and every answer, durable once saved.

WAL with ``synchronous=FULL``: an answer is on disk when its request returns, so killing the server loses nothing
acknowledged, and readers (the admin page, the export) never block the annotators' writes. Each thread keeps its own
connection; writes take the lock up front (``BEGIN IMMEDIATE``) so two tabs or a double submit serialise.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, NamedTuple

from persona.errors import InputError
from persona.study.design import Plan, StudyDesign

DB_NAME = "study.db"
SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE personas (id TEXT PRIMARY KEY, record TEXT NOT NULL);
CREATE TABLE items (
    id TEXT PRIMARY KEY, question TEXT NOT NULL, answer_a TEXT NOT NULL, answer_b TEXT NOT NULL,
    attention INTEGER NOT NULL, expected TEXT
);
CREATE TABLE assignments (
    id INTEGER PRIMARY KEY, label TEXT NOT NULL UNIQUE, token TEXT NOT NULL UNIQUE,
    persona_id TEXT NOT NULL REFERENCES personas(id), slot INTEGER NOT NULL, completion_code TEXT NOT NULL,
    prolific_pid TEXT UNIQUE, claimed_at TEXT, started_at TEXT, submitted_at TEXT,
    prolific_session TEXT, prolific_study TEXT
);
CREATE TABLE tasks (
    assignment_id INTEGER NOT NULL REFERENCES assignments(id), position INTEGER NOT NULL,
    item_id TEXT NOT NULL REFERENCES items(id), swapped INTEGER NOT NULL,
    first_shown_at TEXT, last_shown_at TEXT,
    PRIMARY KEY (assignment_id, position)
);
CREATE TABLE answers (
    assignment_id INTEGER NOT NULL, position INTEGER NOT NULL,
    choice TEXT NOT NULL CHECK (choice IN ('A', 'B')), shown_choice TEXT NOT NULL CHECK (shown_choice IN ('A', 'B')),
    justification TEXT NOT NULL, first_answered_at TEXT NOT NULL, answered_at TEXT NOT NULL,
    revisions INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (assignment_id, position),
    FOREIGN KEY (assignment_id, position) REFERENCES tasks(assignment_id, position)
);
"""


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=30, isolation_level=None)
    connection.row_factory = sqlite3.Row
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute("PRAGMA foreign_keys=ON")
    return connection


def write_plan(path: Path, design: StudyDesign, plan: Plan) -> None:
    """The whole plan into a new database at ``path``, written beside it and renamed, so a failure leaves none."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        connection = sqlite3.connect(tmp, isolation_level=None)
        with connection:
            connection.executescript(SCHEMA)
            connection.execute("BEGIN")
            meta = {"design": design.model_dump_json(), "admin_token": secrets.token_urlsafe(24), "created_at": now()}
            connection.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
            connection.executemany(
                "INSERT INTO personas VALUES (?, ?)", [(p.id, p.model_dump_json()) for p in plan.personas]
            )
            connection.executemany(
                "INSERT INTO items VALUES (?, ?, ?, ?, ?, ?)",
                [(i.id, i.question, i.answer_a, i.answer_b, int(i.attention), i.expected) for i in plan.items],
            )
            for number, assignment in enumerate(plan.assignments, start=1):
                code = design.completion_code or secrets.token_hex(4).upper()
                connection.execute(
                    "INSERT INTO assignments (id, label, token, persona_id, slot, completion_code) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (number, assignment.label, secrets.token_urlsafe(16), assignment.persona_id, assignment.slot, code),
                )
                connection.executemany(
                    "INSERT INTO tasks (assignment_id, position, item_id, swapped) VALUES (?, ?, ?, ?)",
                    [(number, at, task.item.id, int(task.swapped)) for at, task in enumerate(assignment.tasks, 1)],
                )
            connection.execute("COMMIT")
            connection.execute("PRAGMA journal_mode=WAL")
        connection.close()
        os.chmod(tmp, 0o600)  # it holds every annotator's link token and the admin token
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class Progress(NamedTuple):
    answered: int
    total: int
    open_at: int | None  # the first position without an answer; None when all are answered


def _first_open(db: sqlite3.Connection, assignment_id: int) -> int | None:
    return db.execute(
        "SELECT min(t.position) FROM tasks t LEFT JOIN answers a USING (assignment_id, position) "
        "WHERE t.assignment_id = ? AND a.choice IS NULL",
        (assignment_id,),
    ).fetchone()[0]


class Claim(NamedTuple):
    token: str | None
    outcome: Literal["new", "held", "full", "session"]


ADDED_COLUMNS = ("prolific_session", "prolific_study")


class Saved(NamedTuple):
    outcome: Literal["saved", "unchanged", "submitted", "ahead"]
    position: int


class Store:
    """Every read and write the web app and the export make, each one transaction."""

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / DB_NAME
        if not self.path.exists():
            raise InputError(f"{folder}: not a study (no {DB_NAME}); create one with `persona annotate create`")
        self._local = threading.local()
        self._writing = threading.Lock()
        self._add_columns()

    def _add_columns(self) -> None:
        """Columns a study made by an earlier version lacks (the Prolific session and study), added in place."""
        with self._connection() as db:
            have = {row["name"] for row in db.execute("PRAGMA table_info(assignments)")}
        missing = [name for name in ADDED_COLUMNS if name not in have]
        if missing:
            with self._connection(write=True) as db:
                for name in missing:
                    db.execute(f"ALTER TABLE assignments ADD COLUMN {name} TEXT")

    @contextmanager
    def _connection(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        """One transaction on this thread's connection (the server's worker threads each keep one open).

        Writers take turns on a lock in this process, so they wait for each other directly rather than in the
        back-off sleeps of SQLite's busy handler.
        """
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = connect(self.path)
        with self._writing if write else nullcontext():
            try:
                connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                yield connection
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise

    def meta(self, key: str) -> str:
        with self._connection() as db:
            return db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0]

    def design(self) -> StudyDesign:
        return StudyDesign.model_validate_json(self.meta("design"))

    def assignment(self, token: str) -> sqlite3.Row | None:
        with self._connection() as db:
            return db.execute("SELECT * FROM assignments WHERE token = ?", (token,)).fetchone()

    def claim(self, pid: str, session: str | None, study: str | None, place_timeout: float) -> Claim:
        """``pid``'s place: the one it holds (bound to the first ``session`` seen: another session is refused),
        else the first free one in balanced order. Places taken over ``place_timeout`` seconds ago and never
        answered go back to the pool first; a place with any answer never does."""
        with self._connection(write=True) as db:
            row = db.execute(
                "SELECT id, token, prolific_session FROM assignments WHERE prolific_pid = ?", (pid,)
            ).fetchone()
            if row is not None:
                if row["prolific_session"] is None and session is not None:
                    db.execute("UPDATE assignments SET prolific_session = ? WHERE id = ?", (session, row["id"]))
                elif row["prolific_session"] is not None and row["prolific_session"] != session:
                    return Claim(None, "session")
                return Claim(row["token"], "held")
            cutoff = datetime.fromtimestamp(datetime.now(UTC).timestamp() - place_timeout, UTC)
            stale = [
                r["id"]
                for r in db.execute(
                    "SELECT s.id FROM assignments s WHERE s.prolific_pid IS NOT NULL AND s.submitted_at IS NULL "
                    "AND s.claimed_at < ? AND NOT EXISTS (SELECT 1 FROM answers a WHERE a.assignment_id = s.id)",
                    (cutoff.isoformat(timespec="milliseconds"),),
                )
            ]
            for stale_id in stale:  # back to the pool as if never taken: no claim, no start, nothing shown
                db.execute(
                    "UPDATE assignments SET prolific_pid = NULL, prolific_session = NULL, prolific_study = NULL, "
                    "claimed_at = NULL, started_at = NULL WHERE id = ?",
                    (stale_id,),
                )
                db.execute(
                    "UPDATE tasks SET first_shown_at = NULL, last_shown_at = NULL WHERE assignment_id = ?", (stale_id,)
                )
            row = db.execute(
                "SELECT id, token FROM assignments WHERE prolific_pid IS NULL ORDER BY id LIMIT 1"
            ).fetchone()
            if row is None:
                return Claim(None, "full")
            db.execute(
                "UPDATE assignments SET prolific_pid = ?, prolific_session = ?, prolific_study = ?, claimed_at = ? "
                "WHERE id = ?",
                (pid, session, study, now(), row["id"]),
            )
            return Claim(row["token"], "new")

    def start(self, assignment_id: int) -> None:
        with self._connection(write=True) as db:
            db.execute(
                "UPDATE assignments SET started_at = coalesce(started_at, ?) WHERE id = ?", (now(), assignment_id)
            )

    def progress(self, assignment_id: int) -> Progress:
        with self._connection() as db:
            total = db.execute("SELECT count(*) FROM tasks WHERE assignment_id = ?", (assignment_id,)).fetchone()[0]
            done = db.execute("SELECT count(*) FROM answers WHERE assignment_id = ?", (assignment_id,)).fetchone()[0]
            return Progress(done, total, _first_open(db, assignment_id))

    def show(self, assignment_id: int, position: int) -> dict[str, Any]:
        """A question as its annotator sees it (answers in their stored order), recording when it was shown."""
        stamp = now()
        with self._connection(write=True) as db:
            db.execute(
                "UPDATE tasks SET first_shown_at = coalesce(first_shown_at, ?), last_shown_at = ? "
                "WHERE assignment_id = ? AND position = ?",
                (stamp, stamp, assignment_id, position),
            )
            row = db.execute(
                "SELECT t.swapped, i.question, i.answer_a, i.answer_b, a.shown_choice, a.justification "
                "FROM tasks t JOIN items i ON i.id = t.item_id LEFT JOIN answers a USING (assignment_id, position) "
                "WHERE t.assignment_id = ? AND t.position = ?",
                (assignment_id, position),
            ).fetchone()
        first, second = (row["answer_b"], row["answer_a"]) if row["swapped"] else (row["answer_a"], row["answer_b"])
        return {
            "question": row["question"],
            "answers": {"A": first, "B": second},
            "shown_choice": row["shown_choice"],
            "justification": row["justification"] or "",
        }

    def save(self, assignment_id: int, position: int, shown_choice: str, justification: str) -> Saved:
        """Store an answer as clicked; the same answer twice is one answer. Refused after submit, or past the first
        open question."""
        stamp = now()
        with self._connection(write=True) as db:
            assignment = db.execute("SELECT submitted_at FROM assignments WHERE id = ?", (assignment_id,)).fetchone()
            if assignment["submitted_at"]:
                return Saved("submitted", position)
            open_at = _first_open(db, assignment_id)
            if open_at is not None and position > open_at:
                return Saved("ahead", open_at)
            swapped = db.execute(
                "SELECT swapped FROM tasks WHERE assignment_id = ? AND position = ?", (assignment_id, position)
            ).fetchone()["swapped"]
            choice = {"A": "B", "B": "A"}[shown_choice] if swapped else shown_choice
            old = db.execute(
                "SELECT shown_choice, justification FROM answers WHERE assignment_id = ? AND position = ?",
                (assignment_id, position),
            ).fetchone()
            if old is None:
                db.execute(
                    "INSERT INTO answers (assignment_id, position, choice, shown_choice, justification, "
                    "first_answered_at, answered_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (assignment_id, position, choice, shown_choice, justification, stamp, stamp),
                )
            elif (old["shown_choice"], old["justification"]) == (shown_choice, justification):
                return Saved("unchanged", position)
            else:
                db.execute(
                    "UPDATE answers SET choice = ?, shown_choice = ?, justification = ?, answered_at = ?, "
                    "revisions = revisions + 1 WHERE assignment_id = ? AND position = ?",
                    (choice, shown_choice, justification, stamp, assignment_id, position),
                )
            return Saved("saved", position)

    def review(self, assignment_id: int) -> list[dict[str, Any]]:
        with self._connection() as db:
            rows = db.execute(
                "SELECT t.position, i.question, a.shown_choice, a.justification FROM tasks t "
                "JOIN items i ON i.id = t.item_id LEFT JOIN answers a USING (assignment_id, position) "
                "WHERE t.assignment_id = ? ORDER BY t.position",
                (assignment_id,),
            ).fetchall()
            return [dict(row) for row in rows]

    def submit(self, assignment_id: int) -> bool:
        """Mark an assignment submitted (once: a second submit keeps the first time); False while any is open."""
        with self._connection(write=True) as db:
            if _first_open(db, assignment_id) is not None:
                return False
            db.execute(
                "UPDATE assignments SET submitted_at = coalesce(submitted_at, ?) WHERE id = ?", (now(), assignment_id)
            )
            return True

    def persona(self, persona_id: str) -> dict[str, Any]:
        with self._connection() as db:
            return json.loads(db.execute("SELECT record FROM personas WHERE id = ?", (persona_id,)).fetchone()[0])

    def assignments(self) -> list[dict[str, Any]]:
        """Every assignment with its progress and attention-check results, for the admin page and the export."""
        with self._connection() as db:
            rows = db.execute(
                "SELECT s.*, CASE WHEN s.submitted_at IS NOT NULL THEN 'submitted' "
                "WHEN s.started_at IS NOT NULL THEN 'in progress' ELSE 'not started' END AS status, "
                "count(t.position) AS total, count(a.choice) AS answered, "
                "sum(i.attention) AS checks, "
                "sum(CASE WHEN i.attention AND a.choice IS NOT NULL AND a.choice != i.expected THEN 1 ELSE 0 END) "
                "AS checks_failed "
                "FROM assignments s JOIN tasks t ON t.assignment_id = s.id JOIN items i ON i.id = t.item_id "
                "LEFT JOIN answers a ON a.assignment_id = t.assignment_id AND a.position = t.position "
                "GROUP BY s.id ORDER BY s.id"
            ).fetchall()
            return [dict(row) for row in rows]

    def answers(self) -> list[dict[str, Any]]:
        """Every stored answer with its question, orientation and timings, in assignment and position order."""
        with self._connection() as db:
            rows = db.execute(
                "SELECT s.label AS annotator, s.persona_id, t.item_id, a.choice, a.justification, a.shown_choice, "
                "t.swapped, t.position, i.attention, i.expected, t.first_shown_at, t.last_shown_at, "
                "a.first_answered_at, a.answered_at, a.revisions, s.submitted_at "
                "FROM answers a JOIN tasks t USING (assignment_id, position) "
                "JOIN assignments s ON s.id = t.assignment_id JOIN items i ON i.id = t.item_id "
                "ORDER BY s.id, t.position"
            ).fetchall()
            return [dict(row) for row in rows]
