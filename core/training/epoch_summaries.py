"""TensorBoard event files of a run's epoch metrics, so `tensorboard --logdir <TRAINLAB_HOME>/runs`
shows the same curves as the Runs page.

Keras' own TensorBoard callback hooks every batch even with update_freq="epoch", which makes
Keras wait for each batch's results in the training loop; this one only acts at epoch ends.
Tags and folders follow Keras' (train/ and validation/, epoch_loss, epoch_accuracy, ...).
"""
from __future__ import annotations

from pathlib import Path

import keras


class EpochSummaries(keras.callbacks.Callback):
    """Write each epoch's metrics as TensorBoard scalars under `log_dir`.

    Args:
        log_dir: the run's TensorBoard folder.

    Example:
        model.fit(ds, epochs=3, callbacks=[EpochSummaries(run_dir / "tensorboard")])

    """

    def __init__(self, log_dir: Path | str):
        super().__init__()
        self.log_dir = Path(log_dir)
        self._writers = None

    def on_train_begin(self, logs=None):
        """Open one event-file writer for training and one for validation."""
        import tensorflow as tf

        self._writers = {part: tf.summary.create_file_writer(str(self.log_dir / part))
                         for part in ("train", "validation")}

    def on_epoch_end(self, epoch, logs=None):
        """Write this epoch's metrics and flush, so TensorBoard shows them at once."""
        import tensorflow as tf

        logs = logs or {}
        for name, value in logs.items():
            part, tag = ("validation", name[4:]) if name.startswith("val_") else ("train", name)
            with self._writers[part].as_default():
                tf.summary.scalar(f"epoch_{tag}", float(value), step=epoch)
        for writer in self._writers.values():
            writer.flush()

    def on_train_end(self, logs=None):
        """Close the writers."""
        for writer in (self._writers or {}).values():
            writer.close()
        self._writers = None
