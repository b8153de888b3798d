"""plotly figure builders for the notebooks (one module per notebook family)."""


def use_offline_renderer() -> None:
    """Figures carry plotly.js (embedded once per notebook) as well as the JupyterLab mimetype, so
    a notebook also shows its plots offline and in an nbconvert HTML export (the board is often
    offline; reports travel by e-mail)."""
    import plotly.io as pio

    pio.renderers.default = "plotly_mimetype+notebook"
