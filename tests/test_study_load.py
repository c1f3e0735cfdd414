"""Fifty annotators submitting at once against one study server: every answer stored exactly once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from study_load import justification, run_load, stored
from study_server import Server, links, make_study

ANNOTATORS = 50


def test_fifty_concurrent_annotators_store_every_answer_exactly_once(tmp_path: Path) -> None:
    study = make_study(tmp_path, n_personas=13, annotators=4, majority=3)
    crowd = links(study)[:ANNOTATORS]
    total = 11  # ten questions and one attention check
    with Server(study) as server:
        latencies, wall = run_load(server.base, crowd, total, limit_s=240)
    rows = stored(study)
    assert len(latencies) == 2 * ANNOTATORS * total  # every answer was sent twice, as a double click sends it
    assert len(rows) == ANNOTATORS * total
    assert {(label, position) for label, position, _, _ in rows} == {
        (a["annotator"], p) for a in crowd for p in range(1, total + 1)
    }
    assert all(text == justification(label, position) and revisions == 0 for label, position, text, revisions in rows)
    p50, p95 = np.percentile(latencies, [50, 95]) * 1000
    submits = f"{len(latencies)} answer submits in {wall:.1f} s"
    print(f"\n{ANNOTATORS} annotators, {submits}: p50 {p50:.0f} ms, p95 {p95:.0f} ms")
