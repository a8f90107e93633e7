"""Figure 2: from Start to the first live point (submit → first metric row in the store)."""
from __future__ import annotations

import statistics
import time

from bench.common import Lab, start_pool, stop_pool, wait_finished
from core.domain.config import TrainConfig

CONFIGS = {
    "bundled digits, course MLP": TrainConfig(dataset="digits", architecture="mlp", epochs=3, name="bench latency"),
    "Fashion-MNIST-shaped (60k), course MLP": TrainConfig(dataset="fashion_mnist", architecture="mlp", epochs=1,
                                                          batch_size=64, name="bench latency"),
}


def _first_point(config: TrainConfig, settings, timeout: float = 120) -> tuple[float, float]:
    """(seconds to running, seconds to the first metric row) for one submitted run."""
    from core.services import jobs
    from core.store.runs import RunStore

    store = RunStore(settings.store_location)
    start = time.monotonic()
    run_id = jobs.submit(config, settings)
    running = None
    while time.monotonic() - start < timeout:
        if running is None and store.get(run_id).status != "queued":
            running = time.monotonic() - start
        if store.has_metrics(run_id):
            first = time.monotonic() - start
            jobs.cancel(run_id, settings)  # the rest of the run is not part of this figure
            _wait_ended(run_id, settings)
            return running or first, first
        time.sleep(0.005)
    raise RuntimeError(f"run #{run_id} wrote no metric in {timeout:.0f} s")


def _wait_ended(run_id: int, settings) -> None:
    try:
        wait_finished([run_id], settings, timeout=120)
    except RuntimeError as exc:  # cancelled is the expected end here
        if "cancelled" not in str(exc):
            raise


def run(lab: Lab, repeat: int = 3, quick: bool = False) -> list[dict]:
    """Warm (workers waiting) and cold (no pool yet) latencies for each config."""
    lab.make_data()
    rows = []
    with lab.home("latency", workers=2) as settings:
        for label, config in CONFIGS.items():
            start_pool(settings)
            warm = [_first_point(config, settings) for _ in range(1 if quick else repeat)]
            stop_pool(settings)
            cold = _first_point(config, settings)  # submit starts the pool, as the Train page does
            stop_pool(settings)
            rows.append({"case": label,
                         "warm_to_running_s": round(statistics.median(w[0] for w in warm), 2),
                         "warm_first_point_s": round(statistics.median(w[1] for w in warm), 2),
                         "warm_first_point_max_s": round(max(w[1] for w in warm), 2),
                         "cold_first_point_s": round(cold[1], 2), "target": "warm <= 2 s",
                         "attempts": len(warm)})
    return rows
