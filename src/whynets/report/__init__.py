"""Reports built from the store only: figures (PNG + JSON data), claims table, self-contained HTML."""

from .build import build_report, find_records, redraw
from .claims import markdown_table, status, summary
from .html import render_html

__all__ = ["build_report", "find_records", "redraw", "markdown_table", "status", "summary", "render_html"]
