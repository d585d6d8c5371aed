"""Sphinx extension: one working navigation toggle per page (sphinx-book-theme 1.3 on PST 0.17).

pydata-sphinx-theme 0.17 renders a top navbar (``sections/header.html``) whenever any
``navbar_*`` option is non-empty, and it fills ``navbar_persistent`` with a search button by
default. sphinx-book-theme leaves the other ``navbar_*`` options empty and puts the navigation
toggle, search and page contents in the article header and the sidebar instead, so that navbar is
an empty band with a second search field and a second, hidden set of ``.primary-toggle`` /
``.secondary-toggle`` buttons. The theme's script binds the *first* button of each class, the
hidden one, so the visible "☰" and "Contents" buttons do nothing (pydata-sphinx-theme #2451,
sphinx-book-theme #986; sphinx-book-theme PR #1000 removes the navbar buttons in a template).

The fix through the theme's own options: an empty ``navbar_persistent`` (like the other
``navbar_*`` options sphinx-book-theme already empties) means no top navbar at all, so the only
toggles are the visible ones and the sidebar's search field is the only one.
"""

from __future__ import annotations


def _no_top_navbar(app, config) -> None:
    options = dict(config.html_theme_options or {})
    options.setdefault("navbar_persistent", [])
    config.html_theme_options = options


def setup(app):
    app.connect("config-inited", _no_top_navbar)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
