"""The cluster shape on one machine: a Ray cluster of two nodes and a PostgreSQL server, both started by
the test on loopback; runs spread over both nodes with live metrics, a cancel, a node removed mid-run, the
head's dispatcher restarted, artifacts in the shared folder, and a submission refused in one line when no
cluster answers."""
import time

import pytest

from core.cli.main import main
from core.domain.config import TrainConfig
from core.runtime import worker
from core.runtime.ray_executor import capacity, placeable, task_environment, too_big
from core.services import jobs
from core.settings import load_settings
from core.store.runs import CANCELLED, QUEUED, RUNNING, SUCCEEDED, RunStore
from tests.conftest import wait_for

pytestmark = pytest.mark.integration


def test_room_is_counted_on_alive_nodes_and_a_run_no_node_can_hold_is_named():
    nodes = [{"Alive": True, "Resources": {"CPU": 4.0, "GPU": 1.0}}, {"Alive": True, "Resources": {"CPU": 3.0}},
             {"Alive": False, "Resources": {"CPU": 64.0, "GPU": 8.0}}]
    assert capacity(nodes) == (7.0, 1.0)
    assert placeable(nodes, 4, 1) and placeable(nodes, 3, 0)
    assert not placeable(nodes, 5, 0) and not placeable(nodes, 1, 2)  # the gone node's 64 CPUs do not count
    assert too_big(8, 0, nodes).startswith("it asks for 8 CPUs and 0 GPUs, and no node of the Ray cluster has that "
                                           "(the largest: 4 CPUs, 1 GPUs)")


def test_a_task_takes_the_heads_settings_but_not_the_nodes_own(lab, monkeypatch):
    monkeypatch.setenv("TRAINLAB_DB_URL", "postgresql://lab@db/trainlab")
    monkeypatch.setenv("TRAINLAB_ARTIFACTS", "/mnt/lab/runs")
    settings = load_settings()
    env = task_environment(settings, {"TRAINLAB_DB_URL": "postgresql://lab@db/trainlab", "KERAS_HOME": "/k",
                                      "TRAINLAB_DATA_ROOT": "/data", "TRAINLAB_REPORT_INTERVAL": "0.1", "PATH": "/x"})
    assert env == {"TRAINLAB_DB_URL": "postgresql://lab@db/trainlab", "TRAINLAB_REPORT_INTERVAL": "0.1",
                   "TRAINLAB_ARTIFACTS": "/mnt/lab/runs"}


@pytest.fixture
def cluster(tmp_path, monkeypatch, postgres_server, lab):
    """Two Ray nodes of 2 CPUs on 127.0.0.1, a PostgreSQL store, a shared artifacts folder and the dispatcher."""
    from ray.cluster_utils import Cluster

    ray_cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 2, "node_ip_address": "127.0.0.1", "include_dashboard": False})
    second = ray_cluster.add_node(num_cpus=2, node_ip_address="127.0.0.1")
    ray_cluster.wait_for_nodes()
    for name, value in {"TRAINLAB_EXECUTOR": "ray", "TRAINLAB_RAY_ADDRESS": ray_cluster.address,
                        "TRAINLAB_DB_URL": postgres_server.new_database(), "TRAINLAB_RUN_CPUS": "1",
                        "TRAINLAB_ARTIFACTS": str(tmp_path / "shared"), "TRAINLAB_HEARTBEAT_INTERVAL": "0.5",
                        "TRAINLAB_REPORT_INTERVAL": "0.1", "TRAINLAB_AUTOSTART_WORKERS": "1"}.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    try:
        yield settings, ray_cluster, second
    finally:
        worker.stop(settings)
        ray_cluster.shutdown()


def _node(run) -> str:
    return run.worker_host.rsplit("Ray node ", 1)[-1]


