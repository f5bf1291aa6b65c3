// Chat widget for the help assistant: streams answers from POST /v1/answer/stream (SSE),
// keeps the conversation for follow-ups and sends thumbs up/down to POST /v1/feedback.
// Every piece of answer or article text is set with textContent, never parsed as HTML; answers
// are rendered by render.js (loaded first), as on the agent console.
"use strict";

(() => {
  const { el, safeUrl, renderText, newTabLink, renderCitations } = window.HelpRender;
  const TEXT_CLASSES = { para: "msg__para", list: "msg__list" };
  const MAX_TURNS = 20; // the API's history limit (CONTRACT.md)

  const log = document.getElementById("log");
  const form = document.getElementById("ask-form");
  const input = document.getElementById("question");
  const sendButton = document.getElementById("send");
  const status = document.getElementById("status");
  const newChat = document.getElementById("new-chat");
  const supportMeta = document.querySelector('meta[name="support-url"]');
  const supportUrl = safeUrl(supportMeta ? supportMeta.content : "");

  let history = [];
  let busy = false;

  function scrollToEnd() {
    log.scrollTop = log.scrollHeight;
  }

  function addUserMessage(text) {
    const message = el("div", "msg msg--user");
    message.append(el("p", "msg__who visually-hidden", "You asked:"), el("p", "msg__text", text));
    log.append(message);
    scrollToEnd();
  }

  function addAssistantMessage() {
    const message = el("div", "msg msg--assistant");
    message.setAttribute("aria-busy", "true");
    const body = el("div", "msg__text");
    // Three dots while the answer is looked up and streamed; the status line says it in words.
    const typing = el("span", "typing");
    typing.setAttribute("aria-hidden", "true");
    typing.append(el("span", "typing__dot"), el("span", "typing__dot"), el("span", "typing__dot"));
    message.append(el("p", "msg__who visually-hidden", "Assistant:"), body, typing);
    log.append(message);
    scrollToEnd();
    return { message, body, typing };
  }

  function showError(message, text) {
    message.setAttribute("aria-busy", "false");
    message.classList.add("msg--error");
    const alert = el("p", "msg__error", text);
    alert.setAttribute("role", "alert");
    message.append(alert);
  }

  // Server-Sent Events from a fetch() body: yields {event, data} per event block.
  async function* sseEvents(stream) {
    const reader = stream.getReader();
    const decoder = new TextDecoder();
    let pending = "";
    let carry = ""; // a trailing "\r" may be the first half of "\r\n"
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      let raw = carry + decoder.decode(value, { stream: true });
      carry = raw.endsWith("\r") ? "\r" : "";
      if (carry) raw = raw.slice(0, -1);
      pending += raw.replace(/\r\n?/g, "\n");
      let end;
      while ((end = pending.indexOf("\n\n")) >= 0) {
        const block = pending.slice(0, end);
        pending = pending.slice(end + 2);
        const event = parseBlock(block);
        if (event) yield event;
      }
    }
  }

  function parseBlock(block) {
    let event = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (!line || line.startsWith(":")) continue; // comments and pings
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
    }
    return data.length ? { event, data: data.join("\n") } : null;
  }

  function renderSources(message, citations) {
    if (!citations.length) return;
    const nav = el("nav", "sources");
    nav.setAttribute("aria-label", "Sources");
    nav.append(el("h2", "sources__title", "Sources"));
    const list = el("ol", "sources__list");
    renderCitations(list, citations, "sources__link");
    nav.append(list);
    message.append(nav);
  }

  function renderHandoff(message, handoff) {
    if (!handoff || !handoff.offered || !supportUrl) return;
    const p = el("p", "handoff");
    p.append(newTabLink("handoff__link", "Talk to a person", supportUrl));
    message.append(p);
  }

  // Material Design "thumb up" icon (Apache 2.0); drawn, so no emoji font is needed.
  const THUMB =
    "M1 21h4V9H1v12zm22-11c0-1.1-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L14.17 " +
    "1 7.59 7.59C7.22 7.95 7 8.45 7 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09" +
    "-.23.14-.47.14-.73v-2z";

  function feedbackButton(text, label, down) {
    const button = el("button", "feedback__button");
    button.type = "button";
    button.setAttribute("aria-label", label);
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
    path.setAttribute("d", THUMB);
    if (down) path.setAttribute("transform", "rotate(180 12 12)");
    svg.append(path);
    button.append(svg, el("span", null, text));
    return button;
  }

  function renderFeedback(message, answerId) {
    const box = el("div", "feedback");
    box.setAttribute("role", "group");
    const label = el("span", "feedback__label", "Did this answer your question?");
    label.id = "fb-" + answerId;
    box.setAttribute("aria-labelledby", label.id);
    const yes = feedbackButton("Yes", "Yes, this answered my question", false);
    const no = feedbackButton("No", "No, this did not answer my question", true);
    const note = el("span", "feedback__note");
    note.setAttribute("role", "status");
    box.append(label, yes, no, note);
    message.append(box);

    async function send(helpful) {
      yes.disabled = true;
      no.disabled = true;
      (helpful ? yes : no).setAttribute("aria-pressed", "true");
      try {
        const response = await fetch("/v1/feedback", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ answer_id: answerId, helpful }),
        });
        if (!response.ok) throw new Error(String(response.status));
        note.textContent = "Thanks for your feedback.";
      } catch {
        note.textContent = "Sorry, your feedback could not be sent.";
        yes.disabled = false;
        no.disabled = false;
      }
    }
    yes.addEventListener("click", () => send(true));
    no.addEventListener("click", () => send(false));
  }

  function renderAnswer(message, body, answer) {
    renderText(body, answer.answer, TEXT_CLASSES);
    message.dataset.outcome = answer.outcome;
    message.dataset.answerId = answer.answer_id;
    renderSources(message, answer.citations || []);
    renderHandoff(message, answer.handoff);
    renderFeedback(message, answer.answer_id);
    message.setAttribute("aria-busy", "false");
    scrollToEnd();
  }

  async function problemText(response) {
    try {
      const problem = await response.json();
      if (problem.message) return problem.message;
      if (typeof problem.detail === "string") return problem.detail;
    } catch {
      // not JSON: fall through
    }
    return `The assistant could not answer (error ${response.status}).`;
  }

  async function ask(question) {
    busy = true;
    sendButton.disabled = true;
    status.textContent = "Looking in our help articles…";
    addUserMessage(question);
    const { message, body, typing } = addAssistantMessage();
    try {
      const response = await fetch("/v1/answer/stream", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
        body: JSON.stringify({ question, history: history.slice(-MAX_TURNS) }),
      });
      if (!response.ok || !response.body) {
        showError(message, await problemText(response));
        return;
      }
      let text = "";
      let answer = null;
      for await (const event of sseEvents(response.body)) {
        if (event.event === "delta") {
          text += JSON.parse(event.data).text;
          renderText(body, text, TEXT_CLASSES);
          scrollToEnd();
        } else if (event.event === "done") {
          answer = JSON.parse(event.data);
        }
      }
      if (!answer) {
        showError(message, "The answer was interrupted. Please try again.");
        return;
      }
      renderAnswer(message, body, answer);
      history.push({ role: "user", content: question }, { role: "assistant", content: answer.answer });
      history = history.slice(-MAX_TURNS);
    } catch {
      showError(message, "Could not reach the assistant. Check your connection and try again.");
    } finally {
      typing.remove();
      busy = false;
      sendButton.disabled = false;
      status.textContent = "";
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const question = input.value.trim();
    if (!question) {
      status.textContent = "Type a question first.";
      input.focus();
      return;
    }
    if (busy) return;
    input.value = "";
    ask(question);
  });

  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  newChat.addEventListener("click", () => {
    history = [];
    log.replaceChildren();
    status.textContent = "Started a new conversation.";
    input.focus();
  });
})();
