"""The built book, as a reader's browser shows it: every page of _build/html in headless Chromium.

Run after the book is built (``make test`` runs it after the strict build, as ``make test-browser``).
Each page is opened once at a desktop width and once at a phone's 390 px; the tests below then check
what was recorded: no console errors, every image decodes, MathJax typeset every formula (no raw
``\\(`` left), display formulas and code cells fit their boxes at 1280 px, nothing makes a page
scroll sideways at 390 px, and every link inside the book leads to a page and an anchor that exist.
Requests to other hosts are refused, so the check runs the same offline as online, and external
images (the Colab badge) are only required to have alt text.

Needs Chromium and its driver (Debian/Ubuntu: ``apt-get install chromium chromium-driver``; set
``SSLM_CHROMIUM`` / ``SSLM_CHROMEDRIVER`` for other locations) and selenium (requirements.txt).
Without them, or without a built book, the tests are skipped and say why.
"""

from __future__ import annotations

import functools
import html.parser
import http.server
import os
import pathlib
import shutil
import threading
import time
import urllib.parse

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
PHONE, DESKTOP = (390, 844), (1280, 900)
INSTALL = ("Install Chromium and its driver to run the browser check, e.g. on Debian/Ubuntu "
           "`sudo apt-get install chromium chromium-driver` (or set SSLM_CHROMIUM and SSLM_CHROMEDRIVER).")


