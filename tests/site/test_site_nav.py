"""Navigation works on a phone and on a laptop: one toggle per sidebar, and tapping it acts.

Every page, at 390 and 1280 px: the site navigation opens (on a phone, by tapping ☰). One
chapter in detail: one toggle per sidebar, the "Contents" button, collapsing on a laptop.

Guards book/_ext/navbar.py: with pydata-sphinx-theme's empty top navbar, the page had a second,
hidden set of toggle buttons that the theme's script bound instead of the visible ones, so the
"☰" (site navigation) and "Contents" buttons did nothing, and an empty band with a second search
field sat at the top of every page.
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest

PAGE = "chapters/02_forward.html"  # a chapter with a sidebar on both sides


def test_navigation_opens_on_every_page(any_page, site_width, page_report):
    """On every page, at 1280 and 390 px, a link of the site navigation gets on screen: it is
    shown, or tapping the visible ☰ button shows it (pagereport.check_nav)."""
    r = page_report(any_page, site_width)
    assert r.nav_error is None, f"{r.where()}: {r.nav_error}"


@contextmanager
def _page(browser, base_url: str, width: int, path: str = PAGE):
    """The page at ``width`` CSS px (2 device px per CSS px), closed afterwards."""
    context = browser.new_context(viewport={"width": width, "height": 800}, device_scale_factor=2)
    try:
        page = context.new_page()
        page.goto(base_url + path, wait_until="load")
        yield page
    finally:
        context.close()


@pytest.mark.parametrize("width", [390, 1280])
def test_one_toggle_per_sidebar_and_no_top_navbar(base_url, browser, width):
    with _page(browser, base_url, width) as page:
        assert page.locator(".primary-toggle").count() == 1
        assert page.locator(".secondary-toggle").count() == 1
        assert page.locator("#pst-header .navbar-header-items").count() == 0
        assert page.locator("#pst-header").evaluate("e => e.getBoundingClientRect().height") == 0


def test_phone_navigation_opens(base_url, browser):
    """At 390 px the sidebar is off-screen until the visible ☰ button is tapped."""
    with _page(browser, base_url, 390) as page:
        toggle = page.locator(".primary-toggle")
        assert toggle.is_visible()
        link = page.locator(".bd-sidenav a", has_text="The forward process").first
        assert not link.is_visible()
        toggle.click()
        link.wait_for(state="visible", timeout=10_000)  # the navigation opened
        box = link.bounding_box()
        assert box is not None and 0 <= box["x"] < 390


def test_phone_contents_opens(base_url, browser):
    """At 390 px the page's table of contents opens from the "Contents" button."""
    with _page(browser, base_url, 390) as page:
        toggle = page.locator(".secondary-toggle")
        entry = page.locator("a", has_text="The noise schedule").filter(visible=True)
        assert toggle.is_visible() and entry.count() == 0
        toggle.click()
        page.locator("dialog[open] a", has_text="The noise schedule").wait_for(
            state="visible", timeout=10_000
        )


def test_desktop_toggle_collapses_the_sidebar(base_url, browser):
    with _page(browser, base_url, 1280) as page:
        sidebar = page.locator("#pst-primary-sidebar")
        assert sidebar.is_visible()
        page.locator(".primary-toggle").click()
        page.wait_for_function(
            "() => { const r = document.querySelector('#pst-primary-sidebar')"
            ".getBoundingClientRect(); return r.right <= 0 || r.width === 0; }",
            timeout=10_000,
        )


def test_search_page_has_no_extra_search_fields(base_url, browser):
    """The search page: its own field and the sidebar's search button, nothing in a top bar."""
    with _page(browser, base_url, 1280, "search.html?q=noise") as page:
        fields = page.locator(".search-button-field, input[type=search]").filter(visible=True)
        assert fields.count() <= 2
        assert page.locator("#pst-header .search-button-field").count() == 0


@pytest.mark.parametrize("width", [390, 1280])
def test_icons_are_drawn_by_the_stylesheet_without_the_icon_script(base_url, browser, width):
    """book/_ext/offline.py drops the theme's 1.5 MB fontawesome.js: the icons (☰, search, theme
    switch, download, ...) must still show, drawn by the theme's CSS from the woff2 web font."""
    with _page(browser, base_url, width) as page:
        assert page.locator('script[src*="fontawesome"]').count() == 0
        page.wait_for_function("document.fonts.status === 'loaded'", timeout=30_000)
        icons = page.evaluate(
            """() => [...document.querySelectorAll('.fa-solid, .fas, .fa-brands, .fab, .far')]
                .filter(e => e.getClientRects().length)
                .map(e => {
                    const s = getComputedStyle(e, '::before');
                    return {cls: e.className, content: s.content, font: s.fontFamily,
                            width: e.getBoundingClientRect().width,
                            loaded: document.fonts.check(`${s.fontWeight} 16px ${s.fontFamily}`)};
                })"""
        )
    assert icons, "no visible icon on the page"
    for icon in icons:
        assert icon["content"] not in ("none", "normal", ""), icon
        assert "Font Awesome" in icon["font"] and icon["width"] > 4 and icon["loaded"], icon
    assert any("fa-bars" in icon["cls"] for icon in icons)  # the ☰ of the site navigation
