"""Report layer: run folders read back, long-form records, the paper's tables and figures."""
