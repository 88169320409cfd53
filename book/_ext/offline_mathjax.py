"""Serve MathJax 3 from the built book itself, so equations typeset without internet.

The MathJax files come from the PyPI package ``django-static-mathjax`` (MathJax 3.2.2,
Apache-2.0), installed with the ``book`` extra. After the HTML build, the combined
``tex-mml-chtml.js`` component, its web fonts and the TeX extensions it may autoload are
copied to ``_static/mathjax/`` and every page loads MathJax from there. Without the
package the theme's default (a CDN) is kept.
"""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.util import logging

LOGGER = logging.getLogger(__name__)
COMPONENT = "tex-mml-chtml.js"
SUBTREES = ("output/chtml/fonts/woff-v2", "input/tex/extensions", "ui", "a11y", "sre")


def _mathjax_es5() -> Path | None:
    try:
        root = resources.files("mathjax") / "static" / "mathjax" / "es5"
    except ModuleNotFoundError:
        return None
    path = Path(str(root))
    return path if (path / COMPONENT).is_file() else None


def _use_local_copy(app: Sphinx, config: object) -> None:
    if _mathjax_es5() is None:
        LOGGER.info("offline_mathjax: django-static-mathjax not installed; MathJax loads from its CDN")
        return
    config.mathjax_path = f"mathjax/{COMPONENT}"


def _copy_files(app: Sphinx, exception: Exception | None) -> None:
    source = _mathjax_es5()
    if exception is not None or source is None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / "mathjax"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source / COMPONENT, target / COMPONENT)
    for sub in SUBTREES:
        if (source / sub).is_dir():
            shutil.copytree(source / sub, target / sub, dirs_exist_ok=True)


def setup(app: Sphinx) -> dict[str, object]:
    app.connect("config-inited", _use_local_copy)
    app.connect("build-finished", _copy_files)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
