"""Orchestrate: plans, the plan check, notebook execution, sweeps and JupyterLab."""
