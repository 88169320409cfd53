"""Open every page of the built book in headless Chromium and check what a reader sees.

At each width (1400 px, a laptop; 390 px, a phone) every page is checked for:

* MathJax errors, and maths left untypeset;
* display equations whose glyphs are clipped (outside the visible part of a container that does not scroll, or to
  the left of a scroll container's origin, where scrolling cannot reach them);
* a page wider than the viewport;
* a sidebar toggle that does not open its sidebar;
* images without a figure caption or with no real alt text;
* at 1400 px, code cells and outputs that scroll sideways;
* words meant for the authors ("seed 00x") and machine paths in the rendered text;
* any request to a host other than 127.0.0.1, and any file the page loads that is missing.

After the crawl every internal link and anchor is resolved. Run it as
``python -m tests.browser.book_check _build/html [--screenshots DIR]``; it prints one line per problem and exits
non-zero when there is one.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import re
import shutil
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urldefrag, urljoin, urlparse

WIDTHS = (1400, 390)
HEIGHT = 900
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
INSTALL_HINT = ("headless Chromium is needed: on Debian/Ubuntu `sudo apt-get install chromium`, then "
                "`.venv/bin/pip install playwright` (the system browser is used; no browser download), "
                "or point GI_CHROMIUM at a Chromium/Chrome binary")
# Pages the theme generates that hold no chapter content.
SKIPPED_PAGES = ("genindex.html", "search.html")
AUTHOR_WORDS = re.compile(r"\bseed 00\d\b", re.IGNORECASE)
MACHINE_PATH = re.compile(r"(?<![\w.])(/work/|/home/[a-z]|/root/|/tmp/|/usr/lib/|[A-Z]:\\\\Users)")

# Measures the page in the browser; returns plain data. Glyphs (mjx-c) stand for what a reader must be able to see.
MEASURE = r"""
() => {
  const vw = document.documentElement.clientWidth;
  const result = {pageWidth: document.documentElement.scrollWidth, viewport: vw,
                  mathErrors: [], untypeset: 0, clipped: [], wideCode: [], images: [], ids: []};
  for (const e of document.querySelectorAll('mjx-merror, [data-mjx-error]')) {
    result.mathErrors.push((e.getAttribute('data-mjx-error') || e.textContent || '').slice(0, 120));
  }
  for (const e of document.querySelectorAll('div.math, span.math')) {
    if (!e.querySelector('mjx-container')) result.untypeset += 1;
  }
  // A glyph can be seen if it lies inside what every clipping ancestor shows or lets the reader scroll to.
  const unreachable = (el, left, right) => {
    for (let a = el; a && a !== document.documentElement; a = a.parentElement) {
      const s = getComputedStyle(a).overflowX;
      if (s === 'visible') continue;
      const box = a.getBoundingClientRect();
      const scrolls = s === 'auto' || s === 'scroll';
      const origin = scrolls ? box.left - a.scrollLeft : box.left;
      const end = scrolls ? origin + a.scrollWidth : box.right;
      if (left < origin - 1 || right > end + 1) {
        return {left: Math.round(origin - left), right: Math.round(right - end)};
      }
      left = box.left; right = box.right;
    }
    return left < -1 ? {left: Math.round(-left), right: 0} : null;
  };
  let index = 0;
  for (const c of document.querySelectorAll('mjx-container[display="true"]')) {
    index += 1;
    let left = Infinity, right = -Infinity;
    for (const g of c.querySelectorAll('mjx-c')) {
      const r = g.getBoundingClientRect();
      if (r.width === 0) continue;
      left = Math.min(left, r.left); right = Math.max(right, r.right);
    }
    if (left === Infinity) continue;
    const lost = unreachable(c, left, right);
    if (lost) {
      result.clipped.push({index, left: lost.left, right: lost.right});
    }
  }
  for (const pre of document.querySelectorAll('div.cell_input pre, div.cell_output pre')) {
    if (pre.scrollWidth > pre.clientWidth + 1) {
      const kind = pre.closest('div.cell_input') ? 'code' : 'output';
      const line = (pre.textContent || '').split('\n').reduce((a, b) => (b.length > a.length ? b : a), '');
      result.wideCode.push({kind, excess: pre.scrollWidth - pre.clientWidth, line: line.slice(0, 60)});
    }
  }
  const main = document.querySelector('article.bd-article') || document.body;
  for (const img of main.querySelectorAll('img')) {
    const figure = img.closest('figure');
    const caption = figure ? (figure.querySelector('figcaption')?.textContent || '').trim() : '';
    const src = img.getAttribute('src') || '';
    const alt = (img.getAttribute('alt') || '').trim();
    const file = src.split('/').pop();
    result.images.push({src: file, caption: caption.slice(0, 40),
                        alt: alt && !alt.endsWith(file) && !/\.(png|svg|jpe?g)$/i.test(alt) ? alt.slice(0, 40) : ''});
  }
  // What makes the page too wide: the innermost elements sticking out past the viewport, outside any scroller.
  result.wideners = [];
  if (result.pageWidth > vw + 1) {
    const inScroller = (el) => {
      for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
        if (getComputedStyle(a).overflowX !== 'visible') return true;
      }
      return false;
    };
    for (const el of document.querySelectorAll('article *')) {
      if (result.wideners.length >= 3) break;
      const r = el.getBoundingClientRect();
      if (r.right <= vw + 1 || inScroller(el)) continue;
      if ([...el.children].some((c) => c.getBoundingClientRect().right > vw + 1)) continue;
      result.wideners.push(`<${el.tagName.toLowerCase()}> ${(el.textContent || '').trim().slice(0, 50)}`);
    }
  }
  for (const e of document.querySelectorAll('[id], a[name]')) result.ids.push(e.id || e.getAttribute('name'));
  result.links = [...document.querySelectorAll('a[href]')].map(a => a.href);
  const article = document.querySelector('article') || document.body;
  result.text = article.innerText;
  return result;
}
"""

SIDEBAR_VISIBLE = r"""
(selectors) => selectors.some((selector) => {
  const e = document.querySelector(selector);
  if (!e) return false;
  const r = e.getBoundingClientRect(), s = getComputedStyle(e);
  return r.width > 40 && r.height > 40 && r.right > 0 && r.left < document.documentElement.clientWidth
         && s.visibility !== 'hidden' && s.display !== 'none' && Number(s.opacity) > 0.5
         && e.querySelectorAll('a').length > 0;
})
"""
# The theme's two sidebars, where each may show (in place on wide screens, as a dialog on narrow ones), and the
# buttons that toggle them.
SIDEBARS = (("primary", "button.primary-toggle", ["#pst-primary-sidebar", "#pst-primary-sidebar-modal"]),
            ("secondary", "button.secondary-toggle", ["#pst-secondary-sidebar", "#pst-secondary-sidebar-modal"]))


@dataclass
class Report:
    """Problems found, one line each, and what was visited."""

    problems: list[str] = field(default_factory=list)
    pages: list[str] = field(default_factory=list)
    screenshots: list[Path] = field(default_factory=list)

    def add(self, page: str, width: int | None, message: str) -> None:
        where = f"{page} @{width}px" if width else page
        self.problems.append(f"{where}: {message}")


def find_chromium() -> str:
    """The Chromium binary to drive: ``GI_CHROMIUM`` if set, else the first system one found."""
    candidates = [os.environ["GI_CHROMIUM"]] if os.environ.get("GI_CHROMIUM") else []
    candidates += [*CHROMIUM_CANDIDATES, shutil.which("chromium") or ""]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return candidate
    raise FileNotFoundError(f"no Chromium found ({', '.join(CHROMIUM_CANDIDATES)}): {INSTALL_HINT}")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass


@contextmanager
def serve(root: Path) -> Iterator[str]:
    """Serve ``root`` on 127.0.0.1 at a free port; yield the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def _page_path(base: str, url: str) -> str | None:
    """The site-relative path of ``url`` if it is on the local server, else ``None``."""
    if not url.startswith(base):
        return None
    path = unquote(urlparse(urldefrag(url)[0]).path).lstrip("/")
    return path or "index.html"


