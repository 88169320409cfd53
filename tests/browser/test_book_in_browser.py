"""The built book, opened in headless Chromium at 1400 px and 390 px, shows readers no defect (tests.browser.book_check).

The book is built once into a temporary folder. Each defect the check looks for is then injected into a copy of
one page, to show that the check catches it. Screenshots of chapter 3 at both widths go to ``_build/screenshots/``.
Without Chromium these tests are skipped and say how to install it; with ``GI_REQUIRE_BROWSER=1`` (set by
``.ci/run``) a missing browser is a failure. ``GI_BUILT_BOOK=_build/html`` checks a book already built instead.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.browser.book_check import INSTALL_HINT, check_book, find_chromium

REPO = Path(__file__).resolve().parents[2]
PAGE = "book/notation.html"
# An equation far wider than any page, numbered as the chapters' equations are.
WIDE_EQUATION = ('<div class="math notranslate nohighlight">\\[' + " + ".join(f"x_{{{i}}}^2" for i in range(60))
                 + " \\tag{9.9}\\]</div>")


def _browser() -> str:
    try:
        chromium = find_chromium()
        if importlib.util.find_spec("playwright") is None:
            raise FileNotFoundError(f"the Python package playwright is missing: {INSTALL_HINT}")
    except FileNotFoundError as error:
        if os.environ.get("GI_REQUIRE_BROWSER") == "1":
            pytest.fail(str(error))
        pytest.skip(str(error))
    return chromium


@pytest.fixture(scope="module")
def chromium() -> str:
    return _browser()


@pytest.fixture(scope="module")
def built_book(tmp_path_factory, chromium) -> Path:
    """The book built from this checkout into a temporary folder (about 10 s), or ``GI_BUILT_BOOK`` if set."""
    if os.environ.get("GI_BUILT_BOOK"):
        return Path(os.environ["GI_BUILT_BOOK"])
    out = tmp_path_factory.mktemp("book")
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    result = subprocess.run([str(jupyter_book), "build", str(REPO), "--path-output", str(out), "--warningiserror",
                             "--keep-going"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"the book does not build:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return out / "_build" / "html"


def mutated(book: Path, tmp_path: Path, change) -> Path:
    """A copy of the built book whose page :data:`PAGE` is rewritten by ``change(html) -> html``."""
    copy = tmp_path / "html"
    shutil.copytree(book, copy)
    page = copy / PAGE
    html = page.read_text(encoding="utf-8")
    changed = change(html)
    assert changed != html, "the mutation changed nothing"
    page.write_text(changed, encoding="utf-8")
    return copy


def inject(html: str, snippet: str) -> str:
    """``snippet`` placed at the start of the article's first section."""
    return re.sub(r'(<section[^>]*>)', lambda m: m.group(1) + snippet, html, count=1)


def test_every_page_passes_at_both_widths(built_book, chromium) -> None:
    shots = REPO / "_build" / "screenshots"
    report = check_book(built_book, screenshots=shots, chromium=chromium)
    assert len(report.pages) >= 8, report.pages
    assert not report.problems, "\n".join(report.problems)
    assert sorted(p.name for p in report.screenshots) == ["03_mutual_information-1400px.png",
                                                          "03_mutual_information-390px.png"]
    assert all(p.stat().st_size > 10_000 for p in report.screenshots)


def test_a_wide_equation_scrolls_instead_of_being_clipped(built_book, chromium, tmp_path) -> None:
    book = mutated(built_book, tmp_path, lambda html: inject(html, WIDE_EQUATION))
    report = check_book(book, chromium=chromium, pages=[PAGE])
    assert not report.problems, "\n".join(report.problems)


def test_an_over_wide_equation_the_page_cannot_show_is_caught(built_book, chromium, tmp_path) -> None:
    # Without the book's stylesheet the theme clips a wide numbered equation on the left, out of reach.
    book = mutated(built_book, tmp_path, lambda html: re.sub(r'<link[^>]*reader\.css[^>]*>', "",
                                                             inject(html, WIDE_EQUATION)))
    problems = check_book(book, chromium=chromium, pages=[PAGE]).problems
    clipped = [p for p in problems if "clipped" in p]
    assert {p.split(":")[0] for p in clipped} == {f"{PAGE} @1400px", f"{PAGE} @390px"}, problems


def test_broken_links_and_anchors_are_caught(built_book, chromium, tmp_path) -> None:
    snippet = '<p><a href="no-such-page.html">gone</a> <a href="intro.html#no-such-anchor">nowhere</a></p>'
    book = mutated(built_book, tmp_path, lambda html: inject(html, snippet))
    problems = check_book(book, chromium=chromium, pages=[PAGE]).problems
    assert f"{PAGE}: broken link to book/no-such-page.html" in problems, problems
    assert f"{PAGE}: broken anchor book/intro.html#no-such-anchor" in problems, problems


def test_a_dead_sidebar_toggle_is_caught(built_book, chromium, tmp_path) -> None:
    # The theme alone wires only a hidden header button; the book's script makes the visible toggles work.
    book = mutated(built_book, tmp_path, lambda html: re.sub(r'<script[^>]*sidebar_toggles\.js[^>]*></script>', "", html))
    problems = check_book(book, chromium=chromium, pages=[PAGE]).problems
    assert any("@390px: the primary sidebar toggle does nothing" in p for p in problems), problems
    assert any("@1400px: the primary sidebar toggle does nothing" in p for p in problems), problems


def test_outside_requests_uncaptioned_figures_and_author_words_are_caught(built_book, chromium, tmp_path) -> None:
    snippet = ('<p>As seed 002 says, see /work/main/data.</p>'
               '<img src="https://example.com/plot.png" alt="https://example.com/plot.png">')
    book = mutated(built_book, tmp_path, lambda html: inject(html, snippet))
    problems = "\n".join(check_book(book, chromium=chromium, pages=[PAGE]).problems)
    assert "request leaves 127.0.0.1: https://example.com/plot.png" in problems
    assert "figure plot.png has no caption" in problems and "figure plot.png has no alt text" in problems
    assert "rendered text says 'seed 002'" in problems and "machine path '/work/'" in problems
