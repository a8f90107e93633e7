"""The queue's order and likely starts, shared by every session watching the same lab."""
import time

import streamlit as st

from core.domain.people import OPERATOR
from core.services import classroom
from core.settings import load_settings

REFRESH_SECONDS = 10  # likely starts are estimates: recomputed this often, and when runs start or end


@st.cache_data(ttl=60, max_entries=8, show_spinner=False)
def _places(fingerprint: tuple, store: str, bucket: int) -> dict:
    # Shared by every session, so built with every run's place: each page shows only the rows of runs its
    # own query returned (jobs.query with the page's actor), so exam mode still hides others' runs.
    return classroom.queue_places(actor=OPERATOR)


def queue_places(fingerprint: tuple) -> dict:
    """Each queued run's place and likely start (see core.domain.fair_queue), one build per change of the
    runs (`fingerprint`: jobs.activity's) or every REFRESH_SECONDS, for all sessions together."""
    return _places(fingerprint, str(load_settings().store_location), int(time.time() // REFRESH_SECONDS))
