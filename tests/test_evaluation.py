"""Confusion matrix and per-class accuracy against hand-counted values, and on the Runs page."""
import numpy as np

from core.views import evaluation
from tests.test_pages import _finished_run, _page


def _predictions():
    return evaluation.Predictions(
        y_true=np.array([0, 0, 0, 1, 1, 2]), y_pred=np.array([0, 0, 1, 1, 2, 2]), class_names=("cat", "dog", "fox"),
        mistakes=np.zeros((2, 4, 4, 3), np.uint8), mistakes_true=np.array([0, 1]), mistakes_pred=np.array([1, 2]))


def test_confusion_matrix_and_per_class_accuracy():
    p = _predictions()
    assert evaluation.confusion_matrix(p).tolist() == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    table = evaluation.per_class_accuracy(p)
    assert table["test images"].tolist() == [3, 2, 1]
    assert table["accuracy"].round(4).tolist() == [0.6667, 0.5, 1.0]


def test_each_confusion_cell_carries_its_classes_and_count_for_a_click():
    figure = evaluation.confusion_figure(_predictions())
    markers = figure.data[1]
    cells = {(x, y): data for x, y, data in zip(markers.x, markers.y, markers.customdata)}
    assert len(cells) == 9
    assert cells[("dog", "cat")] == [0, 1, 1]  # true cat, predicted dog, once
    assert cells[("fox", "dog")] == [1, 2, 1]
    assert cells[("cat", "fox")] == [2, 0, 0]
    point = {"x": "dog", "y": "cat", "customdata": cells[("dog", "cat")]}
    assert evaluation.clicked_cell({"selection": {"points": [point]}}) == (0, 1)
    assert evaluation.clicked_cell({"selection": {"points": []}}) is None
    assert evaluation.clicked_cell(None) is None


def test_runs_page_shows_results_by_class(lab, store):
    run_id = _finished_run(store)
    p = _predictions()
    folder = lab.runs_dir / str(run_id)
    folder.mkdir(parents=True)
    np.savez(folder / "predictions.npz", y_true=p.y_true, y_pred=p.y_pred, class_names=np.array(p.class_names),
             mistakes=p.mistakes, mistakes_true=p.mistakes_true, mistakes_pred=p.mistakes_pred)
    at = _page("pages/runs.py").run()
    assert not at.exception
    assert "Test results by class" in [e.label for e in at.expander]
    [confusion] = [c for c in at.get("plotly_chart") if c.key == f"confusion_{run_id}"]
    import json

    assert json.loads(confusion.proto.spec)["data"][0]["type"] == "heatmap"
    assert any(c.value.startswith("Misclassified test images") for c in at.caption)
