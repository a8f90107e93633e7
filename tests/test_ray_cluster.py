"""The cluster shape on one machine: a Ray cluster of two nodes and a PostgreSQL server, both started by
the test on loopback; runs spread over both nodes with live metrics, a cancel, a node removed mid-run, the
head's dispatcher restarted, artifacts in the shared folder, and a submission refused in one line when no
cluster answers."""
import time
from dataclasses import replace

import pytest

from core.cli.main import main
from core.domain.config import TrainConfig
from core.domain.node_room import choose_node, free_room, placeable, too_big
from core.domain.statuses import CANCELLED, QUEUED, RUNNING, SUCCEEDED
from core.domain.sweep_parsing import Variant
from core.domain.sweep_spec import Halving, SweepSpec
from core.runtime import worker
from core.services import jobs, sweeps
from core.services.capacity import runs_at_once
from core.settings import load_settings, settings_for_node
from core.store.runs import RunStore
from tests.conftest import on_both_databases, wait_for

# One Ray cluster at a time on this machine: with `pytest -n`, every test of this module runs in one process.
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("ray")]


def _nodes(*specs):
    """ray.nodes()-like dicts: (id, CPUs, GPUs, alive)."""
    return [{"NodeID": i, "Alive": alive, "Resources": {"CPU": float(c), **({"GPU": float(g)} if g else {})}}
            for i, c, g, alive in specs]


def test_room_is_counted_per_alive_node_and_a_run_no_node_can_hold_is_named():
    nodes = _nodes(("gpu-box", 4, 1, True), ("pc-1", 3, 0, True), ("gone", 64, 8, False))
    room = free_room(nodes, [("pc-1", 2, 0), ("gone", 1, 0)])
    assert sorted(room) == ["gpu-box", "pc-1"]  # the gone node's 64 CPUs do not count
    assert (room["pc-1"].free_cpus, room["gpu-box"].free_cpus, room["gpu-box"].free_gpus) == (1, 4, 1)
    assert placeable(nodes, 4, 1) and placeable(nodes, 3, 0)
    assert not placeable(nodes, 5, 0) and not placeable(nodes, 1, 2)
    assert too_big(8, 0, nodes).startswith("it asks for 8 CPUs and 0 GPUs, and no node of the Ray cluster has that "
                                           "(the largest: 4 CPUs, 1 GPU)")


def test_cpu_runs_spread_over_the_machines_and_keep_off_the_gpu_one():
    room = free_room(_nodes(("gpu-box", 8, 1, True), ("pc-1", 4, 0, True), ("pc-2", 4, 0, True)), [("pc-1", 1, 0)])
    assert choose_node(room, 1, 0) == "pc-2"  # the emptiest PC, not the one already training
    assert choose_node(room, 4, 0) == "pc-2"  # pc-1 has 3 free: only pc-2 holds 4 CPUs besides the GPU box
    assert choose_node(room, 6, 0) == "gpu-box"  # no PC holds it: the GPU machine does
    assert choose_node(room, 2, 1) == "gpu-box" and choose_node(room, 9, 0) is None
    room["gpu-box"].free_gpus = 0
    assert choose_node(room, 1, 1) is None  # its GPU is taken


def test_runs_at_once_on_a_cluster_are_what_its_nodes_hold(lab, monkeypatch):
    from core.services.capacity import runs_at_once
    from core.store.cluster import SeenNode

    nodes = [SeenNode("gpu-box", "gpu-box", 4, 1, 0.0), SeenNode("pc-1", "pc-1", 3, 0, 0.0)]
    settings = load_settings()
    assert runs_at_once(settings, nodes=nodes) == settings.workers == 2  # the laptop shape: the pool's workers
    monkeypatch.setenv("TRAINLAB_EXECUTOR", "ray")
    monkeypatch.setenv("TRAINLAB_RUN_CPUS", "2")
    settings = load_settings()
    assert runs_at_once(settings, nodes=nodes) == 2 + 1  # whole runs of 2 CPUs on each node
    assert runs_at_once(settings, cpus=1, nodes=nodes) == 7
    assert runs_at_once(settings, cpus=2, gpus=1, nodes=nodes) == 1  # only the GPU box holds a GPU run
    assert runs_at_once(settings, cpus=8, nodes=nodes) == 1  # too big for any node: never below one
    assert runs_at_once(settings, nodes=[]) == settings.workers  # no dispatcher has looked yet


