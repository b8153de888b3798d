"""plotly figure builders for the notebooks (one module per notebook family)."""

OFFLINE_RENDERER = "rklab_notebook"


def use_offline_renderer() -> None:
    """Figures carry plotly.js (embedded once per notebook) as well as the JupyterLab mimetype, so
    a notebook also shows its plots offline and in an nbconvert HTML export (the board is often
    offline; reports travel by e-mail).

    plotly's own ``notebook`` renderer writes a MathJax ``<script src=https://cdnjs...>`` into every
    figure; rklab's figures have no LaTeX, so its renderer leaves MathJax out and the exported page
    fetches nothing (:func:`rklab.report.html.check_self_contained`).
    """
    import plotly.io as pio
    from plotly.io._base_renderers import NotebookRenderer

    class OfflineNotebookRenderer(NotebookRenderer):
        def to_mimebundle(self, fig_dict):
            html = pio.to_html(fig_dict, config=self.config, include_plotlyjs=False, include_mathjax=False,
                               full_html=False, default_width="100%", default_height=525, validate=False)
            return {"text/html": html}

    if OFFLINE_RENDERER not in pio.renderers:
        pio.renderers[OFFLINE_RENDERER] = OfflineNotebookRenderer(connected=False)
    pio.renderers.default = f"plotly_mimetype+{OFFLINE_RENDERER}"
