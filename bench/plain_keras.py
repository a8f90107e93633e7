"""The baseline of the overhead figure: the same training as a Train Lab run, as a plain Keras
script would do it (NumPy arrays scaled once, `model.fit`, no callbacks, TensorFlow's default
threads). Prints {"fit_seconds": ..., "samples": ...} as JSON. With --track, the same script reports to
Train Lab through the `trainlab` client's callback (the tracking figure: what reporting costs a student's fit).
With --evaluate, also the test accuracy on the split a Train Lab run is scored on (after the timing).

    python bench/plain_keras.py '<TrainConfig JSON>' [--track] [--evaluate]
"""
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main() -> None:
    """Train the same model with a plain `model.fit` and print samples per second."""
    import keras

    from core.data import datasets
    from core.domain.config import TrainConfig
    from core.training.builders import build_model
    from core.training.fit import make_optimizer, prepare_splits

    config = TrainConfig.from_json(sys.argv[1])
    data = datasets.load(config.dataset)
    keras.utils.set_random_seed(config.seed)
    splits = prepare_splits(data, config)  # the same samples as the Train Lab run
    x = data.x_train[splits.train].astype("float32") / 255.0
    y = data.y_train[splits.train]
    xv = data.x_train[splits.validation].astype("float32") / 255.0
    yv = data.y_train[splits.validation]
    model = build_model(config.architecture, x.shape[1:], len(data.class_names), config.arch_options)
    steps = -(-len(x) // config.batch_size)
    model.compile(optimizer=make_optimizer(config, steps * config.epochs), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    callbacks = []
    if "--track" in sys.argv[2:]:
        from trainlab import TrainLabCallback

        callbacks.append(TrainLabCallback(name="bench tracked", dataset=config.dataset))
    start = time.monotonic()
    model.fit(x, y, batch_size=config.batch_size, epochs=config.epochs, validation_data=(xv, yv), verbose=0,
              callbacks=callbacks)
    result = {"fit_seconds": time.monotonic() - start, "samples": len(x) * config.epochs}
    if "--evaluate" in sys.argv[2:]:  # after the timing: the test split a Train Lab run is scored on
        x_test = data.x_test[splits.test].astype("float32") / 255.0
        result["test_accuracy"] = float(model.evaluate(x_test, data.y_test[splits.test], verbose=0)[1])
    print(json.dumps(result))


if __name__ == "__main__":
    main()
