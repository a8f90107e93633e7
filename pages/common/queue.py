"""The queue's order and likely starts, shared by every session watching the same lab."""
import time

import streamlit as st

from core.services import classroom
from core.settings import load_settings

REFRESH_SECONDS = 10  # likely starts are estimates: recomputed this often, and when runs start or end


@st.cache_data(ttl=60, max_entries=8, show_spinner=False)
def _places(fingerprint: tuple, store: str, bucket: int) -> dict:
    return classroom.queue_places()


def queue_places(fingerprint: tuple) -> dict:
    """Each queued run's place and likely start (see core.domain.fair_queue), one build per change of the
    runs (`fingerprint`: jobs.activity's) or every REFRESH_SECONDS, for all sessions together."""
    return _places(fingerprint, str(load_settings().store_location), int(time.time() // REFRESH_SECONDS))
