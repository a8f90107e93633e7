"""What the Lessons page shows when a lesson is open (`/lessons?lesson=N`): its runs compared live beside the
course's own results, the conv demos with their feature maps, the augmentation presets side by side, or
the assignment's checklist for a sweep."""
import streamlit as st

from core.domain import augment
from core.domain.grading import score
from core.domain.lessons import Lesson
from core.domain.people import Actor
from core.domain.statuses import ACTIVE_STATUSES
from core.services import jobs, lessons, models, previews, sweeps
from core.settings import Settings
from core.views.display import escape_markdown
from core.views.image_grid import grid_png
from pages.common.auth import current_actor
from pages.common.compare_view import compare_view
from pages.common.feature_maps import feature_maps_view
from pages.common.live import watch_runs

CONV_INPUT = (128, 128, 3)  # the dog photo as the conv demos see it: its side is kept by 'same' padding


def runs_result(lesson: Lesson, ids: list[int], actor: Actor | None) -> None:
    """The lesson's runs compared, refreshed while they train, with the course's reference run."""
    if lesson.course_results:
        st.caption(f"The course: {lesson.course_results}")
    runs = jobs.runs_by_id(ids, actor=actor)  # a shared link may name deleted runs, or others' in exam mode
    if not runs:
        st.info("The runs of this link are gone (deleted) or not yours to see: press the lesson's button below.")
        return
    ids = [run.id for run in runs]
    activity = jobs.activity()
    interval = activity.pace(2) if activity.active and any(run.status in ACTIVE_STATUSES for run in runs) else None
    watch_runs(activity, every=2, pace=interval)
    compare_view(ids, "epoch", 0.0, False, interval, reference=lesson.reference)
    st.page_link("pages/runs.py", label="Open these runs on the Runs page", icon=":material/monitoring:",
                 query_params={"runs": ",".join(map(str, ids))})


@st.cache_resource(max_entries=4, show_spinner=False)
def _report(key: str) -> models.ModelReport:
    """A conv demo's layers on the dog photo's shape: built once for every session."""
    return models.report(key, CONV_INPUT, 2)


def conv_result(lesson: Lesson, settings: Settings) -> None:
    """The three conv demos on the dog photo: each layer's output size with its formula, and its maps."""
    photos = previews.photos(settings)
    dog = previews.photo(photos["dog"]) if "dog" in photos else None  # once, for the three demos
    for key in lesson.architectures:
        report = _report(key)
        with st.expander(report.name.replace("_", " "), expanded=True):
            st.dataframe(report.conv_rows, hide_index=True)
            if dog is not None:
                feature_maps_view(key, CONV_INPUT, 2, {}, dog)
    if dog is None:  # only when assets/ was removed from the install
        st.info("The dog photo is missing from assets/: reinstall Train Lab to see the feature maps.")


def augment_result(settings: Settings) -> None:
    """The dog preset on the dog photo beside the cat preset on the cat photo."""
    photos = previews.photos(settings)
    if not {"dog", "cat"} <= set(photos):  # only when assets/ was removed from the install
        st.info("The dog and cat photos are missing from assets/: reinstall Train Lab, or try the presets on "
                "your own photo on the Augment page.")
        return
    columns = st.columns(2, gap="large")
    for column, name in zip(columns, ("dog", "cat")):
        spec = augment.preset(name)
        samples = previews.samples(previews.photo(photos[name]), spec, 6, seed=0)
        column.markdown(f"**{name.title()} preset** · " + " → ".join(step["layer"] for step in spec))
        column.image(grid_png(samples.images, columns=3), width="stretch")
        column.caption(f"output {samples.output_shape}")


def assignment_result(settings: Settings) -> None:
    """The eight grading points, ticked from a chosen sweep's runs."""
    all_sweeps = sweeps.sweeps(settings, actor=current_actor())
    if not all_sweeps:
        st.info("No sweep yet: load the assignment preset in Sweeps, start it, then come back for the checklist.")
        return
    by_id = {s.id: s for s in all_sweeps}
    chosen = st.selectbox("Sweep", list(by_id), key="lesson_sweep", format_func=lambda i: f"#{i} {by_id[i].name}")
    points = lessons.assignment_checklist(chosen, settings, actor=current_actor())
    st.markdown(f"**{score(points)}**")
    for point in points:
        earned = f" · runs {', '.join(f'#{i}' for i in point.runs[:8])}{' …' if len(point.runs) > 8 else ''}" \
            if point.met and point.runs else ""
        st.markdown(f"{':material/check_circle:' if point.met else ':material/radio_button_unchecked:'} "
                    f"**{point.label}** — {escape_markdown(point.detail)}{escape_markdown(earned)}")  # typed labels
