"""Cheap checks of the built HTML (no browser): every TOC page is built, nothing is loaded from
another host (scripts, styles, fonts, images, frames), every GIF is animated, MathJax is local.

External <a href> links (the repository, papers) are fine: they are not requests.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from PIL import Image
from sitetools import toc_pages

pytestmark = pytest.mark.build

# Hosts that serve scripts, styles or fonts to other sites.
CDN_HOSTS = re.compile(
    r"https?://(?:[a-z0-9-]+\.)*(?:jsdelivr\.net|unpkg\.com|cdnjs\.cloudflare\.com|cdnjs\.com"
    r"|googleapis\.com|gstatic\.com|cdn\.bokeh\.org|jquery\.com|fontawesome\.com/(?:releases|kit)"
    r"|kit\.fontawesome\.com|bootstrapcdn\.com|plot\.ly|polyfill\.io|mathjax\.org|githack\.com"
    r"|statically\.io|gitcdn\.xyz|esm\.sh|jspm\.io|googletagmanager\.com|google-analytics\.com"
    r"|typekit\.net|cloudflare\.com|binder\.org|mybinder\.org|thebe\.)",
    re.I,
)
URL = re.compile(r"""(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}(?::\d+)?[^\s"'`)<>\\]*""")
LOADABLE = re.compile(
    r"\.(?:m?js|css|woff2?|ttf|otf|eot|json|wasm|png|jpe?g|gif|svg|webp)(?:[?#]|$)", re.I
)
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+)['"]?\s*\)|@import\s+['"]([^'"]+)['"]""", re.I)
CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)
# Vendored libraries whose bundles name CDNs for optional features the pages do not use (MathJax's
# speech rules, Bokeh's GMap and TeX labels): not scanned; the browser tests check that what the
# pages actually do stays on localhost.
VENDORED = ("_static/mathjax/",)
# Inline <script>s that are such bundles (BokehJS inlined by bokeh.resources.INLINE) or data
# (a Bokeh document's JSON) are recognised by their marker or their size.
BUNDLE_MARKER = "/* BEGIN "
BUNDLE_SIZE = 200_000

# Attributes that make the browser fetch something, per tag.
FETCHING = {
    "script": ("src",),
    "img": ("src", "srcset"),
    "source": ("src", "srcset"),
    "video": ("src", "poster"),
    "audio": ("src",),
    "track": ("src",),
    "iframe": ("src",),
    "frame": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "input": ("src",),
    "image": ("href", "xlink:href"),
    "use": ("href", "xlink:href"),
}
# <link rel=...> values that fetch or connect.
FETCHING_LINK_RELS = {
    "stylesheet",
    "preload",
    "modulepreload",
    "prefetch",
    "preconnect",
    "dns-prefetch",
    "icon",
    "shortcut",
    "apple-touch-icon",
    "manifest",
    "import",
    "prerender",
}


def _remote(url: str) -> bool:
    url = url.strip()
    if url.startswith("//"):
        return True
    parts = urlsplit(url)
    return parts.scheme in ("http", "https", "ws", "wss") and parts.hostname not in (
        "127.0.0.1",
        "localhost",
    )


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.remote: list[str] = []
        self._in: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        for attr in FETCHING.get(tag, ()):
            value = a.get(attr, "")
            for url in re.split(r",\s*", value) if attr == "srcset" else [value]:
                url = url.strip().split(" ")[0]
                if url and _remote(url):
                    self.remote.append(f"<{tag} {attr}={url}>")
        if tag == "link":
            rels = set(a.get("rel", "").lower().split())
            if rels & FETCHING_LINK_RELS and _remote(a.get("href", "")):
                self.remote.append(f"<link rel={a.get('rel')} href={a['href']}>")
        if tag == "meta" and a.get("http-equiv", "").lower() == "refresh":
            target = a.get("content", "").partition("url=")[2]
            if _remote(target):
                self.remote.append(f"<meta refresh {target}>")
        if "style" in a:
            self.remote += [f"style url({u})" for u in _css_remote(a["style"])]
        if tag in ("script", "style"):
            self._in = tag
            self._text = []

    def handle_endtag(self, tag: str) -> None:
        if tag != self._in:
            return
        text = "".join(self._text)
        self._in = None
        if tag == "style":
            self.remote += [f"<style> url({u})" for u in _css_remote(text)]
        elif not (text.lstrip().startswith(BUNDLE_MARKER) or len(text) > BUNDLE_SIZE):
            self.remote += [f"inline <script> {u}" for u in _script_remote(text)]

    def handle_data(self, data: str) -> None:
        if self._in:
            self._text.append(data)


