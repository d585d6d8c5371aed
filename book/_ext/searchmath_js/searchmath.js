/* Search summaries with typeset formulas instead of TeX source (book/_ext/searchmath.py).
 *
 * Replaces Search.htmlToText and Search.makeSearchSummary of Sphinx 7.4's searchtools.js;
 * summaries come from the article (not the theme's buttons and page contents around it).
 * Loaded with "defer" on the search page only: it runs after searchtools.js and before
 * Search.init (DOMContentLoaded), so every summary goes through it.
 */
"use strict";
(() => {
  if (typeof Search === "undefined") return;
  const OPEN = "\uE000"; // private-use characters around each formula's TeX in the text
  const CLOSE = "\uE001";
  const CONTEXT = 120; // characters before the first hit, and 2 * CONTEXT in all (as Sphinx)
  const LONGEST = 160; // a longer formula shows as "…" (a summary is one or two lines)

  // TeX of one math element, without its delimiters, for inline typesetting.
  const bareTeX = (tex) =>
    tex
      .trim()
      .replace(/^\\[([]/, "")
      .replace(/\\[)\]]$/, "")
      .replace(/\\(begin|end)\{split\}/g, "\\$1{aligned}")
      .trim();

  // The page's text as Sphinx takes it, each formula marked OPEN tex CLOSE.
  Search.htmlToText = (htmlString, anchor) => {
    const doc = new DOMParser().parseFromString(htmlString, "text/html");
    for (const query of [".headerlink", "script", "style", ".math .eqno"]) {
      doc.querySelectorAll(query).forEach((el) => el.remove());
    }
    doc.querySelectorAll(".math").forEach((el) => {
      el.textContent = `${OPEN}${bareTeX(el.textContent)}${CLOSE}`;
    });
    if (anchor) {
      const block = doc.querySelector(`[role="main"] ${anchor}`);
      if (block) return block.textContent;
    }
    // the article itself, without the theme's buttons and page contents around it
    const main = doc.querySelector('[role="main"] article') || doc.querySelector('[role="main"]');
    return main ? main.textContent : "";
  };

  // [start, end) of each formula, marks included.
  const formulas = (text) => {
    const spans = [];
    for (let a = text.indexOf(OPEN); a >= 0; a = text.indexOf(OPEN, a + 1)) {
      const b = text.indexOf(CLOSE, a);
      if (b < 0) break;
      spans.push([a, b + 1]);
    }
    return spans;
  };

  // First hit of a keyword outside formulas (else anywhere); Sphinx uses the last keyword's.
  const hit = (lower, spans, keyword) => {
    for (let i = lower.indexOf(keyword); i >= 0; i = lower.indexOf(keyword, i + 1)) {
      if (!spans.some(([a, b]) => a <= i && i < b)) return i;
    }
    return lower.indexOf(keyword);
  };

  Search.makeSearchSummary = (htmlText, keywords, anchor) => {
    const text = Search.htmlToText(htmlText, anchor);
    if (text === "") return null;
    const spans = formulas(text);
    const lower = text.toLowerCase();
    const position = [...keywords]
      .map((k) => hit(lower, spans, k.toLowerCase()))
      .filter((i) => i > -1)
      .slice(-1)[0];
    let start = Math.max((position ?? 0) - CONTEXT, 0);
    let end = start + 2 * CONTEXT;
    for (const [a, b] of spans) {
      // a formula cut by either end is kept whole
      if (a < start && start < b) start = a;
      if (a < end && end < b) end = b;
    }
    const summary = document.createElement("p");
    summary.classList.add("context");
    const body = text.substring(start, end).replace(/\s+/g, " ").trim();
    const parts = [start > 0 ? "..." : "", body, end < text.length ? "..." : ""].join("");
    parts.split(new RegExp(`${OPEN}([^${CLOSE}]*)${CLOSE}`)).forEach((part, i) => {
      if (i % 2 === 0) {
        if (part) summary.appendChild(document.createTextNode(part));
      } else if (part.length > LONGEST) {
        summary.appendChild(document.createTextNode("…"));
      } else {
        const math = summary.appendChild(document.createElement("span"));
        math.className = "math notranslate nohighlight";
        math.textContent = `\\(${part}\\)`;
      }
    });
    typeset(summary);
    return summary;
  };

  // Typeset a summary once MathJax is ready (after Sphinx has appended it to the page).
  const typeset = (element) => {
    const mathjax = window.MathJax;
    if (!element.querySelector(".math") || !mathjax?.startup?.promise) return;
    mathjax.startup.promise = mathjax.startup.promise
      .then(() => mathjax.typesetPromise([element]))
      .catch((error) => console.error("searchmath: MathJax failed", error));
  };
})();
