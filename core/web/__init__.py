"""The HTTP layer around the Streamlit app: classroom sign-in."""
