"""The report: results.json, report.md, figures and report.html."""
