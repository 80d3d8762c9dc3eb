"""Evidence: redaction at the point of creation, the run directory, evidence.json, the HTML report."""
