"""Scoring a run: the seeds' metrics, thresholds tuned on validation, recording bootstrap,
paired tests and the analyses the report shows."""