@on_both_databases
def test_the_dispatchers_view_of_the_cluster_is_kept_for_the_pages(store, db):
    from core.store.cluster import save_cluster, seen_cluster

    save_cluster(store, [("n2", "lab-pc-2", 4.0, 0.0), ("n1", "gpu-box", 8.0, 1.0)], now=100.0)
    assert [(n.node_id, n.hostname, n.cpus, n.gpus) for n in seen_cluster(store, since=50.0)] == \
        [("n1", "gpu-box", 8.0, 1.0), ("n2", "lab-pc-2", 4.0, 0.0)]
    assert seen_cluster(store, since=100.0) == []  # stale: no dispatcher has looked since
    save_cluster(store, [("n1", "gpu-box", 8.0, 1.0)], now=200.0)  # a node left
    assert [n.node_id for n in seen_cluster(store, since=50.0)] == ["n1"]


def test_a_sweeps_duration_on_a_cluster_counts_its_trials_own_size_before_and_while_it_runs(lab, store,
                                                                                              monkeypatch):
    import json

    import pandas as pd

    from core.store.cluster import save_cluster
    from tests.test_sweeps import GRID

    monkeypatch.setenv("TRAINLAB_EXECUTOR", "ray")
    settings = load_settings()
    spec = replace(GRID, shared={"train_subset": 200, "cpus": 4})
    guess = sweeps.plan(spec, settings)  # no dispatcher has looked at the nodes yet: the pool's workers
    assert (guess.workers, guess.on_cluster) == (settings.workers, False)
    save_cluster(store, [("n1", "pc-1", 4.0, 0.0), ("n2", "pc-2", 4.0, 0.0)])
    plan = sweeps.plan(spec, settings)
    assert (plan.workers, plan.on_cluster) == (2, True)  # one 4-CPU trial per node, not four 2-CPU runs
    runs = pd.DataFrame({"run": range(len(plan.trials)), "status": QUEUED, "eta_seconds": None, "progress": 0.0,
                         "config": [json.dumps(t.config.to_dict()) for t in plan.trials]})
    eta = sweeps.progress(runs, settings).eta_seconds
    assert eta == pytest.approx(plan.wall_seconds) and eta > sweeps.plan(GRID, settings).wall_seconds


