"""Names of the points a run records besides Keras' own metrics, shared by the worker that writes them and the
views that draw them."""

CPU_METRIC = "cpu_cores"  # CPU time the worker used per second of wall time: 2.0 = two cores busy
MEMORY_METRIC = "memory_mb"  # resident memory of the worker process, MB
USAGE_KIND = "system"  # the metrics' kind for these samples (not a training metric: kept out of the curves)
