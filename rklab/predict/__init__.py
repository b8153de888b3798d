"""Predict: what the engine says before anything runs (catalog, boards, memory, speed, calibration, verdicts)."""
