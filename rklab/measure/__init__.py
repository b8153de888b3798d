"""Measure: runtimes, vision encoders, monitor, guard, protocol and the in-kernel benchmark session."""
