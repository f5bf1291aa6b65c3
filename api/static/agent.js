// Agent console: log in with the admin key, search passages, get a suggested reply, correct
// wrong answers, review content gaps. Talks to /agent/api (session cookie + X-CSRF-Token on
// writes). Every piece of answer, question or article text is set with textContent; answers
// are rendered by render.js (loaded first), as on the chat page.
"use strict";

(() => {
  const { el, safeUrl, renderText, articleLink, renderCitations } = window.HelpRender;
  const $ = (id) => document.getElementById(id);
  let csrf = "";
  let suggestion = null; // {message, answer}
  let editing = null; // correction id being edited, or null for a new one

  async function api(path, options = {}) {
    const headers = { Accept: "application/json" };
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    if (options.method && options.method !== "GET") headers["X-CSRF-Token"] = csrf;
    const response = await fetch("/agent/api" + path, {
      method: options.method || "GET",
      headers,
      credentials: "same-origin",
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    if (response.status === 401 && path !== "/session") showLogin("Your session has expired; log in again.");
    if (!response.ok) {
      let message = `Error ${response.status}`;
      try {
        const problem = await response.json();
        message = problem.message || (typeof problem.detail === "string" ? problem.detail : message);
      } catch {
        // not JSON
      }
      throw new Error(message);
    }
    return response.status === 204 ? null : response.json();
  }

  // ----- session -------------------------------------------------------------------------
  function showLogin(message) {
    csrf = "";
    $("console").hidden = true;
    $("who").hidden = true;
    $("login").hidden = false;
    $("login-error").textContent = message || "";
  }

  async function showConsole(session) {
    csrf = session.csrf_token;
    $("login").hidden = true;
    $("console").hidden = false;
    $("who").hidden = false;
    $("who-name").textContent = `Signed in as ${session.name}`;
    $("search-query").focus();
    try {
      const data = await api("/filters");
      fillSelect($("search-collection"), data.collections);
      fillSelect($("search-tag"), data.tags);
      $("article-ids").replaceChildren(...data.articles.map((a) => {
        const option = el("option");
        option.value = a.article_id;
        option.label = a.title;
        return option;
      }));
    } catch (error) {
      $("search-status").textContent = error.message;
    }
    loadCorrections();
    loadReview();
  }

  function fillSelect(select, values) {
    select.replaceChildren(select.options[0]);
    for (const value of values) {
      const option = el("option", null, value);
      option.value = value;
      select.append(option);
    }
  }

  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = $("login-name").value.trim();
    const key = $("login-key").value;
    if (!name || !key) {
      $("login-error").textContent = "Enter your name and the admin key.";
      return;
    }
    try {
      const session = await api("/login", { method: "POST", body: { name, key } });
      $("login-key").value = "";
      showConsole(session);
    } catch (error) {
      $("login-error").textContent = error.message;
      $("login-key").focus();
    }
  });

  $("logout").addEventListener("click", async () => {
    try {
      await api("/logout", { method: "POST" });
    } finally {
      showLogin("You are logged out.");
      $("login-name").focus();
    }
  });

  // ----- search ---------------------------------------------------------------------------
  $("search-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const query = $("search-query").value.trim();
    if (!query) return;
    const tag = $("search-tag").value;
    const body = { query, k: 8, collection: $("search-collection").value || null, tags: tag ? [tag] : [] };
    $("search-status").textContent = "Searching…";
    try {
      const hits = await api("/search", { method: "POST", body });
      const list = $("search-results");
      list.replaceChildren();
      for (const hit of hits) {
        const item = el("li", "hit");
        const title = el("h3", "hit__title");
        title.append(articleLink(hit, hit.title));
        const where = [hit.section, hit.collection].filter(Boolean).join(" · ");
        const meta = el("p", "meta", `${where} · score ${hit.score.toFixed(2)}`);
        const text = el("p", "hit__text", hit.text.length > 400 ? hit.text.slice(0, 400) + "…" : hit.text);
        item.append(title, meta, text);
        list.append(item);
      }
      $("search-status").textContent = `${hits.length} passages.`;
    } catch (error) {
      $("search-status").textContent = error.message;
    }
  });

  // ----- suggested reply --------------------------------------------------------------------
  function replyText(answer) {
    const sources = answer.citations.map((c) => `[${c.n}] ${c.title}: ${safeUrl(c.url) || c.article_id}`);
    return sources.length ? `${answer.answer}\n\nSources:\n${sources.join("\n")}` : answer.answer;
  }

  $("suggest-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const message = $("suggest-message").value.trim();
    if (!message) return;
    $("suggest-status").textContent = "Asking the assistant…";
    try {
      const answer = await api("/suggest", { method: "POST", body: { message } });
      suggestion = { message, answer };
      $("suggestion").hidden = false;
      $("suggestion").dataset.answerer = answer.answerer;
      $("suggestion-outcome").textContent = answer.outcome;
      $("suggestion-source").textContent = answer.answerer === "correction" ? "(an agent's correction)" : "";
      renderText($("suggestion-text"), answer.answer);
      renderCitations($("suggestion-citations"), answer.citations);
      $("copy-status").textContent = "";
      $("suggest-status").textContent = "";
    } catch (error) {
      $("suggest-status").textContent = error.message;
    }
  });

  $("copy-reply").addEventListener("click", async () => {
    if (!suggestion) return;
    const text = replyText(suggestion.answer);
    try {
      await navigator.clipboard.writeText(text);
      $("copy-status").textContent = "Reply copied to the clipboard.";
    } catch {
      const box = $("reply-text"); // no clipboard access: select the text for Ctrl+C
      box.hidden = false;
      box.value = text;
      box.select();
      $("copy-status").textContent = "Press Ctrl+C (or Cmd+C) to copy the selected reply.";
    }
  });

  $("wrong").addEventListener("click", () => {
    if (!suggestion) return;
    const a = suggestion.answer;
    openForm(null, {
      question: suggestion.message,
      answer: a.outcome === "answered" ? a.answer : "",
      citations: a.citations,
      facts: [],
      answer_id: a.answer_id,
    });
  });

  // ----- corrections ------------------------------------------------------------------------
  function openForm(id, values) {
    editing = id;
    const form = $("correction-form");
    form.hidden = false;
    form.dataset.answerId = values.answer_id || "";
    $("correction-form-title").textContent = id === null ? "New correction" : "Edit correction";
    $("correction-question").value = values.question;
    $("correction-answer").value = values.answer;
    $("correction-articles").value = values.citations.map((c) => c.article_id).join(", ");
    $("correction-facts").value = values.facts.join(", ");
    $("correction-error").textContent = "";
    $("correction-answer").focus();
  }

  function closeForm() {
    $("correction-form").hidden = true;
    editing = null;
  }

  const splitList = (value) => value.split(",").map((v) => v.trim()).filter(Boolean);

  $("correction-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {
      question: $("correction-question").value.trim(),
      answer: $("correction-answer").value.trim(),
      citations: splitList($("correction-articles").value).map((id) => ({ article_id: id })),
      facts: splitList($("correction-facts").value),
    };
    if (!body.question || !body.answer) {
      $("correction-error").textContent = "The question and the right answer are both needed.";
      return;
    }
    try {
      if (editing === null) {
        body.answer_id = $("correction-form").dataset.answerId || null;
        await api("/corrections", { method: "POST", body });
        $("corrections-status").textContent = "Correction saved; it is served from now on.";
      } else {
        await api(`/corrections/${editing}`, { method: "PUT", body });
        $("corrections-status").textContent = "Correction updated.";
      }
      closeForm();
      await loadCorrections();
      $("corrections-list").focus();
    } catch (error) {
      $("correction-error").textContent = error.message;
    }
  });

  $("correction-cancel").addEventListener("click", closeForm);

  const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

  function when(iso) {
    return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  }

  async function loadCorrections() {
    let items;
    try {
      items = await api("/corrections");
    } catch (error) {
      $("corrections-status").textContent = error.message;
      return;
    }
    const list = $("corrections-list");
    list.tabIndex = -1;
    list.replaceChildren();
    if (!items.length) list.append(el("li", "empty", "No corrections yet."));
    for (const c of items) {
      const item = el("li", "correction");
      item.dataset.id = String(c.id);
      item.append(el("h3", "correction__q", c.question));
      const text = el("div", "answer");
      renderText(text, c.answer);
      item.append(text);
      if (c.citations.length) {
        const cites = el("ol", "cites");
        cites.setAttribute("aria-label", "Sources");
        for (const cite of c.citations) {
          const li = el("li");
          li.append(articleLink(cite, cite.title || cite.article_id));
          cites.append(li);
        }
        item.append(cites);
      }
      let meta = `By ${c.author}, ${when(c.created_at)}`;
      if (c.updated_by) meta += `; edited by ${c.updated_by}, ${when(c.updated_at)}`;
      item.append(el("p", "meta", meta));
      const actions = el("div", "actions");
      const edit = el("button", "secondary", "Edit");
      edit.type = "button";
      edit.setAttribute("aria-label", `Edit the correction for “${c.question}”`);
      edit.addEventListener("click", () => openForm(c.id, c));
      const remove = el("button", "danger", "Delete");
      remove.type = "button";
      remove.setAttribute("aria-label", `Delete the correction for “${c.question}”`);
      remove.addEventListener("click", async () => {
        if (!window.confirm(`Delete the correction for “${c.question}”?`)) return;
        try {
          await api(`/corrections/${c.id}`, { method: "DELETE" });
          $("corrections-status").textContent = "Correction deleted.";
          await loadCorrections();
          $("corrections-list").focus(); // the button that had focus is gone
        } catch (error) {
          $("corrections-status").textContent = error.message;
        }
      });
      actions.append(edit, remove);
      item.append(actions);
      list.append(item);
    }
  }

  // ----- review -----------------------------------------------------------------------------
  function trend(counts) {
    const box = el("div", "trend");
    const week = counts.slice(-7).reduce((a, b) => a + b, 0);
    const month = counts.reduce((a, b) => a + b, 0);
    box.setAttribute("role", "img");
    box.setAttribute("aria-label", `${month} in the last 30 days, ${week} in the last 7`);
    const top = Math.max(1, ...counts);
    for (const n of counts) {
      const bar = el("span", "trend__bar");
      bar.style.height = `${Math.round((n / top) * 100)}%`; // CSSOM: allowed by the strict CSP
      box.append(bar);
    }
    const wrap = el("div", "trend-wrap");
    wrap.append(box, el("span", "meta", `${month} in 30 days`));
    return wrap;
  }

  async function loadReview() {
    $("review-status").textContent = "Loading the review…";
    let report;
    try {
      report = await api("/review");
    } catch (error) {
      $("review-status").textContent = error.message;
      return;
    }
    const groups = $("review-groups");
    groups.replaceChildren();
    for (const g of report.groups) {
      const item = el("li", "group");
      item.append(el("h4", "group__title", g.representative));
      item.append(el("p", "meta", `${plural(g.count, "question")} · ${g.no_answer} unanswered · ${g.thumbs_down} thumbs down`));
      item.append(trend(g.trend));
      const examples = el("ul", "examples");
      examples.setAttribute("aria-label", "Example questions");
      for (const e of g.examples) examples.append(el("li", null, e));
      item.append(examples);
      if (g.nearest_article) {
        const near = el("p", "meta", "Nearest article: ");
        near.append(articleLink(g.nearest_article, g.nearest_article.title));
        near.append(` (${g.nearest_article.score.toFixed(2)})`);
        item.append(near);
      }
      groups.append(item);
    }
    const items = $("review-items");
    items.replaceChildren();
    for (const i of report.items) {
      const item = el("li", "item");
      const flags = [i.no_answer ? "no answer" : null, i.thumbs_down ? "thumbs down" : null].filter(Boolean);
      item.append(el("p", "item__q", i.question));
      item.append(el("p", "meta", `${flags.join(", ")} · ${when(i.created_at)}`));
      const details = el("details");
      details.append(el("summary", null, "Answer given"));
      const given = el("div", "answer");
      renderText(given, i.answer || "(not stored)");
      details.append(given);
      item.append(details);
      items.append(item);
    }
    $("review-status").textContent = `${plural(report.questions, "question")} in ${plural(report.groups.length, "content gap")}.`;
  }

  $("review-load").addEventListener("click", loadReview);

  // ----- start ------------------------------------------------------------------------------
  api("/session").then(showConsole, () => {
    showLogin("");
    $("login-name").focus();
  });
})();