def _css_remote(css: str) -> list[str]:
    css = CSS_COMMENT.sub("", css)
    found = []
    for match in CSS_URL.finditer(css):
        url = match.group(1) or match.group(2)
        if url and _remote(url):
            found.append(url)
    return found


def _script_remote(js: str) -> list[str]:
    """URLs in script text that look like something a page would load."""
    found = []
    for match in URL.finditer(js):
        url = match.group(0)
        if CDN_HOSTS.match(url if url.startswith("http") else "https:" + url) or (
            LOADABLE.search(urlsplit(url).path) and "w3.org" not in url
        ):
            found.append(url)
    return found


def _files(site: Path, *suffixes: str) -> list[Path]:
    return sorted(p for p in site.rglob("*") if p.suffix in suffixes and p.is_file())


def test_every_toc_page_is_built(site):
    missing = [p for p in toc_pages() if not (site / p).is_file()]
    assert not missing, f"pages in _toc.yml but not in {site}: {missing}"


def test_html_loads_nothing_from_other_hosts(site):
    problems = []
    for path in _files(site, ".html"):
        collector = _Collector()
        collector.feed(path.read_text(encoding="utf-8", errors="replace"))
        problems += [f"{path.relative_to(site)}: {r}" for r in collector.remote]
    assert not problems, "resources from other hosts:\n  " + "\n  ".join(problems)


def test_css_loads_nothing_from_other_hosts(site):
    problems = []
    for path in _files(site, ".css"):
        for url in _css_remote(path.read_text(encoding="utf-8", errors="replace")):
            problems.append(f"{path.relative_to(site)}: {url}")
    assert not problems, "CSS loading from other hosts:\n  " + "\n  ".join(problems)


def test_scripts_name_no_cdn(site):
    problems = []
    for path in _files(site, ".js", ".mjs"):
        rel = path.relative_to(site).as_posix()
        if rel.startswith(VENDORED):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        problems += [f"{rel}: {m.group(0)}" for m in CDN_HOSTS.finditer(text)]
    assert not problems, "scripts that load from a CDN:\n  " + "\n  ".join(problems)


def test_every_gif_is_animated(site):
    stills = []
    for path in _files(site, ".gif"):
        with Image.open(path) as im:
            if getattr(im, "n_frames", 1) <= 1:
                stills.append(str(path.relative_to(site)))
    assert not stills, f"GIFs with a single frame: {stills}"


def test_mathjax_is_served_locally(site):
    with_math = [p for p in _files(site, ".html") if 'class="math' in p.read_text(errors="replace")]
    if not with_math:
        pytest.skip("no page has math")
    problems = []
    for path in with_math:
        html = path.read_text(errors="replace")
        srcs = re.findall(r'<script[^>]+src="([^"]*mathjax[^"]*)"', html, re.I)
        if not srcs:
            problems.append(f"{path.relative_to(site)}: math but no MathJax script")
        for src in srcs:
            local = (path.parent / src.split("?")[0]).resolve()
            if _remote(src) or not local.is_file():
                problems.append(f"{path.relative_to(site)}: MathJax not local: {src}")
    assert not problems, "\n".join(problems)


def test_every_page_names_an_icon_that_exists(site):
    """Browsers ask every page for an icon; without <link rel="icon"> they request the missing
    /favicon.ico (a 404 on every page)."""
    icon = re.compile(r"""<link\b[^>]*\brel=["'](?:shortcut )?icon["'][^>]*>""", re.I)
    href = re.compile(r"""\bhref=["']([^"']+)["']""", re.I)
    for page in toc_pages():
        html = (site / page).read_text(encoding="utf-8")
        links = icon.findall(html)
        assert links, f"{page}: no <link rel=icon>"
        target = href.search(links[0]).group(1)
        assert not _remote(target), f"{page}: icon from another host: {target}"
        assert ((site / page).parent / urlsplit(target).path).resolve().is_file(), (page, target)
