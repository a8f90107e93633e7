"""Train Lab core: everything the pages and the CLI call, importable without Streamlit."""
