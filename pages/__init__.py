"""The Streamlit pages (one script per page; Streamlit skips this file) and their shared parts in common/.

Pages call core.services and core.views, and use core.domain and core.settings for their words and
limits; they never reach the store, the runtime, the training code or the data layer themselves.
"""