def test_the_dispatcher_places_runs_in_fair_order_and_holds_room_for_a_run_passed_over_too_long(lab, store):
    from core.runtime.ray_executor import HOLD_AFTER, RayDispatcher

    dispatcher = RayDispatcher(load_settings())
    nodes = _nodes(("a", 2, 0, True), ("b", 2, 0, True))
    busy = [("a", 1, 0)]  # one CPU of node a is taken by someone else's run
    queued = {}

    def submit(name, cpus):
        queued[name] = store.create_run(name, TrainConfig(cpus=cpus).to_dict())

    def plan(now):
        """What the dispatcher starts now; those runs then train (claimed) on their node."""
        starts = dispatcher.plan(nodes, free_room(nodes, busy), now=now)
        for run_id, cpus, _, node in starts:
            store.claim(run_id, 1, node)
            busy.append((node, cpus, 0))
        return [(store.get(run_id).name, node) for run_id, _, _, node in starts]

    for name, cpus in (("small", 1), ("big", 2), ("other", 1), ("huge", 3)):
        submit(name, cpus)
    # big fits on no node once small took the emptier one: passed over, and other starts in the room left.
    assert plan(0.0) == [("small", "b"), ("other", "a")]
    assert store.get(queued["huge"]).status == CANCELLED  # no node could ever hold 3 CPUs
    assert store.get(queued["huge"]).error.startswith("it asks for 3 CPUs")
    assert dispatcher.waiting_since == {queued["big"]: 0.0}
    submit("later", 1)
    assert plan(HOLD_AFTER / 2) == [("later", "b")]  # big still cannot fit: a smaller run may go first
    busy.remove(("b", 1, 0))  # small ends: b has one CPU free, a none; still not two on one node
    submit("another", 1)
    submit("third", 1)
    # big waited long enough: b, nearest to holding it, is kept for it; nothing behind big starts there.
    assert plan(HOLD_AFTER) == []
    assert dispatcher.kept_for == {queued["big"]: "b"}
    busy.remove(("a", 1, 0))  # someone else's run on a ends: a goes on training the runs behind big
    assert plan(HOLD_AFTER + 1) == [("another", "a")]  # and third does not take b's free CPU
    busy.remove(("b", 1, 0))  # later ends: b is free
    assert plan(HOLD_AFTER + 2) == [("big", "b")]
    assert dispatcher.waiting_since == {} and dispatcher.kept_for == {}
    busy.remove(("a", 1, 0))  # other ends
    assert plan(HOLD_AFTER + 3) == [("third", "a")]
    assert dispatcher.waiting_since == {}


def test_a_run_held_for_is_given_the_node_nearest_to_holding_it():
    from core.domain.node_room import node_to_hold

    nodes = _nodes(("gpu-box", 8, 1, True), ("pc-1", 4, 0, True), ("pc-2", 4, 0, True), ("pc-3", 2, 0, True))
    room = free_room(nodes, [("pc-1", 3, 0), ("pc-2", 2, 0), ("gpu-box", 8, 1)])
    assert node_to_hold(room, 4, 0) == "pc-2"  # 2 of its 4 CPUs free; pc-3 is too small; the GPU box is last
    assert node_to_hold(room, 2, 1) == "gpu-box" and node_to_hold(room, 16, 0) is None
    del room["pc-1"], room["pc-2"]
    assert node_to_hold(room, 4, 0) == "gpu-box"  # no PC is big enough: the GPU machine is


def test_a_task_takes_the_heads_settings_but_not_the_nodes_own(lab, monkeypatch):
    monkeypatch.setenv("TRAINLAB_DB_URL", "postgresql://lab@db/trainlab")
    monkeypatch.setenv("TRAINLAB_ARTIFACTS", "/mnt/lab/runs")
    settings = load_settings()
    env = settings_for_node(settings, {"TRAINLAB_DB_URL": "postgresql://lab@db/trainlab", "KERAS_HOME": "/k",
                                      "TRAINLAB_DATA_ROOT": "/data", "TRAINLAB_REPORT_INTERVAL": "0.1", "PATH": "/x"})
    assert env == {"TRAINLAB_DB_URL": "postgresql://lab@db/trainlab", "TRAINLAB_REPORT_INTERVAL": "0.1",
                   "TRAINLAB_ARTIFACTS": "/mnt/lab/runs"}


@pytest.fixture
def cluster(tmp_path, monkeypatch, postgres_server, lab):
    """Two Ray nodes of 2 CPUs on 127.0.0.1, a PostgreSQL store, a shared artifacts folder and the dispatcher."""
    from ray.cluster_utils import Cluster

    # Ray's own idle workers, started with each node and each driver, would be a Python process per CPU that
    # no run needs: the dispatcher readies its warm workers itself (RayDispatcher._prewarm).
    monkeypatch.setenv("RAY_enable_worker_prestart", "0")
    monkeypatch.setenv("RAY_prestart_worker_first_driver", "0")
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


