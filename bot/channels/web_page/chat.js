// The web chat page's script: sends messages to the REST channel and shows the replies.
// No inline script (the page's CSP forbids it), no third-party code, and nothing kept in the
// browser beyond this tab's session: the random chat id lives in sessionStorage only.
"use strict";

(function () {
  const ENDPOINT = "/webhooks/rest/webhook";
  const KEY = "mutual-aid-chat-id";
  const words = document.body.dataset;
  const log = document.getElementById("log");
  const form = document.getElementById("send");
  const input = document.getElementById("message");
  const sendButton = document.getElementById("send-button");
  const status = document.getElementById("status");
  const forget = document.getElementById("forget");
  let busy = false;

  function randomId() {
    if (window.crypto && crypto.randomUUID) {
      return crypto.randomUUID();
    }
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function chatId(renew) {
    let id = null;
    try {
      if (renew) {
        sessionStorage.removeItem(KEY);
      }
      id = sessionStorage.getItem(KEY);
      if (!id) {
        id = randomId();
        sessionStorage.setItem(KEY, id);
      }
    } catch (e) {
      // Storage can be switched off: keep the id in memory for this page only.
      id = window.__chatId || (window.__chatId = randomId());
    }
    return id;
  }

  let sender = chatId(false);

  function safeUrl(url) {
    try {
      const parsed = new URL(url, window.location.href);
      return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
    } catch (e) {
      return null;
    }
  }

  function addMessage(who, text) {
    const item = document.createElement("div");
    item.className = "message " + who;
    const label = document.createElement("span");
    label.className = "visually-hidden";
    label.textContent = (who === "user" ? words.youSaid : words.botSaid) + ": ";
    item.appendChild(label);
    for (const part of String(text).split(/\n{2,}/)) {
      const p = document.createElement("p");
      const lines = part.split("\n");
      lines.forEach((line, i) => {
        if (i > 0) {
          p.appendChild(document.createElement("br"));
        }
        p.appendChild(document.createTextNode(line));
      });
      item.appendChild(p);
    }
    log.appendChild(item);
    return item;
  }

  function addButtons(item, buttons) {
    const group = document.createElement("div");
    group.className = "buttons";
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", words.buttonsLabel);
    for (const button of buttons) {
      if (typeof button.title !== "string") {
        continue;
      }
      if (typeof button.url === "string") {
        const href = safeUrl(button.url);
        if (!href) {
          continue;
        }
        const link = document.createElement("a");
        link.className = "link-button";
        link.href = href;
        link.target = "_blank";
        link.rel = "noopener noreferrer";
        link.textContent = button.title;
        const hint = document.createElement("span");
        hint.className = "visually-hidden";
        hint.textContent = " " + words.newTab;
        link.appendChild(hint);
        group.appendChild(link);
      } else if (typeof button.payload === "string") {
        const press = document.createElement("button");
        press.type = "button";
        press.textContent = button.title;
        press.addEventListener("click", () => send(button.payload, button.title));
        group.appendChild(press);
      }
    }
    if (group.childNodes.length) {
      item.appendChild(group);
    }
  }

  function addImage(item, src) {
    if (typeof src !== "string" || !src.startsWith("data:image/png;base64,")) {
      return;
    }
    const image = document.createElement("img");
    image.src = src;
    image.alt = "QR code";
    image.className = "qr";
    item.appendChild(image);
  }

  function showReplies(replies) {
    for (const reply of replies) {
      if (!reply || typeof reply.text !== "string") {
        continue;
      }
      const item = addMessage("bot", reply.text);
      if (reply.image) {
        addImage(item, reply.image);
      }
      if (Array.isArray(reply.buttons) && reply.buttons.length) {
        addButtons(item, reply.buttons);
      }
    }
    log.scrollTop = log.scrollHeight;
  }

  async function post(message) {
    const response = await fetch(ENDPOINT, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ sender: sender, message: message }),
      credentials: "omit",
      cache: "no-store",
      referrerPolicy: "no-referrer",
    });
    if (response.status === 429) {
      throw new Error("too-fast");
    }
    if (!response.ok) {
      throw new Error("offline");
    }
    return response.json();
  }

  async function send(message, shown) {
    if (busy || !message.trim()) {
      return;
    }
    busy = true;
    sendButton.disabled = true;
    if (shown !== null) {
      addMessage("user", shown === undefined ? message : shown);
    }
    status.textContent = words.sending;
    try {
      const replies = await post(message);
      status.textContent = "";
      showReplies(Array.isArray(replies) ? replies : []);
    } catch (error) {
      status.textContent = error.message === "too-fast" ? words.tooFast : words.offline;
    } finally {
      busy = false;
      sendButton.disabled = false;
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const message = input.value;
    if (!message.trim() || busy) {
      return;
    }
    input.value = "";
    send(message).then(() => input.focus());
  });

  // Enter sends; Shift+Enter starts a new line, as in most chat apps.
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  forget.addEventListener("click", async () => {
    if (busy) {
      return;
    }
    busy = true;
    try {
      await post("/forget");
      log.replaceChildren();
      sender = chatId(true);
      addMessage("bot", words.deleted);
      status.textContent = words.deleted;
      input.focus();
    } catch (error) {
      status.textContent = words.offline;
    } finally {
      busy = false;
    }
  });

  // A staff link or QR poster opens the page at ?start=PAYLOAD. The payload is sent once,
  // then taken out of the address bar, so a reload or a shared screenshot does not reuse it.
  const params = new URLSearchParams(window.location.search);
  const payload = params.get("start");
  if (payload !== null) {
    params.delete("start");
    const rest = params.toString();
    window.history.replaceState(null, "", window.location.pathname + (rest ? "?" + rest : ""));
  }
  send(payload && /^[A-Za-z0-9_-]{1,512}$/.test(payload) ? "/start " + payload : "/start", null);
})();
