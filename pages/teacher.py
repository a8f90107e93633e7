"""Class page (teachers): who trains what now, per-student counts, the assignment board, limits, the audit."""
import streamlit as st

from core.domain.class_rules import LIMITS, SWITCHES
from core.domain.statuses import ACTIVE_STATUSES, QUEUED, RUNNING
from core.domain.sweep_spec import ASSIGNMENT_TARGETS
from core.errors import Refusal
from core.services import accounts, catalog, classroom, client_package, jobs
from core.settings import load_settings
from core.views.classroom import audit_table, class_queue_table
from core.views.display import for_display
from core.views.own_code import install_command, server_address
from pages.common.auth import current_actor
from pages.common.live import watch_runs
from pages.common.nav import page_setup
from pages.common.queue import queue_places
from pages.common.tables import RUN_COLUMNS
from pages.common.widgets import refusal

page_setup("pages/teacher.py")
actor = current_actor()
if actor is None or not actor.is_teacher:  # the services refuse a student's changes too; this page is not theirs
    st.error("The Class page is for teachers: sign in as one.", icon=":material/lock:")
    st.stop()
settings = load_settings()
st.title("Class")
activity = jobs.activity()
watch_runs(activity)


@st.fragment(run_every=3 if activity.active else None)
def now_training() -> None:
    """What trains and waits now, and each student's counts: one screen for a projector."""
    active = jobs.list_runs(settings, actor=actor)
    active = [r for r in active if r.status in ACTIVE_STATUSES]
    summary = classroom.students(settings, actor=actor)
    counts = st.columns(4)
    counts[0].metric("Training now", sum(r.status == RUNNING for r in active))
    counts[1].metric("Queued", sum(r.status == QUEUED for r in active))
    students = summary[summary["role"] == "student"]  # the teacher's own runs are not a student's
    counts[2].metric("Students with runs", int((students[["queued", "running", "finished"]].sum(axis=1) > 0).sum()))
    counts[3].metric("Accounts", len(summary))
    st.subheader("Training and queued")
    if active:
        places = queue_places(activity.fingerprint) if any(r.status == QUEUED for r in active) else {}
        st.dataframe(class_queue_table(active, places), hide_index=True, key="class_active",
                     column_config={**RUN_COLUMNS, "detail": st.column_config.TextColumn("detail", width=260)})
    else:
        st.caption("Nothing is training or queued.")
    st.subheader("Accounts")
    st.dataframe(for_display(summary, ("best val accuracy", "best test accuracy")), hide_index=True,
                 key="class_students")


now_training()

st.subheader("Assignment board")
datasets = {d.key: d.title for d in catalog.entries(settings, current_actor()) if d.available}
left, right = st.columns([2, 1], vertical_alignment="bottom")
usual = classroom.usual_dataset(settings, actor=actor)  # the one the class trains on most, else one that is here
default = list(datasets).index(usual) if usual in datasets else 0
dataset = left.selectbox("Dataset", list(datasets), index=default, format_func=datasets.get, key="board_dataset")
# The target follows the dataset: the course's own where it has one (98.5 % MNIST, 90.5 % Fashion-MNIST).
target_text = right.text_input("Target test accuracy (%)", f"{100 * ASSIGNMENT_TARGETS.get(dataset, 0.9):g}",
                               key=f"board_target_{dataset}")
try:
    target = float(target_text.strip().rstrip("%")) / 100
except ValueError:
    target = None
if target is None or not 0 < target <= 1:  # the rest of the page stays: only the board waits for a target
    st.error(f"Target test accuracy: {target_text!r} is not a percentage; type a number above 0, up to 100, "
             "such as 90.5")
else:
    board = classroom.assignment_board(dataset, target, settings, actor=actor)
    st.caption("Each student's best finished run on this dataset, chosen by validation accuracy (never by test "
               "accuracy); its test accuracy beside it, and whether that reached the target.")
    st.dataframe(for_display(board, ("val accuracy", "test accuracy")), hide_index=True, key="board",
                 column_config={"reached": st.column_config.CheckboxColumn("reached")})
    st.download_button("Download the board (CSV)", classroom.board_csv(board), f"assignment-{dataset}.csv",
                       "text/csv", key="board_csv")

st.subheader("Limits for students")
rules = classroom.rules(settings)
with st.form("limits"):
    # Numbers typed (a whole number, or none), switches as toggles: "on"/"off" typed in a box was a guess.
    numbers = [(key, value, meaning) for key, value, meaning in rules.describe() if key in LIMITS]
    cols = st.columns(3)
    typed = {key: cols[i % 3].text_input(f"{meaning[0].upper()}{meaning[1:]}", value, key=f"limit_{key}",
                                         help=f"A whole number, or none (`{key}` on the command line)")
             for i, (key, value, meaning) in enumerate(numbers)}
    typed |= {key: "on" if st.toggle(f"{meaning[0].upper()}{meaning[1:]}", value == "on", key=f"limit_{key}") else "off"
              for key, value, meaning in rules.describe() if key in SWITCHES}
    saved = st.form_submit_button("Save limits")
if saved:
    try:
        classroom.set_rules({k: v for k, v in typed.items()}, settings, actor=actor)
    except Refusal as exc:
        st.error(refusal(exc), icon=":material/error:")
    else:
        st.success("Limits saved: new submissions are checked against them.", icon=":material/check_circle:")
st.caption("Runs training at the same time is checked when a worker picks the next run; the other limits when a "
           "student submits.")

st.subheader("Students' own scripts")
st.markdown("Students report their own Keras scripts and notebooks here with the client and a personal key; the "
            "**Your code** page shows each of them how, with this server's address:")
st.code(install_command(server_address(st.context.url), client_package.WHEEL_NAME), "bash", wrap_lines=True)
st.caption("Their runs show on the Runs page and on the board above, marked as their own code, under the limits "
           "above (epochs, parameters, runs at once).")

st.subheader("Audit")
audit = accounts.audit(settings, limit=100)
if audit:
    st.dataframe(audit_table(audit), hide_index=True, key="audit")
else:
    st.caption("No cancels, deletes or account changes yet.")
