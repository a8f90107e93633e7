"""Figure 3: the store and the Runs page with a class's worth of runs.

500 runs × 50 epochs of epoch metrics (loss, accuracy, val_loss, val_accuracy), and for 20 of
them the live per-batch points a real run writes (20 per epoch for loss and accuracy).
"""
from __future__ import annotations

import random
import statistics
import time
from pathlib import Path

from bench.common import Lab
from core.domain.config import TrainConfig

RUNS, EPOCHS, DETAILED, POINTS_PER_EPOCH = 500, 50, 20, 20


def fill(db_path: Path) -> list[int]:
    """Write the runs and their metrics straight into a store; returns the ids."""
    from core.domain.statuses import SUCCEEDED
    from core.store.runs import RunStore, insert_run

    store = RunStore(db_path)
    rng = random.Random(0)
    ids = []
    for i in range(RUNS):
        config = TrainConfig(architecture=rng.choice(["mlp", "mlp_bn", "small_cnn"]),
                             optimizer=rng.choice(["sgd", "adam", "rmsprop"]),
                             learning_rate=rng.choice([0.1, 0.01, 0.001]),
                             epochs=EPOCHS, seed=i, name=f"run {i}")
        steps = 100
        with store.transaction() as conn:
            run_id = insert_run(conn, config.display_name(), config.to_dict(), epochs=EPOCHS)
            rows = []
            for e in range(1, EPOCHS + 1):
                step = e * steps
                for name, value in (("loss", 1 / e), ("accuracy", 1 - 1 / (e + 1)), ("val_loss", 1.1 / e),
                                    ("val_accuracy", 1 - 1.1 / (e + 1))):
                    rows.append((run_id, "epoch", step, float(e), e * 2.0, name, value))
                if i < DETAILED:
                    for p in range(1, POINTS_PER_EPOCH + 1):
                        s = (e - 1) * steps + p * steps // POINTS_PER_EPOCH
                        rows += [(run_id, "batch", s, s / steps, s * 0.02, "loss", 1 / e + rng.random() * 0.1),
                                 (run_id, "batch", s, s / steps, s * 0.02, "accuracy", 1 - 1 / (e + 1))]
            conn.executemany("INSERT INTO metrics (run_id, kind, step, epoch, elapsed, name, value) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            conn.execute("UPDATE runs SET status=?, started_at=?, finished_at=?, epoch=?, steps=?, progress=1, "
                         "param_count=?, test_accuracy=?, test_loss=?, train_seconds=? WHERE id=?",
                         (SUCCEEDED, time.time(), time.time(), EPOCHS, steps, 100_000 + i, rng.random(), rng.random(),
                          100.0, run_id))
        ids.append(run_id)
    store.close()
    return ids


def _timed(fn, repeat: int) -> tuple[float, float]:
    """(median, max) milliseconds of `repeat` calls after one warm-up call."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), max(times)


def run(lab: Lab, repeat: int = 20, quick: bool = False) -> list[dict]:
    """Figure 3: store queries and Runs page times with 500 runs."""
    from streamlit.testing.v1 import AppTest

    from core.services import jobs
    from core.store.queries import RunQuery

    with lab.home("store", workers=2) as settings:
        import os

        os.environ["TRAINLAB_AUTOSTART_WORKERS"] = "0"  # nothing is queued; no pool needed
        started = time.perf_counter()
        ids = fill(settings.db_path)
        fill_seconds = time.perf_counter() - started
        from core.store.runs import RunStore

        points = RunStore(settings.store_location).metric_count()
        compared = ids[:5] + ids[DETAILED:DETAILED + 5]  # 5 with live points, 5 with epoch points only
        rows = []

        def add(label, ms, target):
            rows.append({"measure": label, "median_ms": round(ms[0], 1), "max_ms": round(ms[1], 1), "target": target})

        add("run table: first page of 50, newest first", _timed(lambda: jobs.query(RunQuery(), settings), repeat),
            "<= 50 ms")
        add("run table: filter optimizer=sgd, sort by test accuracy",
            _timed(lambda: jobs.query(RunQuery(optimizer=("sgd",), sort="test accuracy"), settings), repeat),
            "<= 50 ms")
        add("curves of 10 selected runs (DataFrame)", _timed(lambda: jobs.metrics_of(compared, settings), repeat),
            "<= 200 ms")
        app = str(Path(__file__).resolve().parent.parent / "app.py")

        def page(compare: list[int]):
            at = AppTest.from_file(app, default_timeout=60)
            at.switch_page("pages/runs.py")
            if compare:
                at.session_state["compare_runs"] = compare
            at.run()
            assert not at.exception, at.exception
            # The page really drew the table (and the comparison): not a cheap empty render.
            assert len(at.dataframe[0].value) == 50 and any(f"of {RUNS} runs" in c.value for c in at.caption)
            assert len(at.get("plotly_chart")) >= (1 if compare else 0)

        pages = 2 if quick else 5
        add("Runs page, full AppTest run", _timed(lambda: page([]), pages), "<= 1500 ms")
        add("Runs page, full AppTest run comparing 10 runs", _timed(lambda: page(compared), pages), "<= 1500 ms")
        for row in rows:
            row["store"] = (f"{RUNS} runs × {EPOCHS} epochs, per-batch points for {DETAILED}: {points:,} metric rows "
                            f"(written in {fill_seconds:.1f} s)")
    return rows
