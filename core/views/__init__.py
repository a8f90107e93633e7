"""Views: DataFrames, text and Plotly figures for the pages and the CLI (never `st.*`).

May import: core.store (run rows), core.domain, core.data, core.settings.
"""
