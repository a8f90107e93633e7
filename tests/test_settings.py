"""Settings come from the environment, with defaults and clear errors."""
import pytest

from core.settings import load_settings


def test_defaults(monkeypatch, tmp_path):
    for name in ("TRAINLAB_HOME", "TRAINLAB_WORKERS", "TRAINLAB_MAX_EPOCHS", "KERAS_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    settings = load_settings()
    assert settings.home == tmp_path / ".trainlab" and settings.db_path == tmp_path / ".trainlab" / "trainlab.db"
    assert settings.keras_home == tmp_path / ".keras"
    assert (settings.workers, settings.max_epochs, settings.heartbeat_timeout) == (2, 200, 30.0)


def test_environment_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv("TRAINLAB_HOME", str(tmp_path / "lab"))
    monkeypatch.setenv("TRAINLAB_WORKERS", "3")
    monkeypatch.setenv("TRAINLAB_AUTOSTART_WORKERS", "off")
    settings = load_settings()
    assert settings.runs_dir == tmp_path / "lab" / "runs"
    assert settings.workers == 3 and settings.autostart_workers is False
    assert settings.threads_per_worker >= 1


def test_bad_values_name_the_variable(monkeypatch):
    monkeypatch.setenv("TRAINLAB_WORKERS", "two")
    with pytest.raises(ValueError, match="TRAINLAB_WORKERS must be a whole number; got 'two'"):
        load_settings()