# Six phases, each bounded by its own wait: 130-270 s on a busy 2-core machine, and over pytest's 300 s on CI's.
@pytest.mark.timeout(600)
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
    assert runs_at_once(settings) == 4  # the pages' figure: 2 nodes of 2 CPUs, 1 a run (not TRAINLAB_WORKERS)
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
    wait_for(lambda: runs_at_once(settings) == 2, 30, what="the pages told the cluster is one node smaller")
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
    # The store takes the result first, then the attempt's files take their final names (a superseded attempt never
    # leaves a model behind): they follow the status by a moment.
    kept = lambda: {p.name for p in (settings.runs_dir / str(short)).iterdir()}  # noqa: E731
    wait_for(lambda: {"model.keras", "predictions.npz", "tensorboard"} <= kept(), 10, what=f"its files ({kept()})")
    assert any((settings.runs_dir / str(short) / "tensorboard").rglob("events.out.tfevents.*"))
    assert done.test_accuracy is not None and str(settings.runs_dir).endswith("shared")
    # The next CPU-only run of that size trains in the same warm worker process: TensorFlow is imported.
    again = jobs.submit(TrainConfig(name="short again", train_subset=400, epochs=1, cpus=2), settings)
    done_again = wait_for(lambda: (r := store.get(again)).status not in (QUEUED, RUNNING) and r, 120,
                          what="the second short run")
    assert done_again.status == SUCCEEDED, done_again.error
    assert (done_again.worker_pid, done_again.worker_host) == (done.worker_pid, done.worker_host)

    # 6. A node joins again, and a sweep with successive halving spreads over both: each trial takes a whole
    # node; the Adam trials go first, and the SGD ones (a rate too small to learn) are stopped at the first
    # rung by scores the other node's trials wrote.
    ray_cluster.add_node(num_cpus=2, node_ip_address="127.0.0.1")
    spec = SweepSpec(name="halving on the cluster", datasets=("digits",), variants=(Variant("mlp", "mlp"),),
                     optimizers=("adam", "sgd"), per_optimizer_lr={"adam": (1e-3, 3e-3), "sgd": (1e-7, 2e-7)},
                     batch_sizes=(16,), epochs=(3,), shared={"train_subset": 300, "cpus": 2}, halving=Halving(eta=2))
    sweep_id = sweeps.start(spec, settings)
    trial_ids = [int(r) for r in sweeps.runs_frame(sweep_id, settings)["run"]]
    trials = wait_for(lambda: (ts := [store.get(i) for i in trial_ids]) and all(t.status == SUCCEEDED for t in ts)
                      and ts, 240, what="the sweep's four trials")
    assert len({_node(t) for t in trials}) == 2  # spread over both nodes
    frame = sweeps.runs_frame(sweep_id, settings).set_index("run")
    sgd = [t.id for t in trials if t.config_dict["optimizer"] == "sgd"]
    assert [frame.loc[i, "stopped_at"] for i in sgd] == [1, 1] and all(store.get(i).epoch == 1 for i in sgd)
    # The first Adam trial at each rung goes on (nothing to compare with yet): one trains all three epochs.
    assert max(t.epoch for t in trials if t.config_dict["optimizer"] == "adam") == 3


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

    from core.store.cluster import save_cluster
    from tests.test_pages import _page

    at = _page("pages/train.py").run()
    assert not [n for n in at.number_input if n.key == "cpus"] and not [s for s in at.selectbox if s.key == "gpus"]
    head = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "node_ip_address": "127.0.0.1",
                                                         "include_dashboard": False})
    try:
        monkeypatch.setenv("TRAINLAB_EXECUTOR", "ray")
        monkeypatch.setenv("TRAINLAB_RAY_ADDRESS", head.address)
        at = _page("pages/train.py").run()
        assert any(c.value.endswith("Ray cluster: no dispatcher has looked at its nodes in the last minute; one "
                                    "starts with the next run") for c in at.caption)  # no dispatcher yet: nothing seen
        at.number_input(key="cpus").set_value(3)
        at.selectbox(key="gpus").set_value("0")
        at.button(key="start").click().run()
        assert not at.exception and not at.error
        at.number_input(key="cpus").set_value(0)  # 0: the cluster's default, as the label says
        at.button(key="start").click().run()
        at.number_input(key="cpus").set_value(0.5)
        at.button(key="start").click().run()
        assert at.error[0].value == "Cluster CPUs: must be a whole number; got 0.5"  # and nothing queued
        # The Sweeps page asks the same of every trial.
        at = _page("pages/sweeps.py").run()
        assert any("at a time (a guess until the cluster's dispatcher has looked at its nodes)" in i.value
                   for i in at.info)  # no dispatcher yet: the pool's workers stand in
        at.number_input(key="sw_cpus").set_value(0.5).run()
        assert [e.value for e in at.error] == [
            "Cluster CPUs per trial: must be a whole number; got 0.5 (in trial mlp · digits)"]
        assert at.button(key="sw_start").disabled
        at.number_input(key="sw_cpus").set_value(2)
        at.selectbox(key="sw_gpus").set_value("0").run()
        at.button(key="sw_start").click().run()
        assert not at.exception and not at.error
        save_cluster(store, [("n1", "lab-pc-1", 4.0, 0.0), ("n2", "lab-pc-2", 3.0, 0.0)])  # a dispatcher looked
        at = _page("pages/sweeps.py").run()
        at.radio(key="sweep_view").set_value("New sweep").run()
        at.number_input(key="sw_cpus").set_value(2).run()
        assert any("with 3 at a time on the Ray cluster" in i.value for i in at.info)  # 2 + 1 trials of 2 CPUs
        at = _page("app.py").run()  # Home counts the cluster's runs at once, not a local pool's workers
        assert [(m.label, m.value) for m in at.metric][-1] == ("Runs at once", str(jobs.summary().workers))
    finally:
        head.shutdown()
    first, second, *trials = sorted(store.list_runs(), key=lambda r: r.id)
    assert (first.config_dict["cpus"], first.config_dict["gpus"]) == (3, 0)
    assert (second.config_dict["cpus"], second.config_dict["gpus"]) == (None, 0)
    assert trials and {(t.config_dict["cpus"], t.config_dict["gpus"]) for t in trials} == {(2, 0)}
    monkeypatch.delenv("TRAINLAB_EXECUTOR")
    at = _page("pages/sweeps.py").run()  # on a laptop: no such fields
    assert not [n for n in at.number_input if n.key == "sw_cpus"]
    assert not [s for s in at.selectbox if s.key == "sw_gpus"] and not at.exception
    assert _page("app.py").run().metric[-1].label == "Workers"


def test_a_cloned_run_keeps_its_cluster_resources():
    from core.domain.train_form import TrainForm

    form = TrainForm.from_config(TrainConfig(cpus=3, gpus=1).to_dict(), "again")
    assert (form.cpus, form.gpus) == (3, "1")
    assert (form.to_config().cpus, form.to_config().gpus) == (3, 1)
    default = TrainForm.from_config(TrainConfig().to_dict(), "again").to_config()
    assert (default.cpus, default.gpus) == (None, None)


@on_both_databases
def test_a_node_whose_clock_is_off_the_databases_says_so_instead_of_training(store, db):
    from core.domain.clock_skew import clock_problem

    offset = store.clock_offset()  # the test's server runs on this machine: the same clock
    assert offset == 0.0 if db == "sqlite" else abs(offset) < 0.5
    assert clock_problem(offset, 30.0) is None and clock_problem(-9.9, 30.0) is None
    assert clock_problem(42.4, 30.0).startswith("this machine's clock is 42 s behind the database server's, and the "
                                                "head reads its heartbeats by time; set its clock right")
    assert clock_problem(-12, 30.0).startswith("this machine's clock is 12 s ahead of the database server's")
