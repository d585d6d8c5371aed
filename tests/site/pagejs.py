"""The page functions (JavaScript) the site tests run in Chromium, one string each.

Scope: waiting for a page to be complete (images decoded, fonts ready, video metadata, MathJax
typeset) and measuring it (boxes against the article column, media sizes, pause controls).
No Python logic here: pagereport.py runs these and judges the numbers. Every wait is for a
condition; a timer only caps a wait that never ends (the stuck element is then reported).
"""

from __future__ import annotations

# MathJax has started (its startup promise exists).
MATHJAX_STARTED = "() => !!(window.MathJax && MathJax.startup && MathJax.startup.promise)"

# Every <img> loaded or failed (lazy ones made eager), every <video>'s metadata loaded or failed,
# the web fonts ready. Resolves with nothing; the measurements below report what is missing.
SETTLE_MEDIA = """
async () => {
  const imgs = Array.from(document.images);
  for (const img of imgs) if (img.loading === 'lazy') img.loading = 'eager';
  const waits = imgs.filter(img => !img.complete).map(img => new Promise(r => {
    img.addEventListener('load', r, {once: true});
    img.addEventListener('error', r, {once: true});
  }));
  for (const v of document.querySelectorAll('video')) {
    if (v.readyState >= 1 || v.networkState === 3) continue;
    waits.push(new Promise(r => {
      v.addEventListener('loadedmetadata', r, {once: true});
      v.addEventListener('error', r, {once: true, capture: true});  // also a <source>'s error
    }));
    if (v.preload === 'none') { v.preload = 'metadata'; v.load(); }
  }
  waits.push(document.fonts.ready);
  await Promise.race([Promise.all(waits), new Promise(r => setTimeout(r, 60000))]);
}
"""

# Every Bokeh layout of the page has rendered (BokehJS idle, its root holds the layout's view).
BOKEH_RENDERED = """
() => { const roots = document.querySelectorAll('[data-root-id]');
  if (!roots.length) return true;
  const B = window.Bokeh;
  return !!(B && B.documents && B.documents.length > 0
            && B.documents.every(d => d.is_idle !== false)
            && Array.from(roots).every(r => r.firstElementChild)); }
"""

# Every <img> of the page: what the browser-level checks need.
IMAGES = """
() => Array.from(document.images).map(img => ({
  src: img.currentSrc || img.src, natural: img.naturalWidth, complete: img.complete, alt: img.alt}))
"""

# Opens every collapsed block of the article (<details>: "Show code" cells, dropdowns), so that
# what a reader can expand is measured too. Returns how many it opened.
OPEN_DETAILS = """
() => { let n = 0;
  for (const d of document.querySelectorAll('article details:not([open])')) { d.open = true; n++; }
  return n; }
"""

# Shared helpers of MEASURE (a function body prefix).
_HELPERS = r"""
  const article = document.querySelector('article.bd-article') || document.querySelector('main')
                  || document.body;
  const px = v => parseFloat(v) || 0;
  const visible = e => { const r = e.getBoundingClientRect();
    return r.width > 0 && r.height > 0
      && (!e.checkVisibility || e.checkVisibility({visibilityProperty: true})); };
  const short = (s, n) => s.length > n ? s.slice(0, n) + '…' : s;
  const describe = e => {
    let what = tagOf(e);
    const media = e.matches('img, video') ? e : e.querySelector('img, video');
    const src = media ? (media.currentSrc || media.src || '') : '';
    if (src) what += ' ' + (src.startsWith('data:') ? short(src, 30) : src.split('/').pop());
    else what += ' "' + short((e.textContent || '').replace(/\s+/g, ' ').trim(), 60) + '"';
    const anchor = e.parentElement && e.parentElement.closest('[id]');
    const section = e.closest('section[id]');
    if (anchor && anchor !== section && !e.id) what += ' in #' + anchor.id;
    return what + (section ? ' (section #' + section.id + ')' : '');
  };
  const tagOf = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
    + Array.from(e.classList).slice(0, 2).map(c => '.' + c).join('');
  // the content box of an element: its displayed size without padding and border
  const contentBox = e => { const r = e.getBoundingClientRect(), cs = getComputedStyle(e);
    return {left: r.left + px(cs.paddingLeft) + px(cs.borderLeftWidth),
            right: r.right - px(cs.paddingRight) - px(cs.borderRightWidth),
            width: r.width - px(cs.paddingLeft) - px(cs.paddingRight)
                   - px(cs.borderLeftWidth) - px(cs.borderRightWidth),
            height: r.height - px(cs.paddingTop) - px(cs.paddingBottom)
                    - px(cs.borderTopWidth) - px(cs.borderBottomWidth)}; };
  // a visible pause control next to an animation: a button that says pause or stop
  const hasPause = e => {
    const box = e.closest('figure, .cell_output, .output, .animation, .player') || e.parentElement;
    return Array.from(box.querySelectorAll('button, [role=button], input[type=button]'))
      .filter(visible).some(b => /pause|stop/i.test(
        [b.textContent, b.value, b.getAttribute('aria-label'), b.title].join(' ')));
  };
"""