def _check_page(report: Report, name: str, width: int, data: dict) -> None:
    if data["mathErrors"]:
        report.add(name, width, f"MathJax error(s): {data['mathErrors'][:3]}")
    if data["untypeset"]:
        report.add(name, width, f"{data['untypeset']} maths element(s) left untypeset")
    for eq in data["clipped"]:
        report.add(name, width, f"display equation #{eq['index']} clipped ({max(eq['left'], 0)} px on the left, "
                                f"{max(eq['right'], 0)} px on the right cannot be seen or scrolled to)")
    if data["pageWidth"] > data["viewport"] + 1:
        report.add(name, width, f"page is {data['pageWidth']} px wide in a {data['viewport']} px viewport, widened by "
                                f"{'; '.join(data['wideners']) or 'an element outside the article'}")
    if width >= 1000:
        for pre in data["wideCode"]:
            report.add(name, width, f"{pre['kind']} cell scrolls sideways by {pre['excess']} px: {pre['line']!r}")
    for image in data["images"]:
        if not image["caption"]:
            report.add(name, width, f"figure {image['src']} has no caption")
        if not image["alt"]:
            report.add(name, width, f"figure {image['src']} has no alt text")
    if width == WIDTHS[0]:
        if found := AUTHOR_WORDS.findall(data["text"]):
            report.add(name, None, f"rendered text says {found[0]!r} ({len(found)}x): cite the source's authors")
        if found := MACHINE_PATH.findall(data["text"]):
            report.add(name, None, f"rendered text shows a machine path {found[0]!r} ({len(found)}x)")


