"""How long runs will take, from how fast similar runs trained on this machine.

Throughput (training samples per second) is read from finished runs: the same dataset,
architecture and options if there are any, else the same dataset and architecture. With no
such history a rough guess per architecture, scaled by image size, stands in, and the
estimate says so.
"""
from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass
from typing import Callable

from core.data.datasets import get_info
from core.domain.config import TrainConfig, training_sizes
from core.settings import Settings
from core.store.queries import throughput_rows
from core.store.runs import RunStore

RUN_OVERHEAD_SECONDS = 5.0  # loading data, building the model, the test evaluation
# Rough training samples/s on a 28x28x1 image with one CPU thread, when nothing was measured yet.
GUESS_SAMPLES_PER_SECOND = {"mlp": 8000, "mlp_bn": 7000, "custom_mlp": 12000, "deep_mlp": 800,
                            "conv_demo_a": 8000, "conv_demo_b": 6000, "conv_demo_c": 6000, "small_cnn": 2500,
                            "custom_cnn": 2000, "basic_cnn": 1500, "basic_cnn_regularised": 1200,
                            "small_resnet": 400, "vgg16": 40, "resnet50": 20, "resnet50_transfer": 10}


@dataclass(frozen=True)
class Estimate:
    """Seconds of training for some runs, and whether measured runs back the figure."""

    run_seconds: tuple[float, ...]  # one per run, in order
    measured: bool  # every run's throughput came from finished runs

    def wall_seconds(self, workers: int) -> float:
        """Wall time with `workers` runs at a time (longest first onto the least busy worker)."""
        loads = [0.0] * max(1, workers)
        for seconds in sorted(self.run_seconds, reverse=True):
            loads[loads.index(min(loads))] += seconds
        return max(loads)


def _history(store: RunStore) -> list[tuple[str, str, str, float]]:
    """(dataset, architecture, options JSON, training samples/s) of succeeded runs."""
    out = []
    for config_text, steps, epochs_done, seconds in throughput_rows(store):
        config = json.loads(config_text)
        samples = steps * config.get("batch_size", 32) * max(1, epochs_done)
        out.append((config.get("dataset"), config.get("architecture"),
                    json.dumps(config.get("arch_options", {}), sort_keys=True), samples / seconds))
    return out


def samples_per_second(config: TrainConfig, history: list, pixels: Callable[[str], int]) -> tuple[float, bool]:
    """Expected training throughput of `config`, and whether it was measured (`pixels`: values per image)."""
    options = json.dumps(config.arch_options, sort_keys=True)
    for match in (lambda h: h[0] == config.dataset and h[1] == config.architecture and h[2] == options,
                  lambda h: h[0] == config.dataset and h[1] == config.architecture):
        found = [h[3] for h in history if match(h)]
        if found:
            return statistics.median(found), True
    # Other datasets' runs are not scaled over: a tiny dataset's runs are dominated by per-epoch
    # overhead and would predict a large one many times too slow.
    return GUESS_SAMPLES_PER_SECOND.get(config.architecture, 1000) * 784 / pixels(config.dataset), False


def estimate(configs: list[TrainConfig], store: RunStore, settings: Settings) -> Estimate:
    """Expected seconds per run for these configs."""
    history = _history(store)
    infos = {d: get_info(d, settings) for d in {c.dataset for c in configs} | {h[0] for h in history}}

    def pixels(dataset: str) -> int:
        info = infos.get(dataset)
        return math.prod(info.input_shape) if info else 784

    seconds, measured = [], True
    for config in configs:
        info = infos[config.dataset]
        n_train, n_val = training_sizes(config, info) if info else (1000, 0)
        rate, known = samples_per_second(config, history, pixels)
        measured &= known
        # A validation pass costs about a third of a training pass per sample.
        seconds.append(config.epochs * (n_train + n_val / 3) / rate + RUN_OVERHEAD_SECONDS)
    return Estimate(tuple(seconds), measured)
