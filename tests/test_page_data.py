"""The Data page under AppTest: the catalog, a look inside datasets, uploads, a failed download."""
import io
import json

import numpy as np
import pytest

from core.data import datasets
from tests.conftest import make_cifar10, make_image_folder
from tests.test_pages import _page, _values


def _table(at):
    return at.dataframe[0].value.set_index("key")  # the catalog is the page's first table


def test_catalog_says_what_is_here_and_where(lab):
    make_cifar10(lab.keras_home / "datasets" / "cifar-10-batches-py-target" / "cifar-10-batches-py")
    at = _page("pages/data.py").run()
    assert not at.exception
    table = _table(at)
    assert table.loc["digits", "status"] == "available offline"
    assert table.loc["cifar10", "status"] == "available offline" and table.loc["cifar10", "size on disk"].endswith("KB")
    assert table.loc["fashion_mnist", "status"] == "downloadable (needs network)"
    assert table.loc["fashion_mnist", "files"].endswith("fashion-mnist")  # where its files go
    # How to get a missing dataset is shown whole below the table, not cut in a cell.
    hints = "".join(m.value for m in at.markdown).replace("\\", "")  # markdown escapes
    assert "Fashion-MNIST: download it below" in hints and "apt-get install dataset-fashion-mnist" in hints
    assert "CIFAR-10:" not in hints
    assert table.loc["cifar100", "classes"] == 100 and table.loc["cifar100_coarse", "classes"] == 20


def test_look_inside_shows_samples_per_class_distribution_and_pixel_stats(lab):
    at = _page("pages/data.py").run()
    assert at.selectbox(key="inspect_key").value == "digits"
    images = at.get("image")
    assert len(images) == 10  # one row of samples per class
    stats = at.dataframe[len(at.dataframe) - 1].value  # pixel statistics close the page
    assert stats["channel"].tolist() == ["gray"] and 0 < stats.loc[0, "mean"] < 255 and stats.loc[0, "max"] == 255
    assert at.get("plotly_chart")  # the class distribution


def test_look_inside_an_image_folder(lab):
    make_image_folder(lab.data_root / "pets", {"cat": 3, "dog": 4})
    at = _page("pages/data.py").run()
    at.selectbox(key="inspect_key").set_value("folder:pets").run()
    assert not at.exception
    assert [c.value for c in at.caption if c.value in ("cat", "dog")] == ["cat", "dog"]
    assert len(at.get("image")) == 2
    bars = {t["name"]: _values(t["y"]) for t in json.loads(at.get("plotly_chart")[0].proto.spec)["data"]}
    assert bars == {"train": [2, 3], "test": [1, 1]}  # 20 % of each class held out for testing


def _npz_bytes() -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, x_train=np.zeros((6, 5, 5), np.uint8), y_train=np.arange(6) % 2,
             x_test=np.zeros((2, 5, 5), np.uint8), y_test=np.arange(2))
    return buffer.getvalue()


def test_upload_an_npz_through_the_page(lab):
    at = _page("pages/data.py").run()
    at.text_input(key="upload_name").set_value("tiny")
    at.file_uploader(key="upload_file_0").upload("tiny.npz", _npz_bytes()).run()
    at.button(key="upload_save").click().run()
    assert not at.exception and at.success[0].value.startswith("Saved as the dataset upload:tiny. ")
    assert str(lab.home) not in at.success[0].value  # the dataset's name, not the server's folders
    assert _table(at).loc["upload:tiny", "status"] == "available offline"
    # The uploader starts empty again: Streamlit no longer holds the file, and nothing is left on disk.
    assert at.file_uploader(key="upload_file_1").value is None
    assert not list(lab.uploads_dir.glob(".incoming-*"))


def test_a_bad_upload_gets_one_line_and_nothing_is_saved(lab):
    at = _page("pages/data.py").run()
    at.text_input(key="upload_name").set_value("../../etc")
    at.file_uploader(key="upload_file_0").upload("x.npz", _npz_bytes()).run()
    at.button(key="upload_save").click().run()
    assert not at.exception and at.error[0].value.startswith("name: use 1 to 40")
    at.text_input(key="upload_name").set_value("fine")
    at.file_uploader(key="upload_file_0").clear().upload("x.zip", b"not a zip").run()
    at.button(key="upload_save").click().run()
    assert at.error[0].value == "zip: not a readable .zip file"
    assert not any(d.source == "upload" for d in datasets.catalog(lab))
    at.run()  # the next redraw, the refusal read: the section stays open on the student's name and file
    assert [e for e in at.expander if e.label == "Upload your own data"][0].proto.expanded


@pytest.mark.timeout(180)
def test_download_without_network_says_where_to_put_the_files(lab, monkeypatch):
    # A proxy on a closed local port: the download fails at once, as it does with no network.
    for var in ("https_proxy", "http_proxy", "HTTPS_PROXY", "HTTP_PROXY"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")
    at = _page("pages/data.py")
    at.default_timeout = 150
    at.run()
    at.selectbox(key="download_key").set_value("mnist")
    at.button(key="download").click().run()
    assert not at.exception
    message = at.error[0].value
    assert message.startswith("dataset: could not download MNIST, no network?")
    assert f"put mnist.npz in {lab.keras_home / 'datasets'}/" in message
