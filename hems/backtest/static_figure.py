"""Notebook figures that also render as static images (issue 28), offline.

A plotly figure's notebook output is plotly JSON, which GitHub, nbviewer without JavaScript,
and most notebook previews do not draw. :func:`use_static_images` (each notebook's first cell)
adds a PNG of the same figure to the same output, so a reader whose viewer does not run
plotly.js sees the image, and Jupyter still shows the interactive chart.

The PNG is drawn by headless Chromium (Debian's ``/usr/bin/chromium``, through Playwright,
both already used by the web app's browser tests) from the figure's HTML with plotly.js inlined
from the ``plotly`` package, so nothing is fetched. plotly's own ``to_image`` needs kaleido,
which is not among the locked dependencies (``requirements-dev.txt``), nor is matplotlib.
Without Chromium or Playwright a figure shows as the interactive chart alone, and the first
says why.
"""

from __future__ import annotations

import base64
import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio
from plotly.io.base_renderers import MimetypeRenderer
from plotly.offline import get_plotlyjs

CHROMIUM = Path("/usr/bin/chromium")


class StaticImageError(RuntimeError):
    """No static image can be drawn here (no Chromium or no Playwright)."""


def chromium_path() -> Path:
    """Debian's Chromium, else one on the PATH; StaticImageError when there is none."""
    if CHROMIUM.exists():
        return CHROMIUM
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        raise StaticImageError("no Chromium to draw the static image (apt-get install chromium)")
    return Path(found)


class _Chromium:
    """One headless Chromium page holding plotly.js for the process, driven from one worker
    thread (Playwright's synchronous API refuses to run inside a notebook kernel's event
    loop, and its objects belong to the thread that made them). Started at the first figure;
    it ends with the process (Playwright's driver exits when its pipe closes)."""

    def __init__(self) -> None:
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="static-figures")
        self._page: Any = None

    def page(self) -> Any:
        if self._page is None:
            from playwright.sync_api import sync_playwright

            browser = (
                sync_playwright()
                .start()
                .chromium.launch(executable_path=str(chromium_path()), args=["--no-sandbox"])
            )
            self._page = browser.new_page()
            script = get_plotlyjs().replace("</script", "<\\/script")
            self._page.set_content(
                f'<html><body style="margin:0"><div id="figure"></div>'
                f"<script>{script}</script></body></html>"
            )
        return self._page


_CHROMIUM: _Chromium | None = None
_DRAW = """async ([figure, width, height]) => {
    const layout = {...figure.layout, width, height};
    await Plotly.newPlot("figure", figure.data, layout, {staticPlot: true});
}"""


def figure_png(
    figure: go.Figure | dict[str, Any], *, width_px: int = 900, height_px: int = 500
) -> bytes:
    """The figure as a PNG, drawn offline by headless Chromium (one page for the process,
    which loads plotly.js once: a few seconds for the first figure, then 0.2-0.3 s each)."""
    global _CHROMIUM
    chromium_path()
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        raise StaticImageError("Playwright is not installed (pip install playwright)") from exc
    spec = json.loads(pio.to_json(figure, validate=False))
    if _CHROMIUM is None:
        _CHROMIUM = _Chromium()
    chromium = _CHROMIUM

    def draw() -> bytes:
        page = chromium.page()
        page.set_viewport_size({"width": width_px, "height": height_px})
        page.evaluate(_DRAW, [spec, width_px, height_px])
        png: bytes = page.locator("#figure").screenshot(type="png")
        return png

    return chromium.pool.submit(draw).result()


class StaticPngRenderer(MimetypeRenderer):  # type: ignore[misc]  # plotly is untyped
    """A plotly renderer that adds the figure's PNG (:func:`figure_png`) to its output; adds
    nothing, saying why once, where no image can be drawn."""

    def __init__(self, width_px: int = 900, height_px: int = 500) -> None:
        self.width_px, self.height_px = width_px, height_px
        self.said = False

    def to_mimebundle(self, fig_dict: dict[str, Any]) -> dict[str, str]:
        try:
            png = figure_png(fig_dict, width_px=self.width_px, height_px=self.height_px)
        except StaticImageError as exc:
            if not self.said:
                print(f"static images not drawn: {exc}")
                self.said = True
            return {}
        return {"image/png": base64.b64encode(png).decode("ascii")}


def use_static_images() -> None:
    """Show every plotly figure of this notebook as a PNG as well as its interactive chart:
    registers :class:`StaticPngRenderer` as ``static_png`` and adds it to the default
    renderers (a notebook's first cell calls it)."""
    pio.renderers["static_png"] = StaticPngRenderer()
    current = pio.renderers.default or "plotly_mimetype"
    if "static_png" not in current.split("+"):
        pio.renderers.default = f"{current}+static_png"
