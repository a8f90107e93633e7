"""Settings come from the environment, with defaults and clear errors."""
import pytest

from core.settings import Settings, env_name, load_settings


def test_defaults(monkeypatch, tmp_path):
    for name in ("TRAINLAB_HOME", "TRAINLAB_WORKERS", "TRAINLAB_MAX_EPOCHS", "KERAS_HOME", "TRAINLAB_DATA_ROOT",
                 "TRAINLAB_SAMPLES_DIR", "TRAINLAB_WORKER_MAX_MB", "TRAINLAB_AUTOSTART_WORKERS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    settings = load_settings()
    assert settings.home == tmp_path / ".trainlab" and settings.db_path == tmp_path / ".trainlab" / "trainlab.db"
    assert settings.keras_home == tmp_path / ".keras"
    assert settings.data_root == tmp_path / ".trainlab" / "datasets" and settings.samples_dir is None
    assert (settings.workers, settings.max_epochs, settings.heartbeat_timeout) == (2, 200, 30.0)
    assert (settings.worker_max_mb, settings.autostart_workers) == (1536, True)


def test_environment_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv("TRAINLAB_HOME", str(tmp_path / "lab"))
    monkeypatch.setenv("TRAINLAB_WORKERS", "3")
    monkeypatch.setenv("TRAINLAB_AUTOSTART_WORKERS", "off")
    monkeypatch.delenv("TRAINLAB_DATA_ROOT", raising=False)
    settings = load_settings()
    assert settings.runs_dir == tmp_path / "lab" / "runs" and settings.data_root == tmp_path / "lab" / "datasets"
    assert settings.workers == 3 and settings.autostart_workers is False


def test_paths_expand_the_user_and_keras_home_has_no_prefix(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("TRAINLAB_HOME", "~/lab")
    monkeypatch.setenv("KERAS_HOME", "~/cache")
    monkeypatch.setenv("TRAINLAB_SAMPLES_DIR", "~/photos")
    monkeypatch.setenv("TRAINLAB_DATA_ROOT", "~/data")
    settings = load_settings()
    assert (settings.home, settings.keras_home) == (tmp_path / "lab", tmp_path / "cache")
    assert (settings.samples_dir, settings.data_root) == (tmp_path / "photos", tmp_path / "data")


def test_small_values_are_raised_to_the_floor_and_blank_ones_are_unset(monkeypatch):
    monkeypatch.setenv("TRAINLAB_WORKERS", "0")
    monkeypatch.setenv("TRAINLAB_WORKER_MAX_MB", "10")
    monkeypatch.setenv("TRAINLAB_MAX_EPOCHS", "  ")
    monkeypatch.setenv("TRAINLAB_MAX_UPLOAD_MB", " 7 ")
    settings = load_settings()
    assert (settings.workers, settings.worker_max_mb, settings.max_epochs, settings.max_upload_mb) == (1, 256, 200, 7)


@pytest.mark.parametrize("name, value, message", [
    ("TRAINLAB_WORKERS", "two", "TRAINLAB_WORKERS: must be a whole number from 1 up; got 'two'"),
    ("TRAINLAB_MAX_PARAMS", "1e9", "TRAINLAB_MAX_PARAMS: must be a whole number from 1 up; got '1e9'"),
    ("TRAINLAB_HEARTBEAT_TIMEOUT", "soon", "TRAINLAB_HEARTBEAT_TIMEOUT: must be a number; got 'soon'"),
    ("TRAINLAB_AUTOSTART_WORKERS", "maybe", "TRAINLAB_AUTOSTART_WORKERS: must be true or false"),
    ("TRAINLAB_WORKER_NICENESS", "20", "TRAINLAB_WORKER_NICENESS: input should be less than or equal to 19"),
])
def test_bad_values_name_the_variable_in_one_line(monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError) as err:
        load_settings()
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_every_setting_has_its_variable():
    assert env_name("workers") == "TRAINLAB_WORKERS" and env_name("keras_home") == "KERAS_HOME"
    assert len({env_name(f) for f in Settings.model_fields}) == len(Settings.model_fields)


def test_settings_are_frozen_and_can_be_built_directly(monkeypatch, tmp_path):
    monkeypatch.delenv("TRAINLAB_DATA_ROOT", raising=False)
    settings = Settings(home=tmp_path, workers=0, keras_home=tmp_path / "k")
    assert (settings.workers, settings.keras_home, settings.data_root) == (1, tmp_path / "k", tmp_path / "datasets")
    with pytest.raises(ValueError):
        settings.workers = 3
    with pytest.raises(ValueError, match="^workerz: is not a setting"):
        Settings(workerz=3)


def test_settings_follow_every_change_of_the_environment_they_read(monkeypatch, tmp_path):
    from core.settings import load_settings

    monkeypatch.setenv("TRAINLAB_WORKERS", "3")
    assert load_settings().workers == 3
    assert load_settings() is load_settings()  # parsed once while nothing changed
    monkeypatch.setenv("TRAINLAB_WORKERS", "5")
    assert load_settings().workers == 5
    monkeypatch.setenv("trainlab_max_epochs", "7")  # pydantic-settings reads names in any case
    assert load_settings().max_epochs == 7
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert load_settings().keras_home == tmp_path
    monkeypatch.delenv("TRAINLAB_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert load_settings().home == tmp_path / ".trainlab"