# Everything the layout and media checks judge, measured once on the open page:
#   column: the article's content box (left, right) and the right edge full-width content may
#           reach (the theme's full-width/margin layout widens into the secondary sidebar);
#   boxes:  each table, figure, img, video, display formula and code block (kind, what, left,
#           right, the column it must stay in, and how far its content scrolls or is cut);
#   images, videos: displayed vs natural width, and pause controls.
MEASURE = (
    "() => {"
    + _HELPERS
    + r"""
  const col = contentBox(article);
  const content = document.querySelector('.bd-content') || article;
  const wideRight = Math.min(content.getBoundingClientRect().right,
                             document.documentElement.clientWidth);
  const WIDE = '.full-width, .full_width, .tag_full-width, .tag_full_width, .margin, '
             + '.tag_margin, aside.sidebar';
  const KINDS = [['table', 'table'], ['figure', 'figure'], ['img', 'img'], ['video', 'video'],
                 ['math', 'mjx-container[display="true"], div.math:not(:has(mjx-container))'],
                 ['code', 'pre'],
                 // an interactive figure: a Bokeh layout (its root is display: contents) or a frame
                 ['widget', '[data-root-id] > *, iframe']];
  const boxes = [];
  for (const [kind, selector] of KINDS) for (const e of article.querySelectorAll(selector)) {
    if (!visible(e)) continue;
    const r = e.getBoundingClientRect();
    // where its content scrolls or is cut: its own box, or the nearest ancestor inside the
    // article that clips and that it sticks out of (e.g. a table's scrolling wrapper)
    let scroller = null;
    for (let a = e; a && a !== article; a = a.parentElement) {
      if (a === e && (kind === 'img' || kind === 'video')) continue;  // replaced: clip is normal
      if (getComputedStyle(a).overflowX === 'visible' || a.scrollWidth <= a.clientWidth + 1)
        continue;
      const ar = a.getBoundingClientRect();
      const inner = {left: ar.left + a.clientLeft, right: ar.left + a.clientLeft + a.clientWidth};
      if (a === e || r.right > inner.right + 1 || r.left < inner.left - 1) { scroller = a; break; }
    }
    const outer = scroller ? scroller.getBoundingClientRect() : r;
    const wide = !!e.closest(WIDE);
    boxes.push({kind, what: describe(e), left: outer.left, right: outer.right, width: r.width,
                colLeft: col.left, colRight: wide ? wideRight : col.right, wide,
                scrollWidth: scroller ? scroller.scrollWidth : 0,
                clientWidth: scroller ? scroller.clientWidth : 0,
                overflowX: scroller ? getComputedStyle(scroller).overflowX : 'visible',
                scroller: scroller && scroller !== e ? tagOf(scroller) : ''});
  }
  const images = Array.from(article.querySelectorAll('img')).filter(visible).map(img => {
    const src = img.currentSrc || img.src;
    const box = contentBox(img);
    return {what: describe(img), src, natural: img.naturalWidth, shown: box.width,
            icon: /icon|logo|badge/i.test(img.className + ' ' + src.split('/').pop())
                  || !!img.closest('.navbar-brand, .logo, header, nav') || box.width < 48,
            pause: hasPause(img)};
  });
  const videos = Array.from(article.querySelectorAll('video')).filter(visible).map(v => {
    const box = contentBox(v);
    const aspect = v.videoWidth && v.videoHeight ? v.videoWidth / v.videoHeight : 0;
    // the frame as drawn: object-fit contain (the default) letterboxes it inside the box
    const fit = getComputedStyle(v).objectFit;
    const frame = !aspect || fit === 'fill' ? box.width : Math.min(box.width, box.height * aspect);
    return {what: describe(v), src: v.currentSrc || v.src, natural: v.videoWidth, shown: frame,
            controls: v.hasAttribute('controls'), autoplay: v.autoplay, loop: v.loop,
            pause: hasPause(v), readyState: v.readyState,
            error: v.error ? 'MediaError ' + v.error.code
                           : (v.networkState === 3 ? 'no playable source' : null)};
  });
  const doc = document.documentElement;
  return {column: {left: col.left, right: col.right, wideRight,
                   pageWidth: doc.scrollWidth, screenWidth: doc.clientWidth},
          boxes, images, videos};
}"""
)

# Text a reader can see, outside code, with MathJax output removed.
VISIBLE_TEXT = """
() => {
  const skip = 'pre, code, script, style, textarea, mjx-container, mjx-assistive-mml, '
             + '.highlight, .cell_input, .MathJax';
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const el = node.parentElement;
    if (!el || el.closest(skip)) continue;
    if (el.checkVisibility && !el.checkVisibility({visibilityProperty: true})) continue;
    if (node.textContent.trim()) out.push(node.textContent);
  }
  return out.join('\\n');
}
"""

UNTYPESET_MATH = """
() => Array.from(document.querySelectorAll('.math'))
        .filter(el => !el.querySelector('mjx-container'))
        .map(el => el.textContent.trim().slice(0, 80))
"""

# A link of the site navigation is visible and on screen (the sidebar is open).
NAV_OPEN = """
(width) => Array.from(document.querySelectorAll('#pst-primary-sidebar .bd-sidenav a, '
                                                + '.bd-sidebar-primary .bd-sidenav a'))
  .some(a => { const r = a.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && r.left >= 0 && r.right <= width
      && (!a.checkVisibility || a.checkVisibility({visibilityProperty: true})); })
"""

# The site icon(s) a browser asks for: <link rel=icon> hrefs, else /favicon.ico.
ICONS = """
() => { const links = Array.from(document.querySelectorAll('link[rel~="icon"]')).map(l => l.href);
  return links.length ? links : [new URL('/favicon.ico', location.href).href]; }
"""