def _check_sidebars(page, report: Report, name: str, width: int) -> None:
    for which, button, sidebar in SIDEBARS:
        toggles = [b for b in page.query_selector_all(button) if b.is_visible()]
        if not toggles:
            if width < 1000 and page.query_selector(sidebar[0]) is not None:
                report.add(name, width, f"the {which} sidebar has no visible toggle")
            continue
        before = page.evaluate(SIDEBAR_VISIBLE, sidebar)
        toggles[0].click()
        page.wait_for_timeout(400)
        after = page.evaluate(SIDEBAR_VISIBLE, sidebar)
        if after == before:
            report.add(name, width, f"the {which} sidebar toggle does nothing (sidebar stays "
                                    f"{'open' if before else 'closed'})")
        elif not after:  # it closed an open sidebar: a second click must bring it back
            toggles[0].click()
            page.wait_for_timeout(400)
            if not page.evaluate(SIDEBAR_VISIBLE, sidebar):
                report.add(name, width, f"the {which} sidebar toggle closes the sidebar but does not reopen it")
        page.keyboard.press("Escape")
        page.wait_for_timeout(200)


def check_book(root: Path, screenshots: Path | None = None, screenshot_page: str = "notebooks/03_mutual_information.html",
               chromium: str | None = None, pages: list[str] | None = None) -> Report:
    """Crawl the built book at ``root`` from ``index.html`` at every width in :data:`WIDTHS` and return the report.

    ``pages`` (site-relative paths) checks just those pages instead of crawling; their links are still resolved.
    Full-page screenshots of ``screenshot_page`` at both widths are written to ``screenshots`` when it is given.
    """
    from playwright.sync_api import sync_playwright

    root = Path(root)
    if not (root / "index.html").is_file():
        raise FileNotFoundError(f"{root} holds no index.html: build the book first (`make book`)")
    report = Report()
    ids: dict[str, set[str]] = {}
    links: list[tuple[str, str]] = []
    with serve(root) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium or find_chromium(), args=["--no-sandbox"])
        try:
            for width in WIDTHS:
                context = browser.new_context(viewport={"width": width, "height": HEIGHT})
                outside: list[str] = []

                def route(request_route, request, outside=outside):
                    url = request.url
                    if url.startswith(base) or url.startswith("data:") or url.startswith("blob:"):
                        request_route.continue_()
                    else:
                        outside.append(url)
                        request_route.abort()

                context.route("**/*", route)
                page = context.new_page()
                missing: list[str] = []
                page.on("response", lambda response, missing=missing: missing.append(response.url)
                        if response.status >= 400 and response.url.startswith(base) else None)
                queue = list(pages) if pages else ["index.html"]
                seen = set(queue)
                while queue:
                    name = queue.pop(0)
                    outside.clear()
                    missing.clear()
                    response = page.goto(urljoin(base, name), wait_until="load")
                    if response is None or response.status != 200:
                        report.add(name, width, f"HTTP {response.status if response else 'no response'}")
                        continue
                    page.wait_for_timeout(200)
                    page.wait_for_load_state("load")
                    landed = _page_path(base, page.url)
                    if landed != name:  # a redirect page (index.html): follow it once
                        if landed and landed not in seen:
                            seen.add(landed)
                            queue.append(landed)
                        continue
                    page.evaluate("() => window.MathJax && MathJax.startup ? MathJax.startup.promise : null")
                    page.wait_for_timeout(300)
                    data = page.evaluate(MEASURE)
                    if width == WIDTHS[0]:
                        report.pages.append(name)
                        ids[name] = set(data["ids"])
                        links.extend((name, link) for link in data["links"])
                    _check_page(report, name, width, data)
                    if screenshots is not None and name == screenshot_page:
                        screenshots.mkdir(parents=True, exist_ok=True)
                        shot = screenshots / f"{Path(name).stem}-{width}px.png"
                        page.screenshot(path=str(shot), full_page=True)
                        report.screenshots.append(shot)
                    _check_sidebars(page, report, name, width)
                    for url in sorted(set(missing)):
                        report.add(name, width, f"the page loads a missing file {url[len(base):]}")
                    for url in sorted(set(outside)):
                        report.add(name, width, f"request leaves 127.0.0.1: {url[:100]}")
                    for link in data["links"]:
                        path = _page_path(base, link)
                        if not pages and path and path.endswith(".html") and path not in seen and Path(path).name not in SKIPPED_PAGES \
                                and not path.startswith(("_static/", "_sources/")):
                            seen.add(path)
                            queue.append(path)
                context.close()
        finally:
            browser.close()
        _check_links(root, base, ids, links, report)
    return report


