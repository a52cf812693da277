"""Reports: study directories -> tables (CSV/Markdown), figures (PNG) and report.md."""