def find_browser():
    """(chromium, chromedriver) paths, or None."""
    browser = os.environ.get("SSLM_CHROMIUM") or next(
        filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
    driver = os.environ.get("SSLM_CHROMEDRIVER") or shutil.which("chromedriver")
    found = browser and driver and shutil.which(browser) and shutil.which(driver)
    return (shutil.which(browser), shutil.which(driver)) if found else None


def book_pages() -> list[str]:
    return sorted(p.relative_to(HTML).as_posix() for p in HTML.rglob("*.html")
                  if p.relative_to(HTML).parts[0] not in ("_static", "_sources", "_images"))


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


# after the load event: wait until MathJax has typeset the page (pages without math have no MathJax)
WAIT_FOR_MATH = """
const done = arguments[arguments.length - 1];
const startup = window.MathJax && window.MathJax.startup;
if (!startup || !startup.promise) { done(false); return; }
startup.promise.then(() => done(true), () => done(true));
"""

# every <img>: loaded again from its URL, so a lazy or not-yet-decoded image is still judged
IMAGES = """
const done = arguments[arguments.length - 1];
const checks = [...document.images].map(img => new Promise(resolve => {
  const probe = new Image();
  probe.onload = () => resolve([img.src, img.alt, probe.naturalWidth]);
  probe.onerror = () => resolve([img.src, img.alt, 0]);
  probe.src = img.src;
}));
Promise.all(checks).then(done);
"""

# raw TeX left in the text a reader sees (code excluded), formulas without MathJax output, TeX errors
MATH = """
const article = document.querySelector("main") || document.body;
const copy = article.cloneNode(true);
copy.querySelectorAll("pre, code, script, style, mjx-container").forEach(e => e.remove());
const text = copy.textContent;
const raw = ["\\\\(", "\\\\[", "$$"].filter(marker => text.includes(marker))
  .concat(text.match(/\\\\[A-Za-z]{2,}/g) || []);  // a TeX command left in the prose: \\frac, \\partial
const formulas = [...article.querySelectorAll("span.math, div.math")];
const untypeset = formulas.filter(e => !e.querySelector("mjx-container")).map(e => e.textContent.slice(0, 60));
const errors = [...article.querySelectorAll("mjx-merror")].map(e => e.textContent.slice(0, 60));
const wide = [...article.querySelectorAll("div.math")].filter(e => {
  const m = e.querySelector("mjx-container"); return m && m.scrollWidth > e.clientWidth + 1;
}).map(e => e.textContent.trim().slice(0, 60));
return {raw: raw, formulas: formulas.length, untypeset: untypeset, errors: errors, wide: wide};
"""

# how far the page scrolls sideways, and the widest elements that stick out (for the message)
WIDTH = """
const root = document.documentElement, width = root.clientWidth;
const clippedBy = e => { for (let p = e.parentElement; p; p = p.parentElement) {
  const style = getComputedStyle(p);
  if (["auto", "scroll", "hidden", "clip"].includes(style.overflowX)) return true; } return false; };
const wide = [...document.querySelectorAll("article *")]
  .filter(e => e.getBoundingClientRect().right > width + 1 && !clippedBy(e))
  .slice(0, 3).map(e => e.tagName.toLowerCase() + "." + e.className + ": " + e.textContent.slice(0, 50));
return {overflow: root.scrollWidth - width, wide: wide};
"""


# notebook code cells whose lines do not fit their box (ruff keeps them to 88 characters)
CODE = """
return [...document.querySelectorAll("div.cell_input pre")]
  .filter(pre => pre.scrollWidth > pre.clientWidth + 1)
  .map(pre => pre.textContent.split("\\n").reduce((a, b) => (b.length > a.length ? b : a), ""));
"""


@pytest.fixture(scope="module")
def visits():
    """Open every built page at both widths and record what the tests check; reports the time taken."""
    if not (HTML / "index.html").exists():
        pytest.skip("no built book: run `make book-strict` (or `make test`) first")
    found = find_browser()
    if found is None:
        pytest.skip(INSTALL)
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip("selenium is not installed: pip install -c constraints.txt -r requirements.txt")

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(HTML)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    options = webdriver.ChromeOptions()
    options.binary_location = found[0]
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"):  # other hosts: refused at once
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(found[1]), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(30)
    start = time.perf_counter()
    records = {}
    try:
        for page in book_pages():
            record = records[page] = {}
            driver.set_window_size(*DESKTOP)
            driver.get(base + page)
            record["mathjax"] = driver.execute_async_script(WAIT_FOR_MATH)
            record["math"] = driver.execute_script(MATH)
            record["images"] = driver.execute_async_script(IMAGES)
            record["links"] = driver.execute_script("return [...document.querySelectorAll('a[href]')].map(a => a.href)")
            record["code"] = driver.execute_script(CODE)
            driver.set_window_size(*PHONE)
            driver.get(base + page)
            driver.execute_async_script(WAIT_FOR_MATH)
            record["phone"] = driver.execute_script(WIDTH)
            record["console"] = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    finally:
        driver.quit()
        server.shutdown()
    elapsed = time.perf_counter() - start
    print(f"\nbrowser check: {len(records)} pages at {DESKTOP[0]} and {PHONE[0]} px in {elapsed:.0f} s")
    return base, records


def is_external(url: str, base: str) -> bool:
    return not url.startswith(base)


def test_every_page_loads_without_console_errors(visits):
    base, records = visits
    # a refused request to another host is the offline setup, not an error of the book
    errors = {page: [e["message"][:200] for e in r["console"] if not is_external(e["message"].split(" ")[0], base)]
              for page, r in records.items()}
    assert {page: e for page, e in errors.items() if e} == {}


def test_every_image_loads(visits):
    base, records = visits
    broken = {page: [src for src, _, width in r["images"] if not is_external(src, base) and width == 0]
              for page, r in records.items()}
    assert {page: b for page, b in broken.items() if b} == {}
    # an image from another host (the Colab badge) cannot be checked offline; offline it must still read well
    no_alt = {page: [src for src, alt, _ in r["images"] if is_external(src, base) and not alt.strip()]
              for page, r in records.items()}
    assert {page: n for page, n in no_alt.items() if n} == {}


def test_math_is_typeset_on_every_page(visits):
    _, records = visits
    problems = {}
    for page, r in records.items():
        math = r["math"]
        if math["formulas"] and not r["mathjax"]:
            problems[page] = "MathJax did not run"
        elif math["raw"] or math["untypeset"] or math["errors"]:
            problems[page] = math
    assert problems == {}
    assert sum(r["math"]["formulas"] for r in records.values()) > 100  # the book has math, and it was found


def test_code_fits_its_box_on_a_desktop(visits):
    _, records = visits
    scrolling = {page: r["code"] for page, r in records.items() if r["code"]}
    assert scrolling == {}


def test_display_formulas_fit_the_column_on_a_desktop(visits):
    # on a phone a wide formula scrolls inside its own box (book/_static/sslm.css); at 1280 px none needs to
    _, records = visits
    wide = {page: r["math"]["wide"] for page, r in records.items() if r["math"]["wide"]}
    assert wide == {}


def test_no_page_scrolls_sideways_on_a_phone(visits):
    _, records = visits
    wide = {page: r["phone"] for page, r in records.items() if r["phone"]["overflow"] > 1}
    assert wide == {}


class _Anchors(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids = set()

    def handle_starttag(self, tag, attrs):
        self.ids.update(value for name, value in attrs if name in ("id", "name") and value)


@functools.cache
def anchors(path: pathlib.Path) -> frozenset:
    parser = _Anchors()
    parser.feed(path.read_text(errors="replace"))
    return frozenset(parser.ids)


def test_every_link_inside_the_book_resolves(visits):
    base, records = visits
    dead = set()
    for page, r in records.items():
        for url in r["links"]:
            if is_external(url, base):
                continue
            parts = urllib.parse.urlsplit(url)
            path = urllib.parse.unquote(parts.path[len(urllib.parse.urlsplit(base).path):])
            target = HTML / (path or "index.html")
            if target.is_dir():
                target = target / "index.html"
            fragment = urllib.parse.unquote(parts.fragment)
            if not target.is_file():
                dead.add((page, path))
            elif fragment and target.suffix == ".html" and fragment not in anchors(target):
                dead.add((page, f"{path}#{fragment}"))
    assert sorted(dead) == []
    assert sum(len(r["links"]) for r in records.values()) > 500  # links were found at all
