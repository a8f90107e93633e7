"""Lessons page: every lesson of the course as a card with its question, what to look for and one button;
an open lesson (`/lessons?lesson=6&runs=3,4`, a link to share) shows its result above the cards."""
import streamlit as st

from core.domain.lessons import LESSONS, Lesson
from core.domain.run_query import linked_run_ids
from core.domain.statuses import ACTIVE_STATUSES
from core.errors import Refusal
from core.services import catalog, jobs, lessons
from core.settings import load_settings
from pages.common.auth import current_actor
from pages.common.handoff import request_assignment_preset, request_model
from pages.common.lesson_results import assignment_result, augment_result, conv_result, runs_result
from pages.common.nav import page_setup
from pages.common.widgets import refusal

page_setup("pages/lessons.py")
st.title("Lessons")
st.caption("Each lesson of the course in one click: its question, what to look for, and a button that does it "
           "with the course's own settings. Runs queue like any other and show up on the Runs page too.")
settings = load_settings()
actor = current_actor()
datasets = catalog.entries(settings, current_actor())  # once for every card's check


# Run once per press (the press count makes each a new element): bring the result's box to the top of the view
# once it is drawn.
SCROLL_TO_RESULT = """<script>/* press PRESS */
(function go(tries) {
  const box = document.querySelector('.st-key-lesson_result');
  if (box) box.scrollIntoView({block: 'start'}); else if (tries) setTimeout(() => go(tries - 1), 100);
})(50);
</script>"""


def _open(lesson: Lesson, ids: list[int] | None = None) -> None:
    """Show `lesson`'s result where its card was, so it opens where the student is looking (a shared link opens
    it at the top); the URL holds it, so the link can be shared."""
    st.session_state["lesson_opened_at_card"] = lesson.key
    st.session_state["lesson_scroll"] = st.session_state.get("lesson_scroll", 0) + 1
    st.query_params.from_dict({"lesson": lesson.key, **({"runs": ",".join(map(str, ids))} if ids else {})})
    st.rerun()


def _act(lesson: Lesson) -> None:
    """The card's button: queue the lesson's runs, or open its page or result."""
    if lesson.kind == "runs":
        try:
            ids = lessons.start(lesson, settings, actor=actor)
        except Refusal as exc:
            st.error(refusal(exc), icon=":material/error:")
            return
        _open(lesson, ids)
    elif lesson.kind == "model":
        cifar = next((d.key for d in datasets if d.key == "cifar10" and d.available), None)
        request_model(lesson.architectures[0], cifar)
        st.switch_page("pages/models.py")
    elif lesson.kind == "sweep":
        request_assignment_preset()
        st.switch_page("pages/sweeps.py")
    else:
        _open(lesson)


def _card(lesson: Lesson) -> None:
    with st.container(border=True):
        st.markdown(f"#### {lesson.number}. {lesson.title}")
        st.markdown(f"*{lesson.question}*")
        st.caption(f"Look for: {lesson.look_for}")
        ready = lessons.readiness(lesson, settings, datasets, actor) if lesson.runs else lessons.Readiness()
        if not ready.ready:
            st.warning(f"Not on this machine yet: {ready.missing}", icon=":material/download:")
        buttons = st.container(horizontal=True)
        earlier = lessons.earlier_runs(lesson, settings, actor=actor) if lesson.runs else []
        training = any(r.status in ACTIVE_STATUSES for r in jobs.runs_by_id(earlier, actor=actor))
        if training:  # pressed before and still training: open those runs instead of queueing them again
            if buttons.button("Open its runs (training now)", key=f"lesson_go_{lesson.key}", type="primary"):
                _open(lesson, earlier)
        elif buttons.button(lesson.button, key=f"lesson_go_{lesson.key}", disabled=not ready.ready,
                            type="primary" if ready.ready else "secondary"):
            _act(lesson)
        if earlier and not training and buttons.button("Open my last result", key=f"lesson_last_{lesson.key}"):
            _open(lesson, earlier)
        if lesson.kind == "sweep" and buttons.button("Show the checklist", key=f"lesson_check_{lesson.key}"):
            _open(lesson)


# -- the open lesson's result ------------------------------------------------------------------------
def _result(current: Lesson, ids: list[int]) -> None:
    """The open lesson's result in a box, with Close; just opened from a card, the page scrolls to it (a result
    open above an earlier row closes as this one opens, and the page would keep a scroll position past it)."""
    if st.session_state.get("lesson_scroll", 0) > st.session_state.get("lesson_scrolled", 0):
        st.session_state["lesson_scrolled"] = st.session_state["lesson_scroll"]
        st.html(SCROLL_TO_RESULT.replace("PRESS", str(st.session_state["lesson_scroll"])),
                unsafe_allow_javascript=True)
    with st.container(border=True, key="lesson_result"):
        head = st.columns([5, 1], vertical_alignment="center")
        head[0].subheader(f"Lesson {current.number}: {current.title}")
        head[1].button("Close", key="lesson_close", on_click=st.query_params.clear)
        st.markdown(f"*{current.question}* {current.look_for}")
        if current.kind == "runs":
            if ids:
                runs_result(current, ids, actor)
            else:
                st.info("Press the lesson's button below to queue its runs.")
        elif current.kind == "conv":
            conv_result(current, settings)
        elif current.kind == "augment":
            augment_result(settings)
        elif current.kind == "sweep":
            assignment_result(settings)


current, ids = None, []
if "lesson" in st.query_params:
    try:
        current = lessons.lesson(st.query_params["lesson"])
        ids = linked_run_ids(st.query_params.get("runs"))
    except Refusal as exc:
        current = None
        st.error(refusal(exc),
                 icon=":material/error:")
# Opened from its card: drawn just above that card's row, where the student is looking (the page keeps its
# scroll position, and the card moves down below the result); opened from a link: at the top.
at_card = current is not None and st.session_state.get("lesson_opened_at_card") == current.key
if current is not None and not at_card:
    _result(current, ids)

# -- the cards ---------------------------------------------------------------------------------------
for first in range(0, len(LESSONS), 2):  # rows of two, so the cards read in the course's order
    row = LESSONS[first:first + 2]
    if at_card and current in row:
        _result(current, ids)
    for column, lesson in zip(st.columns(2, gap="medium"), row):
        with column:
            _card(lesson)