def _check_links(root: Path, base: str, ids: dict[str, set[str]], links: list[tuple[str, str]], report: Report) -> None:
    for source, link in sorted(set(links)):
        path = _page_path(base, link)
        if path is None:
            continue
        target = root / path
        if target.is_dir():
            target, path = target / "index.html", f"{path.rstrip('/')}/index.html"
        if not target.is_file():
            report.add(source, None, f"broken link to {path}")
            continue
        fragment = urldefrag(link)[1]
        if fragment and path not in ids and path.endswith(".html"):  # a page not visited: read its ids from the file
            ids[path] = set(re.findall(r'\bid="([^"]+)"', target.read_text(encoding="utf-8", errors="replace")))
        if fragment and path in ids and unquote(fragment) not in ids[path]:
            report.add(source, None, f"broken anchor {path}#{fragment}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", type=Path, help="the built HTML (e.g. _build/html)")
    parser.add_argument("--screenshots", type=Path, default=None, help="folder for the screenshots of one chapter")
    args = parser.parse_args(argv)
    try:
        report = check_book(args.root, args.screenshots)
    except FileNotFoundError as error:
        print(f"book_check: {error}", file=sys.stderr)
        return 2
    for problem in report.problems:
        print(problem)
    for shot in report.screenshots:
        print(f"screenshot: {shot}")
    print(f"book_check: {len(report.pages)} pages at {', '.join(f'{w} px' for w in WIDTHS)}: "
          f"{len(report.problems)} problem(s)")
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
