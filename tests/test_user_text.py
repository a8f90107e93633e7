"""User text (class folder names, run names, notes, tags, sweep names, refusals quoting what was typed) is
shown as text on every page: nothing a user types becomes a link, an image, HTML or formatting."""
import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.domain.config import TrainConfig
from core.domain.statuses import SUCCEEDED
from core.domain.sweep_spec import SweepSpec, Variant
from core.services import sweeps
from core.store.queries import relabel
from core.store.runs import MetricPoint
from tests.conftest import PROJECT_ROOT, make_image_folder

LINK = "[click here](https:evil.example)"
PAYLOAD = f"{LINK} <img src=x onerror=alert(1)> $x^2$ :red[red] www.evil.example"
MARKDOWN_KINDS = {"markdown", "caption", "alert", "title", "header", "subheader", "toast", "exception", "text"}


def _markdown_texts(node) -> list[tuple[str, str]]:
    """(kind, source) of everything Streamlit renders as markdown in an AppTest tree: markdown, captions,
    alerts, headings and every widget's, expander's, tab's and metric's label and help."""
    found = []
    kind = getattr(node, "type", "")
    if kind in MARKDOWN_KINDS and kind != "text" and isinstance(getattr(node, "value", None), str):
        found.append((kind, node.value))
    if kind == "image":  # st.image's captions are markdown too
        found += [("image.caption", image.caption) for image in node.proto.imgs]
    for attribute in ("label", "help"):
        value = getattr(node, attribute, None)
        if isinstance(value, str):
            found.append((f"{kind}.{attribute}", value))
    for child in getattr(node, "children", {}).values():
        found += _markdown_texts(child)
    return found


def _unsafe(source: str) -> list[str]:
    """What in a markdown source would render as more than text: an unescaped link, HTML or formula."""
    problems = []
    for needle in ("[click here](", "<img", "$x^2$", ":red[red]", "www.evil", "www\\.evil"):
        if needle in source:
            problems.append(needle)
    return problems


@pytest.fixture
def hostile_lab(lab, store, monkeypatch):
    """A lab whose every user text is hostile: an image-folder dataset with a class folder named like a link,
    a finished run on it (name, notes, tags, predictions), and a sweep named like one."""
    folder = lab.data_root / "wrap"
    make_image_folder(folder, {LINK: 6, "cats <b>": 6}, size=(16, 16))
    config = TrainConfig(name=PAYLOAD[:100], dataset="folder:wrap", image_size=16, notes=PAYLOAD)
    run_id = store.create_run(config.display_name(), config.to_dict(), notes=PAYLOAD, epochs=1)
    store.claim(run_id, 1, "host")
    store.report(run_id, [MetricPoint("epoch", 1, 1.0, 1.0, "val_accuracy", 0.5)], 1, 1, 1.0, None)
    store.finish(run_id, SUCCEEDED, test_accuracy=0.5, test_loss=0.7)
    relabel(store, run_id, PAYLOAD[:100], PAYLOAD, [LINK])
    run_dir = lab.runs_dir / str(run_id)
    run_dir.mkdir(parents=True)
    np.savez_compressed(run_dir / "predictions.npz", y_true=np.array([0, 1, 1]), y_pred=np.array([1, 1, 0]),
                        class_names=np.array([LINK, "cats <b>"]), mistakes=np.zeros((2, 16, 16, 3), np.uint8),
                        mistakes_true=np.array([0, 1]), mistakes_pred=np.array([1, 0]))
    spec = SweepSpec(name=PAYLOAD[:60], datasets=("digits",), variants=(Variant("mlp", "mlp"),),
                     optimizers=("adam",), learning_rates=(1e-2,), batch_sizes=(16,), epochs=(1,))
    sweeps.start(spec, lab)
    return lab, run_id


PAGES = [("app.py", {}), ("pages/runs.py", {"run": "1"}), ("pages/sweeps.py", {}), ("pages/data.py", {}),
         ("pages/train.py", {}), ("pages/lessons.py", {"lesson": "10"}), ("pages/lessons.py", {"lesson": "6",
                                                                                            "runs": "1"})]


@pytest.mark.parametrize(("path", "params"), PAGES, ids=[f"{p}?{json.dumps(q)}" for p, q in PAGES])
def test_hostile_user_text_is_shown_as_text_on_every_page(hostile_lab, path, params):
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=60)
    if path != "app.py":
        at.switch_page(path)
    for key, value in params.items():
        at.query_params[key] = value
    if path == "pages/data.py":
        at.session_state["inspect_key"] = "folder:wrap"
    if path == "pages/train.py":
        at.session_state["dataset"] = "folder:wrap"
    at.run()
    assert not at.exception
    texts = _markdown_texts(at._tree)
    assert texts, "the walk found nothing to check"
    bad = [(kind, source[:160]) for kind, source in texts if _unsafe(source)]
    assert not bad, bad
    if path in ("pages/runs.py", "pages/data.py"):  # the walk did reach the hostile text, escaped
        assert any("click here" in source for _, source in texts)


def test_a_refusal_quoting_typed_text_cannot_carry_a_link(lab):
    from core.views.display import escape_links

    message = escape_links(f"name: the dataset {LINK!r} is not here; <b>see</b> `this`")
    assert "[click here](" not in message and "<b>" not in message and "`this`" in message
    assert message.startswith("name: the dataset '\\[click here\\](https\u2060:evil.example)'")
    bare = escape_links("see www.evil.example, https://evil.example/x or help@evil.example")
    assert bare == "see www\u2060.evil.example, https\u2060://evil.example/x or help\u2060@evil.example"


def test_figures_show_user_text_as_text(hostile_lab, store):
    """Plotly reads labels as HTML (<a href>, <b>): class names and run names reach it escaped."""
    import pandas as pd

    from core.views import data_stats, evaluation
    from core.views.compare import compare_figure

    lab, run_id = hostile_lab
    figures = [evaluation.confusion_figure(evaluation.load_predictions(lab.runs_dir / str(run_id))),
               data_stats.class_distribution_chart(pd.DataFrame({"class": ["cats <b>"], "train": [1], "test": [1]})),
               compare_figure([store.get(run_id)], pd.DataFrame(
                   [(run_id, "epoch", 1, 1.0, 1.0, "val_accuracy", 0.5)],
                   columns=["run_id", "kind", "step", "epoch", "elapsed", "name", "value"]))]
    store.create_run("<b>bold</b> run", TrainConfig().to_dict())
    figures.append(compare_figure([store.get(run_id + 2)], pd.DataFrame(
        columns=["run_id", "kind", "step", "epoch", "elapsed", "name", "value"])))
    for figure in figures:
        shown = json.dumps([[t.name, list(t.x) if t.x is not None else []] for t in figure.data], default=str)
        assert "<b>" not in shown and "<img" not in shown, shown[:300]
    for figure in (figures[0], figures[1], figures[3]):
        shown = json.dumps([[t.name, list(t.x) if t.x is not None else []] for t in figure.data], default=str)
        assert "&lt;" in shown, shown[:300]


def test_the_train_pages_progress_bar_shows_a_cloned_runs_name_as_text(hostile_lab):
    """A clone copies another's run name: under Start, the progress bar's text (markdown) keeps it text."""
    _, run_id = hostile_lab
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=60)
    at.switch_page("pages/train.py")
    at.session_state["train_started"] = run_id
    at.run()
    assert not at.exception
    [bar] = at.get("progress")
    text = bar.proto.text
    assert "click here" in text and "[click here](" not in text and "<img" not in text.replace("\\<img", ""), text
