// Shared by the chat page (chat.js) and the agent console (agent.js), loaded before them (all
// three scripts are deferred, so they run in document order): DOM helpers and the answer-text
// renderer. Every piece of answer, question or article text is set with textContent and never
// parsed as HTML; lists in answers ("- " items, "1. " steps) are built as list elements, and
// citations as a numbered list whose markers (CSS) read [1], [2] like the markers in the text.
"use strict";

window.HelpRender = (() => {
  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // An http(s) URL, absolute; anything else (javascript:, data:, "") -> null.
  function safeUrl(value) {
    if (!value || !value.trim()) return null; // "" would resolve to this very page
    try {
      const url = new URL(value, window.location.href);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch {
      return null;
    }
  }

  // Answer text -> paragraphs and lists, as DOM nodes (the text itself never becomes markup).
  // classes: optional {para, list} class names for the paragraphs and the lists.
  function renderText(container, text, classes = {}) {
    container.replaceChildren();
    let list = null;
    for (const line of String(text).split("\n")) {
      const bullet = /^\s*[-*•]\s+(.*)$/.exec(line);
      const step = /^\s*(\d+)[.)]\s+(.*)$/.exec(line);
      if (bullet || step) {
        const kind = bullet ? "UL" : "OL";
        if (!list || list.tagName !== kind) {
          list = el(kind.toLowerCase(), classes.list);
          if (step && step[1] !== "1") list.start = Number(step[1]);
          container.append(list);
        }
        list.append(el("li", null, bullet ? bullet[1] : step[2]));
      } else if (line.trim()) {
        list = null;
        container.append(el("p", classes.para, line));
      } else {
        list = null;
      }
    }
  }

  // A link that opens in a new tab, without giving it this page (or a referrer); href must be
  // safe already (from safeUrl, or a path of ours).
  function newTabLink(className, text, href) {
    const link = el("a", className, text);
    link.href = href;
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    return link;
  }

  // A link to a cited article or search hit: its own http(s) URL, else the article API.
  function articleLink(item, label, className) {
    const href = safeUrl(item.url) || "/v1/articles/" + encodeURIComponent(item.article_id);
    return newTabLink(className, label, href);
  }

  const citationLabel = (c) => (c.section ? `${c.title} — ${c.section}` : c.title);

  // The answer's citations into an <ol>: item n is marker [n] of the answer text.
  function renderCitations(list, citations, linkClass) {
    list.replaceChildren();
    for (const c of citations) {
      const item = el("li");
      item.value = c.n;
      item.append(articleLink(c, citationLabel(c), linkClass));
      list.append(item);
    }
  }

  return Object.freeze({ el, safeUrl, renderText, newTabLink, articleLink, renderCitations });
})();
