"""plotly figure builders for the notebooks (one module per notebook family)."""
