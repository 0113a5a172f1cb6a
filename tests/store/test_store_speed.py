"""Bulk writes are fast: 50,000 responses in one transaction, on SQLite and PostgreSQL.

The times are printed (run with ``-s`` to see them) and checked against a ceiling far
above what an idle laptop needs (a few seconds for 50,000), so the test catches a
regression to one ORM flush per row without failing on a busy CI machine. The
50,000-row run is marked ``slow``; 5,000 rows run always.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from allegiance.store import repository

#: rows per second far below what the bulk insert does (~15,000/s on SQLite, 2 shared cores)
FLOOR_ROWS_PER_S = 1_000


def _rows(n: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(20240501)
    scores = rng.integers(1, 6, size=(n, 10)).tolist()
    nps = rng.integers(0, 11, size=n).tolist()
    comments = ["服务很好", "排队太久", "价格偏高", "", "工作人员很热情"]
    return [
        {
            "respondent_key": f"r{i:06d}",
            "customer_id": f"C{i % 9973:05d}",
            "submitted_at": "2024-03-01T09:30:00+08:00",
            "answers": {
                **{f"q{j + 1}": s for j, s in enumerate(scores[i])},
                "q_nps": nps[i],
                "q_comment": comments[i % 5],
            },
        }
        for i in range(n)
    ]


@pytest.mark.parametrize("n", [5_000, pytest.param(50_000, marks=pytest.mark.slow)])
def test_save_many_responses(session: Session, engine: Engine, wave_id: int, n: int) -> None:
    rows = _rows(n)
    backend = engine.dialect.name

    start = time.perf_counter()
    first = repository.save_responses(session, wave_id, rows)
    t_save = time.perf_counter() - start

    start = time.perf_counter()
    again = repository.save_responses(session, wave_id, rows)
    t_resave = time.perf_counter() - start

    start = time.perf_counter()
    frame = repository.responses_frame(engine, wave_id=wave_id)
    t_read = time.perf_counter() - start

    print(
        f"\n[{backend}] save {n:,} responses: {t_save:.2f} s; "
        f"re-save (all ignored): {t_resave:.2f} s; responses_frame: {t_read:.2f} s"
    )
    assert first.n_inserted == n
    assert (again.n_inserted, again.n_existing) == (0, n)
    assert frame.shape == (n, len(repository.RESPONSE_META_COLUMNS) + 12)
    assert frame["q_comment"].iloc[1] == "排队太久"
    assert t_save < n / FLOOR_ROWS_PER_S
    assert t_resave < n / FLOOR_ROWS_PER_S
