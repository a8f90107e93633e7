"""A number field the student empties (or types letters into, which the browser drops) is refused by name,
never replaced by 0 or a default unseen: on the Train page, the Sweeps form and the architecture options."""
import pytest

from tests.test_pages import _page


def _number_keys(path: str, **state) -> list[str]:
    at = _page(path)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    return [n.key for n in at.number_input if not n.disabled]


TRAIN_STATE = {"optimizer": "sgd", "architecture": "custom_cnn"}


@pytest.mark.parametrize("key", [
    "seed", "learning_rate", "momentum", "batch_size", "epochs", "train_subset", "test_subset"])
def test_an_emptied_train_field_is_refused_and_nothing_is_queued(lab, store, key):
    at = _page("pages/train.py")
    for name, value in TRAIN_STATE.items():
        at.session_state[name] = value
    at.run()
    at.number_input(key=key).set_value(None).run()
    at.button(key="start").click().run()
    assert not at.exception
    assert at.error and "the field is empty" in at.error[0].value, [e.value for e in at.error]
    assert store.list_runs() == []


def test_every_number_field_on_the_train_models_and_sweeps_pages_survives_being_emptied(lab, store):
    for path, state, button in (("pages/train.py", TRAIN_STATE, "start"),
                                ("pages/models.py", {"model_arch": "custom_cnn"}, None),
                                ("pages/sweeps.py", {"sweep_view": "New sweep"}, "sw_start")):
        for key in _number_keys(path, **state):
            at = _page(path)
            for name, value in state.items():
                at.session_state[name] = value
            at.run()
            at.number_input(key=key).set_value(None).run()
            if button and any(b.key == button and not b.disabled for b in at.button):
                at.button(key=button).click().run()
            assert not at.exception, (path, key, at.exception)
            assert store.list_runs() == [], (path, key)