def test_runs_spread_over_two_nodes_cancel_and_survive_a_lost_node(cluster, capsys):
    settings, ray_cluster, second = cluster
    long = dict(train_subset=800, epochs=200, batch_size=4)
    store = RunStore(settings.store_location)
    greedy = jobs.submit(TrainConfig(name="wants a GPU", gpus=1), settings)  # no node has one
    ids = [jobs.submit(TrainConfig(name=f"run {i}", **long), settings) for i in range(4)]
    refused = wait_for(lambda: (r := store.get(greedy)).status == CANCELLED and r, 60, what="the GPU run refused")
    assert refused.error.startswith("it asks for 1 CPU and 1 GPU, and no node of the Ray cluster has that")

    # 1. Four runs train at once, two on each node, each drawing live points into PostgreSQL.
    runs = wait_for(lambda: (rs := [store.get(i) for i in ids]) and all(r.batch > 0 for r in rs) and rs, 180,
                    what="four runs training with live points")
    assert len({_node(r) for r in runs}) == 2 and all(r.status == RUNNING for r in runs)
    assert all(len(jobs.run_metrics(i, settings)) > 0 for i in ids)
    assert main(["cluster", "status"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"Ray cluster at {settings.ray_address}: 2 nodes alive, 4 CPUs, 0 GPUs; 4 runs training")
    rows = {line.split()[0]: line for line in out[2:]}
    for run in runs:
        assert f"#{run.id} {run.name}" in rows[_node(run)]

    # 2. A cancel reaches a run on the cluster within seconds.
    asked = time.monotonic()
    assert jobs.cancel(ids[0], settings) == RUNNING
    wait_for(lambda: store.get(ids[0]).status == CANCELLED, 30, what="the cancel")
    assert time.monotonic() - asked < 15

    # 3. The second node leaves mid-run: its runs go back to the queue with a reason naming the node, and
    # train again on the node that is left.
    lost_node = second.node_id[:8]
    on_lost = [i for i, r in zip(ids, runs) if _node(r) == lost_node and i != ids[0]]
    assert on_lost
    ray_cluster.remove_node(second)
    removed = time.monotonic()
    requeued = wait_for(lambda: (r := store.get(on_lost[0])).attempt_note and r, 60, what="the lost node noticed")
    assert time.monotonic() - removed < 30
    assert lost_node in requeued.attempt_note and "was lost" in requeued.attempt_note
    survivors = [i for i in ids[1:] if (r := store.get(i)).status == RUNNING and _node(r) != lost_node]
    if len(survivors) == 2:  # the node left is full: make room for the lost run
        jobs.cancel(survivors.pop(), settings)
    again = wait_for(lambda: (r := store.get(on_lost[0])).status == RUNNING and r.attempt == 2 and r.batch > 0 and r,
                     120, what="the run training again on the other node")
    assert _node(again) != lost_node

    # 4. The head's dispatcher restarts: the runs it had training go back to the queue, none is lost, and
    # the next dispatcher trains them.
    kept = survivors[0]
    assert store.get(kept).status == RUNNING and store.get(kept).attempt == 1
    assert worker.stop(settings)
    stopped = store.get(kept)
    assert stopped.status == QUEUED and "dispatcher" in stopped.attempt_note
    assert worker.ensure_running(settings)
    wait_for(lambda: (r := store.get(kept)).status == RUNNING and r.attempt == 2 and r.batch > 0, 120,
             what="the re-queued run training under the new dispatcher")

    # 5. A short run asking for two CPUs finishes on the cluster: its model lands in the shared artifacts folder.
    for run_id in ids[1:]:
        jobs.cancel(run_id, settings)
    short = jobs.submit(TrainConfig(name="short", train_subset=400, epochs=2, cpus=2), settings)  # a whole node
    done = wait_for(lambda: (r := store.get(short)).status not in (QUEUED, RUNNING) and r, 180, what="the short run")
    assert done.status == SUCCEEDED, done.error
    assert done.threads == 2  # it trained with the CPUs it asked for, not TRAINLAB_RUN_CPUS
    assert (settings.runs_dir / str(short) / "model.keras").is_file()
    assert str(settings.runs_dir).endswith("shared")


def test_cluster_status_on_a_laptop_says_how_to_use_a_cluster(lab, capsys):
    assert main(["cluster", "status"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cluster: this lab trains on its own worker pool (TRAINLAB_EXECUTOR=local)")
    assert len(err.splitlines()) == 1


def test_no_cluster_at_submit_is_one_line_and_nothing_is_queued(lab, monkeypatch):
    monkeypatch.setenv("TRAINLAB_EXECUTOR", "ray")
    monkeypatch.setenv("TRAINLAB_RAY_ADDRESS", "127.0.0.1:9")
    settings = load_settings()
    with pytest.raises(jobs.JobError, match=r"^executor: no Ray cluster answers at 127.0.0.1:9 \(.+\); start it"):
        jobs.submit(TrainConfig(name="nowhere"), settings)
    assert jobs.list_runs(settings) == [] and not worker.status(settings).running


def test_a_run_shows_the_cluster_node_it_trained_on(lab, store):
    from core.domain.placement import cluster_placement, node_label
    from core.views.display import escape_markdown
    from tests.test_pages import _page

    label = node_label("lab-pc-7", "3f2a9c1b44d0e1")
    assert label == "lab-pc-7 · Ray node 3f2a9c1b" and cluster_placement(label) == label
    assert cluster_placement("lab-pc-7") is None  # this machine's own pool: nothing to say
    on_node = store.create_run("on a node", TrainConfig().to_dict())
    store.claim(on_node, 1, label)
    local = store.create_run("here", TrainConfig().to_dict())
    store.claim(local, 1, "lab-pc-7")
    for run_id, expected in ((on_node, [f"Trained on {escape_markdown(label)}"]), (local, [])):
        at = _page("pages/runs.py")
        at.query_params["run"] = str(run_id)
        at.run()
        assert not at.exception
        assert [c.value for c in at.caption if c.value.startswith("Trained on")] == expected


def test_the_train_page_asks_a_run_s_cluster_resources_only_on_a_cluster(lab, store, monkeypatch):
    from ray.cluster_utils import Cluster

    from tests.test_pages import _page

    at = _page("pages/train.py").run()
    assert not [n for n in at.number_input if n.key == "cpus"] and not [s for s in at.selectbox if s.key == "gpus"]
    head = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "node_ip_address": "127.0.0.1",
                                                         "include_dashboard": False})
    try:
        monkeypatch.setenv("TRAINLAB_EXECUTOR", "ray")
        monkeypatch.setenv("TRAINLAB_RAY_ADDRESS", head.address)
        at = _page("pages/train.py").run()
        at.number_input(key="cpus").set_value(3)
        at.selectbox(key="gpus").set_value("0")
        at.button(key="start").click().run()
        assert not at.exception and not at.error
        at.number_input(key="cpus").set_value(0)  # 0: the cluster's default, as the label says
        at.button(key="start").click().run()
        at.number_input(key="cpus").set_value(0.5)
        at.button(key="start").click().run()
        assert at.error[0].value == "cpus: must be a whole number; got 0.5"  # and nothing queued
    finally:
        head.shutdown()
    first, second = sorted(store.list_runs(), key=lambda r: r.id)
    assert (first.config_dict["cpus"], first.config_dict["gpus"]) == (3, 0)
    assert (second.config_dict["cpus"], second.config_dict["gpus"]) == (None, 0)


def test_a_cloned_run_keeps_its_cluster_resources():
    from core.domain.train_form import TrainForm

    form = TrainForm.from_config(TrainConfig(cpus=3, gpus=1).to_dict(), "again")
    assert (form.cpus, form.gpus) == (3, "1")
    assert (form.to_config().cpus, form.to_config().gpus) == (3, 1)
    default = TrainForm.from_config(TrainConfig().to_dict(), "again").to_config()
    assert (default.cpus, default.gpus) == (None, None)
