// OKAP Vault — the owner's page. Plain JavaScript, no framework, no build step.
// Rules kept throughout: every string that comes from the server (and so possibly from an app) is put on the page
// with DOM APIs as text, never parsed as HTML; every state-changing call carries the anti-forgery header; fetches
// stay same-origin. The Content-Security-Policy forbids inline script and style, so nothing here relies on them.
"use strict";

(() => {
  // ---------------------------------------------------------------------------------------------------------------
  // Catalog

  const PROVIDERS = ["openai", "anthropic", "google", "groq", "together", "mistral", "cohere", "ollama"];
  const PROVIDER_NAMES = {
    openai: "OpenAI", anthropic: "Anthropic", google: "Google Gemini", groq: "Groq",
    together: "Together AI", mistral: "Mistral", cohere: "Cohere", ollama: "Ollama",
  };
  const CAPABILITIES = ["chat", "completions", "embeddings", "images", "audio", "moderation", "code", "vision"];
  const ACCESS_KEY_SCOPES = [
    { scope: "read", label: "read: see requests, tokens, usage, keys, rules, prices and the audit log" },
    { scope: "approve", label: "approve: approve or deny requests, revoke or narrow tokens" },
    { scope: "keys", label: "keys: change master keys, upstreams, auto-approval rules and prices" },
  ];
  const LIMITS = [
    { key: "monthly_spend", label: "Monthly spend", money: true, unit: "USD per month" },
    { key: "daily_spend", label: "Daily spend", money: true, unit: "USD per day" },
    { key: "requests_per_minute", label: "Requests per minute", unit: "requests" },
    { key: "requests_per_day", label: "Requests per day", unit: "requests" },
    { key: "tokens_per_request", label: "Tokens per request", unit: "tokens" },
  ];
  const AUTH_KINDS = [
    { value: "key", label: "API key (default)" },
    { value: "azure-api-key", label: "Azure OpenAI api-key" },
    { value: "managed-identity", label: "Managed identity (no key)" },
    { value: "none", label: "No authentication (e.g. local Ollama)" },
  ];
  const AUDIT_EVENTS = [
    "request.created", "request.approved", "request.auto_approved", "request.denied",
    "token.issued", "token.revoked", "token.used", "token.refused",
    "key.set", "key.removed", "price.set", "price.removed", "policy.created", "policy.updated", "policy.removed",
    "access_key.created", "access_key.revoked", "account.sign_in", "account.sign_in_failed", "account.created",
    "account.password_changed", "account.session_ended", "account.signed_out_everywhere", "account.totp_enabled", "account.totp_disabled",
    "account.recovery_codes_generated", "account.passkey_added", "account.passkey_removed",
  ];
  const POLL_MS = 2000;
  const DASHBOARD_REFRESH_MS = 5000;

  const state = {
    session: null,        // SessionView when signed in
    setup: null,          // SetupStateView when not
    unavailable: null,    // why the session could not be checked (the vault's storage or the vault itself unreachable)
    pending: [],          // pending requests, refreshed every POLL_MS
    pendingKey: null,     // null until the first poll answered
    pollTimer: 0,
    onPending: null,      // the current view's listener for pending changes
    viewId: 0,            // bumps on every render; stale async work checks it
    lastPath: null,
  };

  // ---------------------------------------------------------------------------------------------------------------
  // DOM helpers: elements are built with createElement/append; text always goes in as text nodes.

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    setAttrs(el, attrs);
    add(el, children);
    return el;
  }

  const SVG_NS = "http://www.w3.org/2000/svg";
  function s(tag, attrs, ...children) {
    const el = document.createElementNS(SVG_NS, tag);
    setAttrs(el, attrs);
    add(el, children);
    return el;
  }

  function setAttrs(el, attrs) {
    if (!attrs) return;
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") el.setAttribute("class", v);
      else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
      else if (k === "value") el.value = v;
      else if (k === "checked") el.checked = !!v;
      else if (k === "text") el.textContent = v;
      else if (v === true) el.setAttribute(k, "");
      else el.setAttribute(k, String(v));
    }
  }

  function add(el, children) {
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
  }

  function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); }
  const $ = (sel, root = document) => root.querySelector(sel);
  let uid = 0;
  const nextId = (p) => `${p}-${++uid}`;

  // ---------------------------------------------------------------------------------------------------------------
  // Formatting

  function usd(v) {
    if (v === null || v === undefined) return "—";
    const n = Number(v);
    if (n !== 0 && Math.abs(n) < 0.01) return "$" + n.toFixed(4);
    return "$" + n.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }
  const num = (v) => Number(v || 0).toLocaleString("en-US");
  const plural = (n, word) => `${num(n)} ${word}${Number(n) === 1 ? "" : "s"}`;
  function when(iso) {
    if (!iso) return "—";
    const d = new Date(iso);
    return isNaN(d) ? String(iso) : d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  }
  function instant(iso) {
    const d = new Date(iso);
    return isNaN(d) ? String(iso) : d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
  }
  function day(iso) {
    if (!iso) return "—";
    const d = new Date(iso);
    return isNaN(d) ? String(iso) : d.toLocaleDateString(undefined, { dateStyle: "medium" });
  }
  function ago(iso) {
    if (!iso) return "never";
    const secs = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
    if (secs < 0) return "in " + duration(-secs);
    if (secs < 45) return "just now";
    return duration(secs) + " ago";
  }
  function duration(secs) {
    if (secs < 90) return secs + " s";
    const mins = Math.round(secs / 60);
    if (mins < 90) return mins + " min";
    const hours = Math.round(mins / 60);
    if (hours < 36) return hours + " h";
    return Math.round(hours / 24) + " days";
  }
  const providerName = (p) => PROVIDER_NAMES[p] || p;
  const isoDay = (d) => d.toISOString().slice(0, 10);
  const shortDay = (d) => new Date(d + "T00:00:00Z").toLocaleDateString("en-US", { month: "short", day: "numeric", timeZone: "UTC" });
  function limitText(def, value) {
    if (value === null || value === undefined) return "No limit";
    return def.money ? usd(value) + (def.key === "monthly_spend" ? " per month" : " per day") : num(value);
  }
  // Prices per million tokens keep their precision ($0.075), unlike spend, which is shown to the cent.
  function perMillion(v) {
    if (v === null || v === undefined) return "—";
    return "$" + Number(v).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 6 });
  }
  const listText = (items, empty) => (items && items.length ? items.join(", ") : empty);

  // ---------------------------------------------------------------------------------------------------------------
  // HTTP

  class ApiError extends Error {
    constructor(status, type, message, param) {
      super(message);
      this.status = status; this.type = type; this.param = param;
    }
  }

  async function api(method, path, body, retried = false) {
    const headers = { Accept: "application/json" };
    if (method !== "GET" && method !== "HEAD") headers["X-CSRF-TOKEN"] = (state.session && state.session.csrf_token) || "";
    const init = { method, headers, credentials: "same-origin", cache: "no-store", redirect: "error" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch {
      throw new ApiError(0, "network", "Cannot reach the vault. Check the connection and try again.");
    }
    const text = await res.text();
    let data = null;
    if (text) { try { data = JSON.parse(text); } catch { data = null; } }
    if (res.ok) return data;
    const err = (data && data.error) || {};
    if (res.status === 403 && err.type === "csrf_failed" && !retried) {
      // The anti-forgery token is bound to the session; fetch a fresh one and try once more.
      await loadSession();
      if (state.session) return api(method, path, body, true);
    }
    if (res.status === 401 && (path.startsWith("/okap/admin/") || SESSION_PATHS.test(path))) {
      signedOut("Your session has ended. Sign in again to continue.");
    }
    throw new ApiError(res.status, err.type || "http_" + res.status, friendlyError(res.status, err.message), err.param);
  }

  // Account routes that need a live session: a 401 there means the session ended (signed out elsewhere).
  const SESSION_PATHS = /^\/okap\/account\/(security|password|sessions|logout-everywhere|totp|recovery-codes|passkeys)/;

  function friendlyError(status, message) {
    if (status === 429 && message) return message.charAt(0).toUpperCase() + message.slice(1) + ".";
    if (status === 429) return "Too many attempts from this address. Wait a minute and try again.";
    if (status === 413) return "That is too large for the vault to accept.";
    // 503 carries what the owner must know, e.g. that a revocation could not be saved.
    if (status === 503 && message) return message;
    if (status >= 500) return "The vault hit an error (" + status + "). Try again in a moment.";
    if (message) return message.charAt(0).toUpperCase() + message.slice(1) + (/[.!?]$/.test(message) ? "" : ".");
    return "The vault refused the request (" + status + ").";
  }

  async function loadSession() {
    try {
      const res = await fetch("/okap/account/session", { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } });
      const data = await res.json().catch(() => null);
      // 503: the vault cannot reach its storage to check the session; the person is not signed out.
      state.unavailable = res.status === 503 ? (data && data.error && data.error.message) || "The vault cannot reach its storage right now." : null;
      if (res.ok && data) { state.session = data; state.setup = null; }
      else { state.session = null; state.setup = state.unavailable ? null : data; }
    } catch {
      state.session = null;
      state.setup = null;
      state.unavailable = "The vault cannot be reached. Check your connection.";
    }
    updateChrome();
    return state.session;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Chrome: header, pending poll, toasts, confirm dialog

  function updateChrome() {
    const bar = $("#topbar");
    bar.hidden = !state.session;
    $("#account-name").textContent = state.session ? state.session.display_name || state.session.user_name : "";
    if (state.session) startPolling(); else stopPolling();
  }

  function markNav(route) {
    for (const a of document.querySelectorAll("#nav a")) {
      if (a.dataset.route === route) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
    }
  }

  function startPolling() {
    if (state.pollTimer) return;
    const tick = async () => {
      if (!state.session) return;
      try {
        const page = await api("GET", "/okap/admin/requests?status=pending&page_size=50");
        setPending(page.items || []);
      } catch { /* shown elsewhere; the next tick tries again */ }
      if (state.session) state.pollTimer = window.setTimeout(tick, POLL_MS);
    };
    state.pollTimer = window.setTimeout(tick, 0);
  }

  function stopPolling() {
    window.clearTimeout(state.pollTimer);
    state.pollTimer = 0;
    state.pending = [];
    state.pendingKey = null;
    state.pendingCount = 0;
    showTitle();
  }

  function setPending(items) {
    const key = items.map((r) => r.id + ":" + r.status).join(",");
    const badge = $("#pending-count");
    badge.hidden = items.length === 0;
    badge.textContent = items.length ? String(items.length) : "";
    badge.setAttribute("aria-label", items.length + " pending " + (items.length === 1 ? "request" : "requests"));
    state.pendingCount = items.length;
    showTitle();
    if (key === state.pendingKey) return;
    state.pendingKey = key;
    state.pending = items;
    if (state.onPending) state.onPending(items);
  }

  // The tab's title carries the pending count, so a person working in another tab sees a request arrive.
  function showTitle() {
    const base = state.title || "OKAP Vault";
    document.title = state.pendingCount ? `(${state.pendingCount}) ${base}` : base;
  }

  function toast(message, kind = "ok") {
    const region = $("#toasts");
    const el = h("div", { class: "toast toast-" + kind }, message);
    region.append(el);
    while (region.children.length > 3) region.firstElementChild.remove();
    window.setTimeout(() => el.remove(), 5000);
  }

  function confirmDialog({ title, message, confirm = "Confirm", danger = true }) {
    const dialog = $("#confirm-dialog");
    $("#confirm-title").textContent = title;
    $("#confirm-message").textContent = message;
    const ok = $("#confirm-ok");
    ok.textContent = confirm;
    ok.className = "btn " + (danger ? "btn-danger" : "btn-primary");
    const opener = document.activeElement;
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => {
        resolve(dialog.returnValue === "confirm");
        if (opener && opener.isConnected) opener.focus();
      }, { once: true });
      dialog.returnValue = "";
      dialog.showModal();
      $("#confirm-cancel").focus();
    });
  }

  async function copyText(text, button) {
    try {
      await navigator.clipboard.writeText(text);
      const old = button.textContent;
      button.textContent = "Copied";
      window.setTimeout(() => { button.textContent = old; }, 1500);
    } catch {
      toast("Copying failed: select the text and copy it yourself.", "error");
    }
  }

  function copyButton(text, label = "Copy") {
    const b = h("button", { type: "button", class: "btn btn-small" }, label);
    b.addEventListener("click", () => copyText(typeof text === "function" ? text() : text, b));
    return b;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Page scaffolding

  function view(title, ...content) {
    const root = $("#app");
    clear(root);
    root.classList.remove("narrow");
    const heading = h("h1", { tabindex: "-1", id: "page-title" }, title);
    root.append(heading, ...content.flat().filter(Boolean));
    state.title = title + " · OKAP Vault";
    showTitle();
    if (state.lastPath !== location.hash) {
      state.lastPath = location.hash;
      heading.focus({ preventScroll: true });
      window.scrollTo(0, 0);
    }
    return root;
  }

  function section(title, ...content) {
    const id = nextId("sec");
    return h("section", { class: "card", "aria-labelledby": id }, h("h2", { id }, title), ...content);
  }

  function notice(kind, ...content) {
    return h("div", { class: "notice notice-" + kind, role: kind === "error" ? "alert" : null }, ...content);
  }

  function empty(...content) { return h("div", { class: "empty" }, ...content); }

  function errorBox() { return h("p", { class: "form-error", role: "alert", hidden: true }); }
  function showError(box, err) {
    box.textContent = err ? (err.message || String(err)) : "";
    box.hidden = !err;
  }

  function field(label, input, hint) {
    const id = input.id || (input.id = nextId("f"));
    const wrap = h("div", { class: "field" }, h("label", { for: id }, label), input);
    if (hint) {
      const hid = id + "-hint";
      wrap.append(h("p", { class: "hint", id: hid }, hint));
      input.setAttribute("aria-describedby", hid);
    }
    return wrap;
  }

  function checkField(label, input) {
    const id = input.id || (input.id = nextId("c"));
    return h("div", { class: "check" }, input, h("label", { for: id }, label));
  }

  function dl(rows) {
    const el = h("dl", { class: "facts" });
    for (const [k, v] of rows) {
      if (v === false) continue;
      el.append(h("div", { class: "fact" }, h("dt", null, k), h("dd", null, v)));
    }
    return el;
  }

  function badge(status) { return h("span", { class: "badge badge-" + status }, status); }

  function loading() { return h("p", { class: "loading" }, "Loading…"); }

  function fail(container, err) {
    clear(container);
    container.append(notice("error", err.message || String(err)));
  }

  function onSubmit(form, handler) {
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const buttons = form.querySelectorAll("button[type=submit]");
      buttons.forEach((b) => { b.disabled = true; });
      try { await handler(e); } finally { buttons.forEach((b) => { b.disabled = false; }); }
    });
    return form;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Router

  function route() {
    const raw = location.hash.replace(/^#/, "") || "/";
    const q = raw.indexOf("?");
    const path = q < 0 ? raw : raw.slice(0, q);
    return { path, parts: path.split("/").filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(q < 0 ? "" : raw.slice(q + 1)) };
  }

  // Setting location.hash to another value renders again on "hashchange"; rendering here as well would draw the view
  // twice and throw away whatever the person typed into the first one.
  function navigate(hash) {
    if (location.hash === hash || (hash === "#/" && (location.hash === "" || location.hash === "#"))) render();
    else location.hash = hash;
  }

  async function render() {
    state.viewId++;
    state.onPending = null;
    const r = route();
    if (r.parts[0] === "setup") { markNav(null); return viewSetup(r); }
    if (!state.session) await loadSession();
    if (!state.session && state.unavailable) { markNav(null); return viewUnavailable(); }
    if (!state.session) { markNav(null); return viewSignIn(); }
    const [first, second] = r.parts;
    switch (first) {
      case undefined: case "dashboard": markNav("dashboard"); return viewDashboard();
      case "requests": if (second) { markNav("dashboard"); return viewRequest(second); } markNav("requests"); return viewRequests(r.params);
      case "tokens": markNav("tokens"); return viewTokens();
      case "keys": markNav("keys"); return viewKeys();
      case "prices": markNav("prices"); return viewPrices();
      case "policies": markNav("policies"); return viewPolicies();
      case "audit": markNav("audit"); return viewAudit(r.params);
      case "access-keys": markNav("access-keys"); return viewAccessKeys();
      case "security": markNav("security"); return viewSecurity();
      case "connect": markNav("connect"); return viewConnect();
      case "login": location.hash = "#/"; return undefined;
      default: markNav(null); return view("Page not found", notice("error", "There is no page at this address."), h("p", null, h("a", { href: "#/" }, "Go to the dashboard")));
    }
  }

  function viewUnavailable() {
    const retry = h("button", { type: "button", class: "btn btn-primary", id: "retry-session" }, "Try again");
    retry.addEventListener("click", () => render());
    view("The vault is unavailable", notice("error", state.unavailable), h("p", null, "Nothing was changed. Your session is kept; try again in a few seconds."), retry);
    retry.focus();
  }

  function signedOut(message) {
    const wasSignedIn = !!state.session;
    state.session = null;
    updateChrome();
    if (wasSignedIn) { render(); if (message) toast(message, "error"); }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Sign in, setup, sign out

  function viewSignIn() {
    const user = h("input", { type: "text", name: "user_name", id: "sign-in-user", autocomplete: "username webauthn", required: true, autocapitalize: "none", spellcheck: "false" });
    const pass = h("input", { type: "password", name: "password", id: "sign-in-password", autocomplete: "current-password", required: true });
    // Shown once the vault says the account has a second factor: a code from the authenticator app, or a recovery code.
    const code = h("input", { type: "text", name: "code", id: "sign-in-code", autocomplete: "one-time-code", inputmode: "text", autocapitalize: "none", spellcheck: "false", maxlength: "20" });
    const codeField = field("Code from your authenticator app", code, "Or one of your recovery codes (xxxx-xxxx-xxxx). Each recovery code works once.");
    codeField.hidden = true;
    const error = errorBox();
    const finish = async () => {
      pass.value = "";
      await loadSession();
      state.lastPath = null;
      render();
    };
    const form = onSubmit(h("form", { class: "stack", novalidate: true, id: "sign-in-form" },
      field("User name", user), field("Password", pass), codeField, error,
      h("button", { type: "submit", class: "btn btn-primary btn-wide" }, "Sign in")), async () => {
      showError(error, null);
      if (!user.value.trim() || !pass.value) { showError(error, new Error("Enter your user name and password.")); return; }
      const body = { user_name: user.value.trim(), password: pass.value };
      const entered = code.value.trim();
      if (!codeField.hidden && entered) {
        if (/^[0-9 ]+$/.test(entered)) body.totp_code = entered; else body.recovery_code = entered;
      }
      try {
        await api("POST", "/okap/account/login", body);
      } catch (e) {
        if (e.type === "second_factor_required" || e.type === "invalid_second_factor") {
          codeField.hidden = false;
          code.value = "";
          showError(error, new Error(e.type === "invalid_second_factor" ? "That code is wrong or was already used. Enter the current code." :
            e.param === "passkey" ? "This account signs in with a passkey (or a recovery code)." : "Enter the code from your authenticator app."));
          code.focus();
          return;
        }
        showError(error, new Error(e.status === 401 ? "Wrong user name or password." : e.message));
        pass.value = "";
        pass.focus();
        return;
      }
      await finish();
    });
    const passkeyButton = window.PublicKeyCredential
      ? h("button", { type: "button", class: "btn btn-wide", id: "passkey-sign-in" }, "Use a passkey") : null;
    if (passkeyButton) {
      passkeyButton.addEventListener("click", async () => {
        showError(error, null);
        passkeyButton.disabled = true;
        try {
          const ceremony = await api("POST", "/okap/account/passkey-login/options");
          const credential = await navigator.credentials.get({ publicKey: requestOptions(ceremony.options) });
          await api("POST", "/okap/account/passkey-login", { state: ceremony.state, credential: assertionJson(credential) });
        } catch (e) {
          showError(error, new Error(e.name === "NotAllowedError" ? "The passkey prompt was closed or timed out. Try again." : e.message));
          return;
        } finally { passkeyButton.disabled = false; }
        await finish();
      });
    }
    const r = route();
    const returning = r.parts[0] === "requests" ? notice("info", "Sign in to review the access request an app sent you.") : null;
    const setupHint = state.setup && state.setup.setup_required
      ? notice("info", h("strong", null, "This vault has no account yet. "),
        "Open the one-time setup link the server printed in its console when it started (it ends in ",
        h("code", null, "#/setup?token=setup_…"), "). Restarting the server prints a new one.")
      : null;
    // Hosted behind the platform's sign-in (App Service Authentication): one button, no local form.
    const platform = state.setup && state.setup.platform_sign_in_url
      ? h("a", { class: "btn btn-primary btn-wide", id: "platform-sign-in", href: state.setup.platform_sign_in_url }, "Sign in with your organisation account")
      : null;
    view("Sign in to your vault", h("div", { class: "auth-card card" },
      h("p", { class: "auth-brand" }, h("span", { class: "brand-mark", "aria-hidden": "true" }, "◆"), " OKAP Vault"),
      h("p", { class: "lede" }, "Your vault keeps your AI-provider keys and lets apps use them only as far as you allow."),
      returning, platform ? null : setupHint, platform || form, platform ? null : passkeyButton));
    $("#app").classList.add("narrow");
    if (platform) platform.focus();
    else if (!setupHint) user.focus();
  }

  function viewSetup(r) {
    const token = r.params.get("token") || "";
    if (state.session) {
      return view("Your vault is set up", notice("ok", "You are signed in as ", h("strong", null, state.session.user_name), "."),
        h("p", null, h("a", { href: "#/" }, "Go to the dashboard")));
    }
    const user = h("input", { type: "text", name: "user_name", autocomplete: "username", required: true, maxlength: "32", autocapitalize: "none", spellcheck: "false", pattern: "[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?" });
    const pass = h("input", { type: "password", name: "password", autocomplete: "new-password", required: true, minlength: "12", maxlength: "256" });
    const again = h("input", { type: "password", name: "password_again", autocomplete: "new-password", required: true });
    const counter = h("span", { class: "counter" }, "0 of at least 12 characters");
    pass.addEventListener("input", () => {
      const n = pass.value.length;
      counter.textContent = n >= 12 ? n + " characters — long enough" : n + " of at least 12 characters";
      counter.classList.toggle("ok", n >= 12);
    });
    const error = errorBox();
    const form = onSubmit(h("form", { class: "stack", novalidate: true },
      field("User name", user, "1 to 32 lower-case letters, digits or inner hyphens. It names your vault."),
      (() => { const f = field("Password", pass, "At least 12 characters; not a common password, a keyboard run or your user name. A long passphrase is easiest to remember."); f.append(h("p", { class: "hint", "aria-live": "polite" }, counter)); return f; })(),
      field("Repeat the password", again), error,
      h("button", { type: "submit", class: "btn btn-primary btn-wide" }, "Create account")), async () => {
      showError(error, null);
      const name = user.value.trim().toLowerCase();
      const problems = [];
      if (!/^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/.test(name)) problems.push("User name: use 1 to 32 lower-case letters, digits or inner hyphens.");
      if (pass.value.length < 12) problems.push("Password: it needs at least 12 characters (it has " + pass.value.length + ").");
      else if (pass.value !== again.value) problems.push("The two passwords differ.");
      user.setAttribute("aria-invalid", String(problems.some((p) => p.startsWith("User"))));
      pass.setAttribute("aria-invalid", String(problems.some((p) => p.startsWith("Password") || p.startsWith("The two"))));
      if (problems.length) { showError(error, new Error(problems.join(" "))); return; }
      try {
        await api("POST", "/okap/account/setup", { setup_token: token, user_name: name, password: pass.value });
      } catch (e) {
        let message = e.message;
        if (e.param === "setup_token") message = "This setup link is invalid or was already used. Restart the server to print a new link, or sign in if you already created your account.";
        if (e.status === 409) message = "That user name is taken. Choose another.";
        if (e.param === "password") pass.setAttribute("aria-invalid", "true");
        showError(error, new Error(message));
        return;
      }
      pass.value = ""; again.value = "";
      await loadSession();
      toast("Your vault is ready. Add a provider key next.");
      location.hash = "#/keys";
    });
    view("Set up your vault", h("div", { class: "auth-card card" },
      h("p", { class: "auth-brand" }, h("span", { class: "brand-mark", "aria-hidden": "true" }, "◆"), " OKAP Vault"),
      h("p", { class: "lede" }, "Create the account that owns this vault. This setup link works once."),
      token ? null : notice("error", "This address has no setup token. Use the full link the server printed when it started."),
      form));
    $("#app").classList.add("narrow");
    return undefined;
  }

  async function signOut() {
    if (state.session && state.session.sign_out_url) { location.assign(state.session.sign_out_url); return; }
    try { await api("POST", "/okap/account/logout"); } catch { /* signed out either way */ }
    state.session = null;
    updateChrome();
    state.lastPath = null;
    navigate("#/");
    toast("You are signed out.");
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Dashboard

  function pendingList(items) {
    if (!items.length) {
      return empty(h("p", null, "No requests are waiting."),
        h("p", { class: "hint" }, "When an app asks for access to your keys, it appears here within seconds."));
    }
    return h("ul", { class: "request-list" }, items.map((r) => {
      const providers = r.requested.map((g) => providerName(g.provider)).join(", ");
      return h("li", { class: "request-item" },
        h("div", { class: "request-main" },
          h("a", { href: "#/requests/" + encodeURIComponent(r.id), class: "request-app" }, r.app_name),
          h("span", { class: "request-what" }, " wants ", providers),
          r.reason ? h("p", { class: "request-reason" }, "“", r.reason, "”") : null,
          h("p", { class: "hint" }, "Asked ", ago(r.created_at), r.client_address ? " from " + r.client_address : "", " · expires ", ago(r.expires_at))),
        h("a", { href: "#/requests/" + encodeURIComponent(r.id), class: "btn btn-primary" }, "Review"));
    }));
  }

  async function viewDashboard() {
    const me = state.viewId;
    const pendingBox = h("div", { id: "pending-requests", "aria-live": "polite" }, state.pendingKey !== null ? pendingList(state.pending) : loading());
    const usageBox = h("div", null, loading());
    const statsBox = h("div", { class: "stats" });
    view("Dashboard",
      h("p", { class: "lede" }, "Signed in as ", h("strong", null, state.session.display_name || state.session.user_name), "."),
      section("Waiting for your decision", pendingBox),
      statsBox,
      section("Usage over the last 30 days", usageBox),
      vaultUrlCard());
    state.onPending = (items) => { clear(pendingBox); pendingBox.append(pendingList(items)); };
    // Spend and counts refresh while the dashboard is open; an unchanged answer leaves the page untouched, so focus,
    // scroll and a screen reader's place survive each refresh.
    let shown = null;
    const refresh = async () => {
      const [tokens, keys, policies, usage] = await Promise.all([
        api("GET", "/okap/admin/tokens?page_size=200"), api("GET", "/okap/admin/keys"),
        api("GET", "/okap/admin/policies"), api("GET", "/okap/admin/usage?days=30")]);
      if (me !== state.viewId) return;
      const key = JSON.stringify([tokens.items.map((t) => [t.id, t.status, t.app_name]), keys.length, policies.map((p) => p.enabled), usage.rows]);
      if (key === shown) return;
      shown = key;
      const active = tokens.items.filter((t) => t.status === "active").length;
      const rows = usage.rows || [];
      const spend = rows.reduce((a, r) => a + Number(r.cost_usd), 0);
      clear(statsBox);
      statsBox.append(
        stat("Active tokens", String(active), "#/tokens", "See apps & tokens"),
        stat("Provider keys", String(keys.length), "#/keys", keys.length ? "Manage keys" : "Add a key"),
        stat("Auto-approve rules", String(policies.filter((p) => p.enabled).length), "#/policies", "Manage rules"),
        stat("Spend, 30 days", usd(spend), "#/tokens", "Per-token detail", "stat-spend"));
      if (!keys.length) statsBox.append(notice("warn", "No provider key yet: approved apps cannot make calls until you ", h("a", { href: "#/keys" }, "add a key"), "."));
      clear(usageBox);
      if (rows.length) {
        usageBox.append(usageCharts(rows, "all tokens"), spendByApp(rows, tokens.items),
          h("p", { class: "actions" }, h("a", { class: "btn", id: "usage-csv", download: "", href: "/okap/admin/usage?days=30&format=csv" }, "Download usage CSV (30 days)")));
      } else {
        usageBox.append(empty(h("p", null, "No usage yet."), h("p", { class: "hint" }, "Calls apps make through your vault are counted here.")));
      }
    };
    try {
      await refresh();
    } catch (e) {
      if (me === state.viewId) fail(usageBox, e);
      return;
    }
    const tick = async () => {
      if (me !== state.viewId || !state.session) return;
      if (document.visibilityState === "visible") {
        try { await refresh(); } catch { /* the next tick tries again; the figures shown stay */ }
      }
      if (me === state.viewId) window.setTimeout(tick, DASHBOARD_REFRESH_MS);
    };
    window.setTimeout(tick, DASHBOARD_REFRESH_MS);
  }

  /** Thirty days of spend per app, largest first: which app costs what is the first question a bill raises. */
  function spendByApp(rows, tokens) {
    const apps = new Map(tokens.map((t) => [t.id, t.app_name]));
    const byApp = new Map();
    for (const r of rows) {
      const name = apps.get(r.token_id) || "(token " + r.token_id + ")";
      const a = byApp.get(name) || { cost: 0, requests: 0, tokens: 0 };
      a.cost += Number(r.cost_usd); a.requests += Number(r.requests); a.tokens += Number(r.input_tokens) + Number(r.output_tokens);
      byApp.set(name, a);
    }
    const sorted = [...byApp.entries()].sort((x, y) => y[1].cost - x[1].cost || y[1].requests - x[1].requests);
    const total = sorted.reduce((a, [, v]) => a + v.cost, 0);
    return h("div", { class: "table-wrap" }, h("table", { class: "table", id: "spend-by-app" },
      h("caption", null, "Spend by app, last 30 days"),
      h("thead", null, h("tr", null, ["App", "Spend", "Share", "Requests", "Tokens"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", null, sorted.map(([name, v]) => h("tr", null,
        h("td", { "data-label": "App", class: "app-name" }, name),
        h("td", { "data-label": "Spend" }, usd(v.cost)),
        h("td", { "data-label": "Share" }, total > 0 ? Math.round((v.cost / total) * 100) + "%" : "—"),
        h("td", { "data-label": "Requests" }, num(v.requests)),
        h("td", { "data-label": "Tokens" }, num(v.tokens)))))));
  }

  function stat(label, value, href, linkText, id) {
    return h("a", { class: "stat card", href, id: id || null }, h("span", { class: "stat-label" }, label), h("span", { class: "stat-value" }, value), h("span", { class: "stat-link" }, linkText, " →"));
  }

  function vaultUrlCard() {
    const url = state.session.vault_url;
    return section("Your vault URL",
      h("p", null, "Give this address to an app that supports OKAP. It sends its access request here, and you decide on this page."),
      h("div", { class: "copy-row" }, h("code", { class: "vault-url", id: "vault-url" }, url), copyButton(url)),
      h("p", null, h("a", { href: "#/connect" }, "How an app uses it →")));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Charts: inline SVG built with DOM APIs

  function lastDays(n) {
    const out = [];
    const now = new Date();
    for (let i = n - 1; i >= 0; i--) out.push(isoDay(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - i))));
    return out;
  }

  function usageCharts(rows, what) {
    const days = lastDays(30);
    const byDay = new Map(days.map((d) => [d, { cost: 0, tokens: 0, requests: 0 }]));
    for (const r of rows) {
      const b = byDay.get(r.period);
      if (!b) continue;
      b.cost += Number(r.cost_usd); b.tokens += Number(r.input_tokens) + Number(r.output_tokens); b.requests += Number(r.requests);
    }
    const series = days.map((d) => ({ day: d, ...byDay.get(d) }));
    const totals = series.reduce((a, x) => ({ cost: a.cost + x.cost, tokens: a.tokens + x.tokens, requests: a.requests + x.requests }), { cost: 0, tokens: 0, requests: 0 });
    return h("div", { class: "charts" },
      h("p", { class: "chart-totals" },
        h("span", null, h("strong", null, usd(totals.cost)), " spent"),
        h("span", null, h("strong", null, num(totals.tokens)), totals.tokens === 1 ? " token" : " tokens"),
        h("span", null, h("strong", null, num(totals.requests)), totals.requests === 1 ? " request" : " requests")),
      h("div", { class: "chart-row" },
        barChart(series, (x) => x.cost, usd, "Spend per day", `Spend per day for ${what}, last 30 days`, "chart-spend"),
        barChart(series, (x) => x.tokens, num, "Tokens per day", `Tokens per day for ${what}, last 30 days`, "chart-tokens")));
  }

  function barChart(series, value, fmt, title, label, cls) {
    const W = 320, H = 130, top = 16, bottom = 18, left = 4, right = 4;
    const max = Math.max(...series.map(value), 0);
    const peak = series.reduce((a, x) => (value(x) > value(a) ? x : a), series[0]);
    const barW = (W - left - right) / series.length;
    const svg = s("svg", {
      viewBox: `0 0 ${W} ${H}`, class: "chart " + cls, role: "img",
      "aria-label": `${label}: total ${fmt(series.reduce((a, x) => a + value(x), 0))}` + (max > 0 ? `, highest ${fmt(max)} on ${peak.day}` : ", none"),
    });
    svg.append(s("line", { x1: left, x2: W - right, y1: H - bottom + 0.5, y2: H - bottom + 0.5, class: "axis" }));
    series.forEach((x, i) => {
      const v = value(x);
      const hgt = max > 0 ? Math.max(v > 0 ? 1.5 : 0, (v / max) * (H - top - bottom)) : 0;
      const rect = s("rect", { x: (left + i * barW + barW * 0.15).toFixed(2), y: (H - bottom - hgt).toFixed(2), width: (barW * 0.7).toFixed(2), height: hgt.toFixed(2), class: "bar" },
        s("title", null, `${shortDay(x.day)}: ${fmt(v)}`));
      svg.append(rect);
    });
    svg.append(s("text", { x: left, y: 11, class: "chart-max" }, max > 0 ? "max " + fmt(max) : "no usage"));
    svg.append(s("text", { x: left, y: H - 4, class: "chart-label" }, shortDay(series[0].day)));
    svg.append(s("text", { x: W - right, y: H - 4, class: "chart-label", "text-anchor": "end" }, "today"));
    return h("figure", { class: "chart-fig" }, h("figcaption", null, title), svg);
  }

  function meter(label, value, cap, fmt) {
    const pct = cap ? Math.min(100, (Number(value) / Number(cap)) * 100) : 0;
    const track = h("div", { class: "meter-track", role: "meter", "aria-label": label, "aria-valuemin": "0",
      "aria-valuemax": cap ? String(cap) : null, "aria-valuenow": String(value),
      "aria-valuetext": cap ? `${fmt(value)} of ${fmt(cap)}` : `${fmt(value)}, no cap` });
    const fill = h("div", { class: "meter-fill" });
    fill.style.width = pct.toFixed(1) + "%";
    track.append(fill);
    const cls = "meter" + (cap ? (pct >= 100 ? " meter-over" : pct >= 80 ? " meter-warn" : "") : " meter-nocap");
    return h("div", { class: cls },
      h("div", { class: "meter-head" }, h("span", null, label), h("span", { class: "meter-value" }, cap ? `${fmt(value)} of ${fmt(cap)}` : `${fmt(value)} · no cap`)),
      track);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Consent

  async function viewRequest(id) {
    const me = state.viewId;
    const box = h("div", null, loading());
    view("Access request", box);
    let r;
    // The key list only adds a warning: the decision must not wait on it or fail with it.
    const keys = api("GET", "/okap/admin/keys").catch(() => null);
    try { r = await api("GET", "/okap/admin/requests/" + encodeURIComponent(id)); } catch (e) {
      if (me === state.viewId) fail(box, e.status === 404 ? new Error("There is no such request in your vault.") : e);
      return;
    }
    state.consentKeys = await keys;
    if (me !== state.viewId) return;
    renderRequest(box, r);
  }

  function renderRequest(box, r) {
    clear(box);
    $("#page-title").textContent = r.status === "pending" ? `${r.app_name} wants to use your keys` : `Access request from ${r.app_name}`;
    const who = section("Who is asking",
      notice("warn", h("strong", null, "Claimed by the app, not verified. "),
        "The name, web address and reason below are what the app says about itself; your vault cannot check them. The network address is where the request came from. Approve only if you expected this request."),
      dl([
        ["App name", h("span", { class: "app-name", id: "req-app-name" }, r.app_name)],
        ["App web address", r.app_url ? h("span", { class: "mono", id: "req-app-url" }, r.app_url) : h("span", { class: "muted" }, "Not given")],
        ["Request came from", r.client_address ? h("span", { class: "mono", id: "req-client" }, r.client_address) : h("span", { class: "muted" }, "Unknown address")],
        ["Return address", r.redirect_uri ? h("span", { class: "mono" }, r.redirect_uri) : false],
        ["Asked", when(r.created_at)],
        ["Status", badge(r.status)],
      ]));
    const why = section("Why", r.reason
      ? h("blockquote", { class: "reason", id: "req-reason" }, r.reason)
      : h("p", { class: "muted", id: "req-reason" }, "The app gave no reason."));
    const what = section("What it asks for", r.status === "pending" ? missingKeyWarnings(r.requested) : null,
      r.requested.map((g) => grantSummary(g, "req")));
    box.append(who, why, what);

    if (r.status === "pending") {
      box.append(decisionPanel(box, r));
    } else {
      const outcome = section("Decision",
        r.status === "approved" ? notice("ok", "Approved ", when(r.decided_at), ". ", r.claimed_at ? "The app collected its token." : "The token is waiting for the app to collect it.")
          : r.status === "denied" ? notice("info", "Denied ", when(r.decided_at), r.deny_reason ? ": " : ".", r.deny_reason || "")
            : notice("info", "This request expired before anyone decided. The app can ask again."),
        r.granted && r.granted.length ? [h("h3", null, "Granted"), r.granted.map((g) => grantSummary(g, "granted"))] : null,
        h("p", null, h("a", { href: r.token_id ? "#/tokens" : "#/" }, r.token_id ? "See the app's token →" : "Back to the dashboard")));
      box.append(outcome);
    }
  }

  function missingKeyWarnings(grants) {
    const keys = state.consentKeys;
    if (!Array.isArray(keys)) return null;
    const held = new Set(keys.map((k) => k.provider));
    return grants.filter((g) => !held.has(g.provider)).map((g) =>
      h("div", { class: "missing-key", "data-provider": g.provider }, notice("warn",
        h("strong", null, `You have no ${providerName(g.provider)} key in this vault. `),
        "If you approve, the app's calls to ", providerName(g.provider), " fail until you ",
        h("a", { href: "#/keys" }, "add one"), ".")));
  }

  function grantSummary(g, prefix) {
    return h("div", { class: "grant", "data-provider": g.provider },
      h("h3", { class: "grant-provider" }, providerName(g.provider)),
      dl([
        ["Provider", h("span", { class: "mono" }, g.provider)],
        ["Models", g.models.length ? h("span", { class: prefix + "-models" }, g.models.join(", ")) : h("span", { class: "warn-text " + prefix + "-models" }, "All models")],
        ["Capabilities", g.capabilities.length ? g.capabilities.join(", ") : h("span", { class: "warn-text" }, "All capabilities")],
        ...LIMITS.map((def) => [def.label, (g.limits[def.key] === null || g.limits[def.key] === undefined)
          ? h("span", { class: "muted" }, "No limit") : limitText(def, g.limits[def.key])]),
        ["Expires", g.expires_at ? day(g.expires_at) : h("span", { class: "muted" }, "No date asked — the vault's default applies")],
      ]));
  }

  function decisionPanel(box, r) {
    const error = errorBox();
    const approve = h("button", { type: "button", class: "btn btn-primary", id: "approve-as-asked" }, "Approve as asked");
    const narrow = h("button", { type: "button", class: "btn", id: "approve-narrowed", "aria-expanded": "false" }, "Edit before approving…");
    const deny = h("button", { type: "button", class: "btn btn-danger-outline", id: "deny", "aria-expanded": "false" }, "Deny…");
    const narrowForm = narrowingForm(r, error, async (grants) => decide(box, r, "approve", { grants }, error));
    narrowForm.hidden = true;
    const reason = h("textarea", { id: "deny-reason", rows: "2", maxlength: "1000" });
    const denyForm = onSubmit(h("form", { class: "stack deny-form", hidden: true },
      field("Reason for the app (optional)", reason, "The app sees this text."),
      h("div", { class: "actions" }, h("button", { type: "submit", class: "btn btn-danger", id: "confirm-deny" }, "Deny request"))),
    async () => decide(box, r, "deny", { reason: reason.value.trim() || null }, error));
    approve.addEventListener("click", async () => { approve.disabled = true; try { await decide(box, r, "approve", undefined, error); } finally { approve.disabled = false; } });
    narrow.addEventListener("click", () => {
      narrowForm.hidden = !narrowForm.hidden; denyForm.hidden = true;
      narrow.setAttribute("aria-expanded", String(!narrowForm.hidden)); deny.setAttribute("aria-expanded", "false");
      if (!narrowForm.hidden) narrowForm.querySelector("input, select, textarea").focus();
    });
    deny.addEventListener("click", () => {
      denyForm.hidden = !denyForm.hidden; narrowForm.hidden = true;
      deny.setAttribute("aria-expanded", String(!denyForm.hidden)); narrow.setAttribute("aria-expanded", "false");
      if (!denyForm.hidden) reason.focus();
    });
    return section("Your decision",
      h("p", { class: "hint" }, "Request expires ", ago(r.expires_at), " if you do nothing."),
      h("div", { class: "actions" }, approve, narrow, deny), error, narrowForm, denyForm);
  }

  // The narrowing form serves two moments: a request before approval, and a token already in use.
  const REQUEST_WORDS = { now: "Asked", holder: "the app asked for", since: "as the app asked", instead: "deny the request", submit: "Approve with these limits", submitId: "approve-edited" };
  const TOKEN_WORDS = { now: "Now", holder: "the token allows", since: "as the token allows now; widening needs the app to ask again", instead: "revoke the token", submit: "Save narrower access", submitId: null };

  function narrowingForm(r, error, submit, words = REQUEST_WORDS) {
    const readers = [];
    const form = h("form", { class: "stack narrow-form", novalidate: true });
    r.requested.forEach((g, gi) => {
      const fs = h("fieldset", { class: "grant-edit" }, h("legend", null, providerName(g.provider)));
      // Models: tick the asked ones; a request for all models can be limited to a typed list.
      let readModels;
      if (g.models.length) {
        const boxes = g.models.map((m) => h("input", { type: "checkbox", value: m, checked: true, name: `models-${gi}` }));
        fs.append(h("fieldset", { class: "choices" }, h("legend", null, "Models"), boxes.map((b) => checkField(b.value, b))));
        readModels = () => {
          const chosen = boxes.filter((b) => b.checked).map((b) => b.value);
          if (!chosen.length) throw new Error(`${providerName(g.provider)}: keep at least one model, or ${words.instead}.`);
          return chosen;
        };
      } else {
        const input = h("input", { type: "text", name: `models-${gi}`, placeholder: "all models", autocapitalize: "none", spellcheck: "false" });
        fs.append(field("Models (comma-separated; empty allows all)", input));
        readModels = () => input.value.split(",").map((m) => m.trim()).filter(Boolean);
      }
      // Capabilities.
      const caps = g.capabilities.length ? g.capabilities : CAPABILITIES;
      const capBoxes = caps.map((c) => h("input", { type: "checkbox", value: c, checked: true, name: `caps-${gi}` }));
      fs.append(h("fieldset", { class: "choices" }, h("legend", null, "Capabilities"), capBoxes.map((b) => checkField(b.value, b))));
      const readCaps = () => {
        const chosen = capBoxes.filter((b) => b.checked).map((b) => b.value);
        if (!chosen.length) throw new Error(`${providerName(g.provider)}: keep at least one capability, or ${words.instead}.`);
        return !g.capabilities.length && chosen.length === CAPABILITIES.length ? [] : chosen;
      };
      // Limits: prefilled with what was asked; never above it.
      const limitInputs = LIMITS.map((def) => {
        const asked = g.limits[def.key];
        const input = h("input", { type: "number", name: def.key, min: "0", step: def.money ? "0.01" : "1", inputmode: def.money ? "decimal" : "numeric",
          value: asked === null || asked === undefined ? "" : String(asked), max: asked === null || asked === undefined ? null : String(asked),
          placeholder: "no limit", "data-limit": def.key });
        return { def, input, asked };
      });
      fs.append(h("div", { class: "grid-fields" }, limitInputs.map(({ def, input, asked }) =>
        field(def.label + (def.money ? " (USD)" : ""), input, asked === null || asked === undefined ? words.now + ": no limit" : words.now + ": " + limitText(def, asked)))));
      const readLimits = () => {
        const limits = {};
        for (const { def, input, asked } of limitInputs) {
          const text = input.value.trim();
          if (!text) {
            if (asked !== null && asked !== undefined) throw new Error(`${def.label}: ${words.holder} at most ${limitText(def, asked)}; you can lower it but not remove it.`);
            continue;
          }
          const v = Number(text);
          if (!Number.isFinite(v) || v < 0 || (!def.money && !Number.isInteger(v))) throw new Error(`${def.label}: enter ${def.money ? "an amount in USD" : "a whole number"}.`);
          if (asked !== null && asked !== undefined && v > asked) throw new Error(`${def.label}: at most ${limitText(def, asked)}, ${words.since}.`);
          limits[def.key] = v;
        }
        return limits;
      };
      // Expiry.
      const askedDay = g.expires_at ? g.expires_at.slice(0, 10) : "";
      const tomorrow = isoDay(new Date(Date.now() + 86400000));
      const expires = h("input", { type: "date", name: `expires-${gi}`, value: askedDay, max: askedDay || null, min: tomorrow });
      fs.append(field("Expires (UTC date)", expires, askedDay ? words.now + ": " + day(g.expires_at) + ". You can choose an earlier date." : "Empty: the vault's default lifetime applies."));
      const readExpiry = () => {
        const v = expires.value;
        if (!v) {
          if (askedDay) throw new Error("Expires: " + words.holder + " access until " + day(g.expires_at) + "; choose that date or an earlier one.");
          return null;
        }
        if (askedDay && v > askedDay) throw new Error("Expires: no later than " + day(g.expires_at) + ".");
        return v === askedDay ? g.expires_at : v;
      };
      readers.push(() => ({ provider: g.provider, models: readModels(), capabilities: readCaps(), limits: readLimits(), expires: readExpiry() }));
      form.append(fs);
    });
    form.append(h("div", { class: "actions" }, h("button", { type: "submit", class: "btn btn-primary", id: words.submitId }, words.submit)));
    return onSubmit(form, async () => {
      showError(error, null);
      let grants;
      try { grants = readers.map((read) => read()); } catch (e) { showError(error, e); return; }
      await submit(grants);
    });
  }

  async function decide(box, r, action, body, error) {
    showError(error, null);
    try {
      const updated = await api("POST", `/okap/admin/requests/${encodeURIComponent(r.id)}/${action}`, body);
      toast(action === "approve" ? `Approved: ${updated.app_name} can collect its token now.` : `Denied the request from ${updated.app_name}.`);
      setPending(state.pending.filter((p) => p.id !== r.id));
      renderRequest(box, updated);
      $("#page-title").focus();
    } catch (e) {
      showError(error, e);
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Tokens

  async function viewTokens() {
    const me = state.viewId;
    const list = h("div", { class: "token-list" }, loading());
    const showAll = h("input", { type: "checkbox", id: "show-inactive" });
    const overall = h("div");
    view("Apps & tokens",
      h("p", { class: "lede" }, "Each app you approved holds one token. Revoking it stops the app at once; your provider keys stay as they are."),
      section("All tokens, last 30 days", overall),
      h("div", { class: "toolbar" }, checkField("Show revoked and expired tokens", showAll)),
      list);
    let tokens = [], usage = [];
    const draw = async () => {
      const shown = tokens.filter((t) => showAll.checked || t.status === "active");
      clear(list);
      if (!shown.length) {
        list.append(empty(h("p", null, tokens.length ? "No active tokens." : "No app has a token yet."),
          h("p", { class: "hint" }, "When you approve an app's request, its token shows up here with its limits and usage.")));
        return;
      }
      const cards = shown.map((t) => tokenCard(t, usage.filter((u) => u.token_id === t.id), () => load()));
      list.append(...cards.map((c) => c.el));
      await Promise.all(cards.map((c) => c.loadUsage()));
    };
    const load = async () => {
      try {
        const [page, u] = await Promise.all([api("GET", "/okap/admin/tokens?page_size=200"), api("GET", "/okap/admin/usage?days=30")]);
        if (me !== state.viewId) return;
        tokens = page.items; usage = u.rows || [];
        clear(overall);
        overall.append(usage.length ? usageCharts(usage, "all tokens") : empty(h("p", null, "No usage yet.")));
        await draw();
      } catch (e) { if (me === state.viewId) fail(list, e); }
    };
    showAll.addEventListener("change", draw);
    await load();
  }

  function tokenCard(t, usageRows, reload) {
    const usageBox = h("div", { class: "token-usage" });
    const editBox = h("div", { class: "token-edit" });
    const actions = h("div", { class: "card-actions" });
    if (t.status === "active") {
      const revoke = h("button", { type: "button", class: "btn btn-danger-outline revoke", "data-token": t.id }, "Revoke");
      revoke.addEventListener("click", async () => {
        const ok = await confirmDialog({ title: "Revoke this token?", message: `${t.app_name} loses access at once: its next call is refused. You cannot undo this; the app would have to ask again.`, confirm: "Revoke token" });
        if (!ok) return;
        try {
          await api("POST", `/okap/admin/tokens/${encodeURIComponent(t.id)}/revoke`);
          toast(`Revoked the token of ${t.app_name}.`);
          reload();
        } catch (e) { toast(e.message, "error"); }
      });
      const error = errorBox();
      const narrowForm = narrowingForm({ requested: t.grants }, error, async (grants) => {
        try {
          await api("PATCH", `/okap/admin/tokens/${encodeURIComponent(t.id)}`, { grants });
          toast(`Narrowed the access of ${t.app_name}.`);
          reload();
        } catch (e) { showError(error, e); }
      }, TOKEN_WORDS);
      narrowForm.hidden = true;
      const narrow = h("button", { type: "button", class: "btn narrow", "aria-expanded": "false", "data-token": t.id }, "Narrow…");
      narrow.addEventListener("click", () => {
        narrowForm.hidden = !narrowForm.hidden;
        narrow.setAttribute("aria-expanded", String(!narrowForm.hidden));
        if (!narrowForm.hidden) narrowForm.querySelector("input, select, textarea").focus();
      });
      actions.append(narrow, revoke);
      editBox.append(error, narrowForm);
    }
    const titleId = nextId("tok");
    const el = h("article", { class: "card token", "data-token-id": t.id, "aria-labelledby": titleId },
      h("header", { class: "card-head" },
        h("div", null, h("h2", { id: titleId, class: "token-app" }, t.app_name), " ", badge(t.status)),
        actions),
      dl([
        ["Token", h("span", { class: "mono" }, t.display_prefix, "…")],
        ["App web address", t.app_url ? h("span", { class: "mono" }, t.app_url) : h("span", { class: "muted" }, "Not given")],
        ["Created", when(t.created_at)],
        ["Expires", t.expires_at ? when(t.expires_at) : "Never"],
        ["Last used", t.last_used_at ? ago(t.last_used_at) : "Never"],
        ["Revoked", t.revoked_at ? when(t.revoked_at) : false],
      ]),
      h("div", { class: "grants" }, t.grants.map((g) => h("div", { class: "grant grant-compact" },
        h("h3", null, providerName(g.provider)),
        h("p", null, h("span", { class: "muted" }, "Models: "), listText(g.models, "all models"),
          h("span", { class: "muted" }, " · Capabilities: "), listText(g.capabilities, "all")),
        h("p", { class: "limits-line" }, LIMITS.filter((d) => g.limits[d.key] !== null && g.limits[d.key] !== undefined)
          .map((d) => h("span", { class: "chip" }, d.label, ": ", limitText(d, g.limits[d.key]))),
          LIMITS.some((d) => g.limits[d.key] !== null && g.limits[d.key] !== undefined) ? null : h("span", { class: "chip chip-warn" }, "No limits"))))),
      editBox,
      usageBox,
      usageRows.length ? h("details", { class: "token-chart" }, h("summary", null, "Daily spend and tokens, last 30 days"), usageCharts(usageRows, t.app_name)) : null);
    const loadUsage = async () => {
      if (t.status !== "active") return;
      try {
        const u = await api("GET", `/okap/admin/tokens/${encodeURIComponent(t.id)}/usage`);
        clear(usageBox);
        for (const g of u.grants) {
          usageBox.append(h("div", { class: "meters", "data-provider": g.provider },
            u.grants.length > 1 ? h("h3", null, providerName(g.provider)) : null,
            meter("Spend today", g.today.cost_usd, g.today.cap_usd, usd),
            meter("Spend this month", g.month.cost_usd, g.month.cap_usd, usd),
            meter("Requests today", g.today.requests, g.requests_per_day, num),
            h("p", { class: "hint" }, `This month: ${plural(g.month.requests, "request")}, ${num(g.month.input_tokens)} tokens in, ${num(g.month.output_tokens)} out.`)));
        }
      } catch (e) { clear(usageBox); usageBox.append(notice("error", "Usage unavailable: ", e.message)); }
    };
    return { el, loadUsage };
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Provider keys

  async function viewKeys() {
    const me = state.viewId;
    const list = h("div", null, loading());
    const provider = h("select", { id: "key-provider", name: "provider" }, PROVIDERS.map((p) => h("option", { value: p }, providerName(p))));
    const key = h("input", { type: "password", id: "key-secret", name: "key", autocomplete: "off", spellcheck: "false", autocapitalize: "none" });
    const label = h("input", { type: "text", id: "key-label", name: "label", maxlength: "100", placeholder: "e.g. personal account" });
    const baseUrl = h("input", { type: "url", id: "key-base-url", name: "base_url", placeholder: "default endpoint", spellcheck: "false" });
    const authKind = h("select", { id: "key-auth-kind", name: "auth_kind" }, AUTH_KINDS.map((k) => h("option", { value: k.value }, k.label)));
    const error = errorBox();
    const submit = h("button", { type: "submit", class: "btn btn-primary", id: "save-key" }, "Save key");
    let keys = [];
    const syncLabel = () => {
      const existing = keys.find((k) => k.provider === provider.value);
      submit.textContent = existing ? `Replace ${providerName(provider.value)} key` : "Save key";
    };
    provider.addEventListener("change", syncLabel);
    const form = onSubmit(h("form", { class: "stack", novalidate: true, id: "key-form", autocomplete: "off" },
      h("div", { class: "grid-fields" }, field("Provider", provider), field("Label (optional)", label)),
      field("API key", key, "Stored encrypted. After saving, only its last four characters are ever shown."),
      h("details", { class: "advanced" }, h("summary", null, "Advanced: endpoint and authentication"),
        h("div", { class: "grid-fields" }, field("Base URL (optional)", baseUrl, "For Azure OpenAI, a proxy or a local server. Must be https unless the vault allows otherwise."), field("Authentication", authKind))),
      error, h("div", { class: "actions" }, submit)), async () => {
      showError(error, null);
      const kind = authKind.value;
      if (!key.value.trim() && (kind === "key" || kind === "azure-api-key")) { showError(error, new Error("Paste the provider's API key.")); key.focus(); return; }
      try {
        const saved = await api("PUT", "/okap/admin/keys/" + encodeURIComponent(provider.value), {
          key: key.value.trim() || null, label: label.value.trim() || null, base_url: baseUrl.value.trim() || null, auth_kind: kind,
        });
        key.value = "";
        const check = saved.check || {};
        if (check.result === "unverified") toast(`Saved the ${providerName(saved.provider)} key ending in ${saved.last4}, but it could not be checked: ${check.detail}.`, "warn");
        else if (check.result === "accepted") toast(`${providerName(saved.provider)} accepted the key ending in ${saved.last4}: saved.`);
        else toast(`Saved the ${providerName(saved.provider)} key${saved.last4 ? " ending in " + saved.last4 : ""}.`);
        label.value = ""; baseUrl.value = "";
        await load();
      } catch (e) { key.value = ""; showError(error, e); }
    });
    const formSection = section("Add or replace a key",
      h("p", null, "Apps never see these keys: the vault adds the key to each call it forwards for an app you approved."), form);
    view("Provider keys", list, formSection);
    const load = async () => {
      try {
        keys = await api("GET", "/okap/admin/keys");
        if (me !== state.viewId) return;
        syncLabel();
        clear(list);
        if (!keys.length) {
          list.append(section("Your keys", empty(h("p", null, "No provider keys yet."), h("p", { class: "hint" }, "Add your OpenAI, Anthropic or other key below; apps you approve can then make calls."))));
          return;
        }
        list.append(section("Your keys", h("div", { class: "table-wrap" }, h("table", { class: "table", id: "keys-table" },
          h("thead", null, h("tr", null, ["Provider", "Key", "Label", "Endpoint", "Updated", ""].map((c) => h("th", { scope: "col" }, c)))),
          h("tbody", null, keys.map((k) => {
            const replace = h("button", { type: "button", class: "btn btn-small" }, "Replace");
            replace.setAttribute("aria-label", `Replace the ${providerName(k.provider)} key`);
            replace.addEventListener("click", () => {
              provider.value = k.provider; syncLabel();
              label.value = k.label || ""; baseUrl.value = k.base_url || ""; authKind.value = k.auth_kind || "key";
              key.focus();
            });
            const remove = h("button", { type: "button", class: "btn btn-small btn-danger-outline" }, "Remove");
            remove.setAttribute("aria-label", `Remove the ${providerName(k.provider)} key`);
            remove.addEventListener("click", async () => {
              if (!await confirmDialog({ title: `Remove the ${providerName(k.provider)} key?`, message: "Apps with tokens for this provider cannot make calls until you add a key again.", confirm: "Remove key" })) return;
              try {
                await api("DELETE", "/okap/admin/keys/" + encodeURIComponent(k.provider));
                toast(`Removed the ${providerName(k.provider)} key.`);
                await load();
              } catch (e) { toast(e.message, "error"); }
            });
            return h("tr", { "data-provider": k.provider },
              h("td", { "data-label": "Provider" }, providerName(k.provider)),
              h("td", { "data-label": "Key", class: "mono key-last4" }, k.last4 ? "•••• " + k.last4 : h("span", { class: "muted" }, "no key")),
              h("td", { "data-label": "Label" }, k.label || h("span", { class: "muted" }, "—")),
              h("td", { "data-label": "Endpoint", class: "mono" }, k.base_url || h("span", { class: "muted" }, "default"), k.auth_kind !== "key" ? " (" + k.auth_kind + ")" : ""),
              h("td", { "data-label": "Updated" }, when(k.updated_at)),
              h("td", { class: "row-actions" }, replace, " ", remove));
          }))))));
      } catch (e) { if (me === state.viewId) fail(list, e); }
    };
    await load();
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Model prices: the owner's overrides (which win over the built-in catalog) and the catalog itself, read-only

  // The vault's URL for one price. Model names may hold "/" (meta-llama/Llama-3.3-70B…): encodeURIComponent sends it
  // as %2F, which the vault's catch-all route turns back into "/".
  const pricePath = (provider, model) => "/okap/admin/prices/" + encodeURIComponent(provider) + "/" + encodeURIComponent(model);
  const modelText = (m) => (m === "*" ? h("span", null, h("code", null, "*"), " ", h("span", { class: "muted" }, "(every other model)")) : h("span", { class: "mono" }, m));

  async function viewPrices() {
    const me = state.viewId;
    const list = h("div", null, loading());
    const catalogBox = h("div", null, loading());
    const provider = h("select", { id: "price-provider", name: "provider" }, PROVIDERS.map((p) => h("option", { value: p }, providerName(p))));
    const model = h("input", { type: "text", id: "price-model", name: "model", maxlength: "128", required: true, spellcheck: "false",
      autocapitalize: "none", autocomplete: "off", placeholder: "e.g. gpt-4o-mini" });
    const money = (id, name) => h("input", { type: "number", id, name, min: "0", max: "10000", step: "any", inputmode: "decimal" });
    const input = money("price-input", "input_per_million");
    const cached = money("price-cached", "cached_input_per_million");
    const output = money("price-output", "output_per_million");
    const maxOut = h("input", { type: "number", id: "price-max-output", name: "max_output_tokens", min: "1", max: "10000000", step: "1", inputmode: "numeric", placeholder: "no cap" });
    cached.placeholder = "same as input";
    // Each control has its own error line, so the vault's {"error": {"param": …}} lands next to the right one.
    const controls = { provider, model, input_per_million: input, cached_input_per_million: cached, output_per_million: output, max_output_tokens: maxOut };
    const fieldErrors = {};
    const withError = (label, control, hint) => {
      const wrap = field(label, control, hint);
      const err = h("p", { class: "field-error", id: control.id + "-error", hidden: true });
      fieldErrors[control.name] = err;
      wrap.append(err);
      return wrap;
    };
    const error = errorBox();
    const clearErrors = () => {
      showError(error, null);
      for (const [name, el] of Object.entries(fieldErrors)) {
        el.hidden = true; el.textContent = "";
        const c = controls[name];
        c.removeAttribute("aria-invalid");
        const hint = c.id + "-hint";
        if (document.getElementById(hint)) c.setAttribute("aria-describedby", hint); else c.removeAttribute("aria-describedby");
      }
    };
    const fieldError = (name, message) => {
      const el = fieldErrors[name], c = controls[name];
      if (!el || !c) { showError(error, new Error(message)); return; }
      el.textContent = message; el.hidden = false;
      c.setAttribute("aria-invalid", "true");
      c.setAttribute("aria-describedby", [c.getAttribute("aria-describedby"), el.id].filter(Boolean).join(" "));
      c.focus();
    };
    const submit = h("button", { type: "submit", class: "btn btn-primary", id: "save-price" }, "Save price");
    let prices = [];
    const syncLabel = () => {
      const m = model.value.trim();
      submit.textContent = prices.some((p) => p.provider === provider.value && p.model === m) ? "Replace price" : "Save price";
    };
    provider.addEventListener("change", syncLabel);
    model.addEventListener("input", syncLabel);
    // A number field's value is "" both when empty and when the browser cannot read what was typed.
    const readNumber = (el) => {
      const raw = el.value.trim();
      if (raw === "") return el.validity && el.validity.badInput ? NaN : null;
      return Number(raw);
    };
    const form = onSubmit(h("form", { class: "stack", novalidate: true, id: "price-form", autocomplete: "off" },
      h("div", { class: "grid-fields" }, withError("Provider", provider),
        withError("Model", model, "The model name as the provider spells it. * means every model of this provider that the built-in catalog does not price.")),
      h("fieldset", { class: "plain" }, h("legend", null, "USD per million tokens"),
        h("div", { class: "grid-fields" }, withError("Input", input), withError("Cached input (optional)", cached), withError("Output", output))),
      withError("Most output tokens per call (optional)", maxOut, "The model's own ceiling, used to reserve spend before a call that does not cap its reply."),
      error, h("div", { class: "actions" }, submit)), async () => {
      clearErrors();
      const m = model.value.trim();
      if (!m) { fieldError("model", "Enter a model name, or * for every model the catalog does not price."); return; }
      if (m === "." || m === "..") { fieldError("model", "That is not a model name."); return; }
      const body = { input_per_million: readNumber(input), cached_input_per_million: readNumber(cached), output_per_million: readNumber(output), max_output_tokens: readNumber(maxOut) };
      if (body.input_per_million === null) { fieldError("input_per_million", "Enter the input price (0 or more)."); return; }
      if (body.output_per_million === null) { fieldError("output_per_million", "Enter the output price (0 or more)."); return; }
      for (const [name, v] of Object.entries(body)) {
        if (v !== null && !Number.isFinite(v)) { fieldError(name, "Enter a number."); return; }
      }
      try {
        const saved = await api("PUT", pricePath(provider.value, m), body);
        toast(`Saved the price of ${providerName(saved.provider)} ${saved.model}.`);
        model.value = ""; input.value = ""; cached.value = ""; output.value = ""; maxOut.value = "";
        await load();
      } catch (e) {
        if (e.param) fieldError(e.param, e.message); else showError(error, e);
      }
    });
    view("Model prices",
      h("p", { class: "lede" }, "The vault prices each call from the tokens it used. Your own prices win over the built-in catalog: add one for a model the catalog lacks, or when your contract price differs."),
      list, section("Add or replace a price", form), catalogBox);
    const load = async () => {
      try {
        prices = await api("GET", "/okap/admin/prices");
        if (me !== state.viewId) return;
        syncLabel();
        clear(list);
        if (!prices.length) {
          list.append(section("Your prices", empty(h("p", null, "No prices of your own: the built-in catalog prices every call."),
            h("p", { class: "hint" }, "An app whose token has a spend limit cannot call a model that has no price, so add one below for any model the catalog lacks."))));
          return;
        }
        list.append(section("Your prices", h("p", { class: "hint" }, "USD per million tokens."), h("div", { class: "table-wrap" }, h("table", { class: "table", id: "prices-table" },
          h("thead", null, h("tr", null, ["Provider", "Model", "Input", "Cached input", "Output", "Max output", "Updated", ""].map((c) => h("th", { scope: "col" }, c)))),
          h("tbody", null, prices.map((p) => {
            const name = `${providerName(p.provider)} ${p.model}`;
            const edit = h("button", { type: "button", class: "btn btn-small" }, "Replace");
            edit.setAttribute("aria-label", `Replace the price of ${name}`);
            edit.addEventListener("click", () => {
              clearErrors();
              provider.value = p.provider; model.value = p.model;
              input.value = String(p.input_per_million); output.value = String(p.output_per_million);
              cached.value = p.cached_input_per_million === null || p.cached_input_per_million === undefined ? "" : String(p.cached_input_per_million);
              maxOut.value = p.max_output_tokens ? String(p.max_output_tokens) : "";
              syncLabel();
              input.focus();
            });
            const remove = h("button", { type: "button", class: "btn btn-small btn-danger-outline" }, "Remove");
            remove.setAttribute("aria-label", `Remove the price of ${name}`);
            remove.addEventListener("click", async () => {
              if (!await confirmDialog({ title: `Remove your price for ${name}?`, message: "Calls to this model are priced from the built-in catalog again; if it does not list the model, apps with a spend limit cannot call it.", confirm: "Remove price" })) return;
              try {
                await api("DELETE", pricePath(p.provider, p.model));
                toast(`Removed your price for ${name}.`);
                await load();
              } catch (e) { toast(e.message, "error"); }
            });
            return h("tr", { "data-provider": p.provider, "data-model": p.model },
              h("td", { "data-label": "Provider" }, providerName(p.provider)),
              h("td", { "data-label": "Model" }, modelText(p.model)),
              h("td", { "data-label": "Input" }, perMillion(p.input_per_million)),
              h("td", { "data-label": "Cached" }, perMillion(p.cached_input_per_million)),
              h("td", { "data-label": "Output" }, perMillion(p.output_per_million)),
              h("td", { "data-label": "Max output" }, p.max_output_tokens ? num(p.max_output_tokens) : h("span", { class: "muted" }, "—")),
              h("td", { "data-label": "Updated" }, when(p.updated_at)),
              h("td", { class: "row-actions" }, edit, " ", remove));
          }))))));
      } catch (e) { if (me === state.viewId) fail(list, e); }
    };
    const loadCatalog = async () => {
      try {
        const catalog = await api("GET", "/okap/admin/catalog");
        if (me !== state.viewId) return;
        clear(catalogBox);
        const search = h("input", { type: "search", id: "catalog-search", placeholder: "provider or model", spellcheck: "false", autocapitalize: "none" });
        const count = h("p", { class: "hint", id: "catalog-count", "aria-live": "polite" });
        const body = h("tbody");
        const rows = catalog.models.map((m) => ({ m, text: (m.provider + " " + providerName(m.provider) + " " + m.model).toLowerCase(),
          row: h("tr", { "data-provider": m.provider, "data-model": m.model },
            h("td", { "data-label": "Provider" }, providerName(m.provider)),
            h("td", { "data-label": "Model" }, modelText(m.model)),
            h("td", { "data-label": "Input" }, perMillion(m.input_per_million)),
            h("td", { "data-label": "Cached" }, perMillion(m.cached_input_per_million)),
            h("td", { "data-label": "Output" }, perMillion(m.output_per_million)),
            h("td", { "data-label": "Max output" }, m.max_output_tokens ? num(m.max_output_tokens) : h("span", { class: "muted" }, "—"))) }));
        const filter = () => {
          const words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
          clear(body);
          const shown = rows.filter((r) => words.every((w) => r.text.includes(w)));
          body.append(...shown.map((r) => r.row));
          count.textContent = shown.length === rows.length ? plural(rows.length, "model") : `${num(shown.length)} of ${plural(rows.length, "model")}`;
        };
        search.addEventListener("input", filter);
        filter();
        catalogBox.append(section("Built-in catalog",
          h("p", null, "Version ", h("strong", { id: "catalog-version" }, catalog.version), ", in ", catalog.currency || "USD",
            " per million tokens. It comes with the vault and is read-only; a price of your own for the same model wins."),
          h("details", { class: "advanced", id: "catalog-details" }, h("summary", null, `Show the catalog (${plural(rows.length, "model")})`),
            h("div", { class: "stack" }, field("Search the catalog", search), count,
              h("div", { class: "table-wrap" }, h("table", { class: "table", id: "catalog-table" },
                h("thead", null, h("tr", null, ["Provider", "Model", "Input", "Cached input", "Output", "Max output"].map((c) => h("th", { scope: "col" }, c)))),
                body))))));
      } catch (e) { if (me === state.viewId) fail(catalogBox, e); }
    };
    await Promise.all([load(), loadCatalog()]);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Auto-approve policies

  async function viewPolicies() {
    const me = state.viewId;
    const list = h("div", null, loading());
    const formBox = h("div");
    view("Auto-approve rules",
      h("p", { class: "lede" }, "A rule approves matching requests at once, without asking you, and caps what they get. Requests it does not cover wait for you as usual."),
      list, formBox);
    let policies = [];
    const showForm = (p) => {
      clear(formBox);
      formBox.append(policyForm(p, async () => { await load(); showForm(null); }, () => showForm(null)));
      if (p) formBox.querySelector("input").focus();
    };
    const load = async () => {
      try {
        policies = await api("GET", "/okap/admin/policies");
        if (me !== state.viewId) return;
        clear(list);
        if (!policies.length) {
          list.append(section("Your rules", empty(h("p", null, "No rules: every request waits for your decision."), h("p", { class: "hint" }, "Add a rule below to approve, say, your own scripts automatically within small limits."))));
          return;
        }
        list.append(section("Your rules", h("ul", { class: "policy-list" }, policies.map((p) => {
          const edit = h("button", { type: "button", class: "btn btn-small" }, "Edit");
          edit.setAttribute("aria-label", `Edit rule ${p.name}`);
          edit.addEventListener("click", () => showForm(p));
          const remove = h("button", { type: "button", class: "btn btn-small btn-danger-outline" }, "Remove");
          remove.setAttribute("aria-label", `Remove rule ${p.name}`);
          remove.addEventListener("click", async () => {
            if (!await confirmDialog({ title: `Remove the rule “${p.name}”?`, message: "Requests it covered will wait for your decision again. Tokens it already approved stay valid.", confirm: "Remove rule" })) return;
            try { await api("DELETE", "/okap/admin/policies/" + encodeURIComponent(p.id)); toast(`Removed the rule ${p.name}.`); await load(); } catch (e) { toast(e.message, "error"); }
          });
          return h("li", { class: "policy", "data-policy-id": p.id },
            h("div", { class: "policy-main" },
              h("h3", { class: "policy-name" }, p.name, " ", badge(p.enabled ? "enabled" : "disabled")),
              h("p", null, h("span", { class: "muted" }, "Apps: "), p.app_name ? h("span", null, "named “", p.app_name, "”") : "any app",
                h("span", { class: "muted" }, " · Providers: "), p.providers.map(providerName).join(", ")),
              h("p", null, h("span", { class: "muted" }, "Models: "), listText(p.models, "any"), h("span", { class: "muted" }, " · Capabilities: "), listText(p.capabilities, "any"),
                h("span", { class: "muted" }, " · Longest: "), p.max_days ? p.max_days + " days" : "vault default"),
              h("p", { class: "limits-line" }, LIMITS.filter((d) => p.max_limits[d.key] !== null && p.max_limits[d.key] !== undefined)
                .map((d) => h("span", { class: "chip" }, d.label, ": ", limitText(d, p.max_limits[d.key]))))),
            h("div", { class: "row-actions" }, edit, " ", remove));
        }))));
      } catch (e) { if (me === state.viewId) fail(list, e); }
    };
    await load();
    showForm(null);
  }

  function policyForm(p, saved, cancel) {
    const name = h("input", { type: "text", id: "policy-name", maxlength: "100", required: true, value: p ? p.name : "" });
    const app = h("input", { type: "text", id: "policy-app", maxlength: "200", value: p && p.app_name ? p.app_name : "", placeholder: "any app" });
    const providers = PROVIDERS.map((x) => h("input", { type: "checkbox", value: x, name: "providers", checked: p ? p.providers.includes(x) : x === "openai" }));
    const capabilities = CAPABILITIES.map((x) => h("input", { type: "checkbox", value: x, name: "capabilities", checked: p ? p.capabilities.includes(x) : false }));
    const models = h("input", { type: "text", id: "policy-models", value: p ? p.models.join(", ") : "", placeholder: "any model", spellcheck: "false" });
    const limits = LIMITS.map((def) => ({ def, input: h("input", { type: "number", min: "0", step: def.money ? "0.01" : "1", "data-limit": def.key, placeholder: "no cap",
      id: "policy-" + def.key, value: p && p.max_limits[def.key] !== null && p.max_limits[def.key] !== undefined ? String(p.max_limits[def.key]) : "" }) }));
    const maxDays = h("input", { type: "number", id: "policy-max-days", min: "1", max: "3650", step: "1", value: p && p.max_days ? String(p.max_days) : "", placeholder: "vault default" });
    const enabled = h("input", { type: "checkbox", id: "policy-enabled", checked: p ? p.enabled : true });
    const error = errorBox();
    const form = onSubmit(h("form", { class: "stack", novalidate: true, id: "policy-form" },
      h("div", { class: "grid-fields" }, field("Rule name", name), field("Only for the app named (optional)", app, "Exact name, not case-sensitive. The name is claimed by the app, so keep limits small.")),
      h("fieldset", { class: "choices" }, h("legend", null, "Providers it covers"), providers.map((b) => checkField(providerName(b.value), b))),
      field("Models (comma-separated; empty for any)", models),
      h("fieldset", { class: "choices" }, h("legend", null, "Capabilities (none ticked: any)"), capabilities.map((b) => checkField(b.value, b))),
      h("fieldset", { class: "plain" }, h("legend", null, "Caps on what it grants"),
        h("div", { class: "grid-fields" }, limits.map(({ def, input }) => field(def.label + (def.money ? " (USD)" : ""), input)), field("Longest token lifetime (days)", maxDays))),
      checkField("Rule is enabled", enabled),
      error,
      h("div", { class: "actions" }, h("button", { type: "submit", class: "btn btn-primary", id: "save-policy" }, p ? "Save changes" : "Add rule"),
        p ? h("button", { type: "button", class: "btn", onclick: cancel }, "Cancel") : null)), async () => {
      showError(error, null);
      const body = {
        name: name.value.trim(), app_name: app.value.trim() || null,
        providers: providers.filter((b) => b.checked).map((b) => b.value),
        models: models.value.split(",").map((m) => m.trim()).filter(Boolean),
        capabilities: capabilities.filter((b) => b.checked).map((b) => b.value),
        max_limits: {}, max_days: maxDays.value ? Number(maxDays.value) : null, enabled: enabled.checked,
      };
      if (!body.name) { showError(error, new Error("Give the rule a name.")); name.focus(); return; }
      if (!body.providers.length) { showError(error, new Error("Tick at least one provider.")); return; }
      for (const { def, input } of limits) {
        if (!input.value.trim()) continue;
        const v = Number(input.value);
        if (!Number.isFinite(v) || v < 0) { showError(error, new Error(def.label + ": enter a number of zero or more.")); input.focus(); return; }
        body.max_limits[def.key] = v;
      }
      try {
        const result = await api(p ? "PUT" : "POST", "/okap/admin/policies" + (p ? "/" + encodeURIComponent(p.id) : ""), body);
        toast(p ? `Saved the rule ${result.name}.` : `Added the rule ${result.name}.`);
        await saved();
      } catch (e) { showError(error, e); }
    });
    return section(p ? `Edit the rule “${p.name}”` : "Add a rule", form);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Audit trail

  // ---------------------------------------------------------------------------------------------------------------
  // Past and pending requests

  async function viewRequests(params) {
    const me = state.viewId;
    const text = h("input", { type: "search", id: "requests-q", maxlength: "200", value: params.get("q") || "", placeholder: "app name or provider" });
    const status = h("select", { id: "requests-status" }, h("option", { value: "" }, "Any status"),
      ["pending", "approved", "denied", "expired"].map((v) => h("option", { value: v }, v)));
    status.value = params.get("status") || "";
    const table = h("div", { "aria-live": "polite" }, loading());
    const prev = h("button", { type: "button", class: "btn", id: "requests-prev", disabled: true }, "← Newer");
    const next = h("button", { type: "button", class: "btn", id: "requests-next", disabled: true }, "Older →");
    const pageInfo = h("span", { class: "hint", id: "requests-page" });
    const stack = [];
    let current = null, nextToken = null;
    const filters = onSubmit(h("form", { class: "filters", role: "search" },
      field("Search", text), field("Status", status), h("button", { type: "submit", class: "btn btn-primary" }, "Filter")), async () => {
      stack.length = 0; current = null;
      await load();
    });
    view("Requests", h("p", { class: "lede" }, "Every app that asked for access, newest first: what it asked for and what you decided."),
      filters, table, h("div", { class: "pager" }, prev, pageInfo, next));
    let seq = 0;
    const load = async () => {
      const mine = ++seq;
      next.disabled = true; prev.disabled = true;
      const q = new URLSearchParams({ page_size: "25" });
      if (text.value.trim()) q.set("q", text.value.trim());
      if (status.value) q.set("status", status.value);
      if (current) q.set("continuation", current);
      try {
        const page = await api("GET", "/okap/admin/requests?" + q);
        if (me !== state.viewId || mine !== seq) return;
        nextToken = page.next;
        next.disabled = !nextToken; prev.disabled = stack.length === 0;
        pageInfo.textContent = "Page " + (stack.length + 1);
        clear(table);
        if (!page.items.length) { table.append(empty(h("p", null, nextToken ? "No matches in this stretch: look at older requests." : stack.length ? "No older requests." : "No requests match."))); return; }
        table.append(h("div", { class: "table-wrap" }, h("table", { class: "table", id: "requests-table" },
          h("thead", null, h("tr", null, ["Asked", "App", "Providers", "Status", "Decided"].map((c) => h("th", { scope: "col" }, c)))),
          h("tbody", null, page.items.map((r) => h("tr", { "data-request-id": r.id },
            h("td", { "data-label": "Asked" }, h("time", { datetime: r.created_at }, instant(r.created_at))),
            h("td", { "data-label": "App" }, h("a", { href: "#/requests/" + encodeURIComponent(r.id) }, r.app_name)),
            h("td", { "data-label": "Providers" }, r.requested.map((g) => g.provider).join(", ")),
            h("td", { "data-label": "Status" }, badge(r.status)),
            h("td", { "data-label": "Decided" }, r.decided_at ? h("time", { datetime: r.decided_at }, instant(r.decided_at)) : h("span", { class: "muted" }, "—"))))))));
      } catch (e) { if (me === state.viewId) fail(table, e); }
    };
    next.addEventListener("click", async () => { if (!nextToken) return; stack.push(current); current = nextToken; await load(); });
    prev.addEventListener("click", async () => { if (!stack.length) return; current = stack.pop(); await load(); });
    await load();
  }

  async function viewAudit(params) {
    const me = state.viewId;
    const app = h("input", { type: "text", id: "audit-app", value: params.get("app") || "", placeholder: "any app" });
    const text = h("input", { type: "search", id: "audit-q", maxlength: "200", value: params.get("q") || "", placeholder: "any text" });
    const event = h("select", { id: "audit-event" }, h("option", { value: "" }, "Any event"), AUDIT_EVENTS.map((e) => h("option", { value: e }, e)));
    event.value = params.get("event") || "";
    const size = h("select", { id: "audit-page-size" }, ["10", "25", "50", "100"].map((n) => h("option", { value: n }, n)));
    size.value = params.get("page_size") || "25";
    const table = h("div", { "aria-live": "polite" }, loading());
    const prev = h("button", { type: "button", class: "btn", id: "audit-prev", disabled: true }, "← Newer");
    const next = h("button", { type: "button", class: "btn", id: "audit-next", disabled: true }, "Older →");
    const pageInfo = h("span", { class: "hint", id: "audit-page" });
    const stack = [];   // continuation tokens of the pages before the current one
    let current = null, nextToken = null;
    const filters = onSubmit(h("form", { class: "filters", role: "search" },
      field("Search", text), field("App", app), field("Event", event), field("Per page", size),
      h("button", { type: "submit", class: "btn btn-primary" }, "Filter")), async () => {
      stack.length = 0; current = null;
      await load();
    });
    // The export takes the filters as they are in the form, and every page of them, not just the one shown.
    const download = h("a", { class: "btn", id: "audit-csv", download: "" }, "Download CSV");
    const syncDownload = () => {
      const q = new URLSearchParams({ format: "csv" });
      if (app.value.trim()) q.set("app", app.value.trim());
      if (event.value) q.set("event", event.value);
      if (text.value.trim()) q.set("q", text.value.trim());
      download.href = "/okap/admin/audit?" + q;
    };
    app.addEventListener("input", syncDownload);
    text.addEventListener("input", syncDownload);
    event.addEventListener("change", syncDownload);
    syncDownload();
    view("Audit trail",
      h("p", { class: "lede" }, "Everything that happened in your vault, newest first."),
      filters, table, h("div", { class: "pager" }, prev, pageInfo, next), h("p", { class: "actions" }, download));
    let seq = 0;
    const load = async () => {
      const mine = ++seq;
      next.disabled = true; prev.disabled = true;
      const q = new URLSearchParams({ page_size: size.value });
      if (app.value.trim()) q.set("app", app.value.trim());
      if (event.value) q.set("event", event.value);
      if (text.value.trim()) q.set("q", text.value.trim());
      if (current) q.set("continuation", current);
      try {
        const page = await api("GET", "/okap/admin/audit?" + q);
        if (me !== state.viewId || mine !== seq) return;
        nextToken = page.next;
        next.disabled = !nextToken; prev.disabled = stack.length === 0;
        pageInfo.textContent = "Page " + (stack.length + 1);
        clear(table);
        // A text search may return a page with no match yet and more to look at ("Older →" stays enabled).
        if (!page.items.length) { table.append(empty(h("p", null, nextToken ? "No matches in this stretch: look at older events." : stack.length ? "No older events." : "No events match."))); return; }
        table.append(h("div", { class: "table-wrap" }, h("table", { class: "table", id: "audit-table" },
          h("thead", null, h("tr", null, ["When", "Event", "By", "App", "From", "Details"].map((c) => h("th", { scope: "col" }, c)))),
          h("tbody", null, page.items.map((e) => h("tr", { "data-event-id": e.id },
            h("td", { "data-label": "When" }, h("time", { datetime: e.at }, instant(e.at))),
            h("td", { "data-label": "Event" }, h("span", { class: "event event-" + e.event.split(".")[0] }, e.event)),
            h("td", { "data-label": "By", class: "mono audit-actor" }, e.actor || h("span", { class: "muted" }, "—")),
            h("td", { "data-label": "App" }, e.app_name || h("span", { class: "muted" }, "—")),
            h("td", { "data-label": "From", class: "mono" }, e.client_address || h("span", { class: "muted" }, "—")),
            h("td", { "data-label": "Details" }, [e.detail, e.request_id && h("a", { href: "#/requests/" + encodeURIComponent(e.request_id), class: "mono" }, e.request_id),
              e.token_id && h("span", { class: "mono muted" }, e.token_id)].filter(Boolean).map((x, i) => (i ? [" · ", x] : x)))))))));
      } catch (e) { if (me === state.viewId) fail(table, e); }
    };
    next.addEventListener("click", async () => { if (!nextToken) return; stack.push(current); current = nextToken; await load(); });
    prev.addEventListener("click", async () => { if (!stack.length) return; current = stack.pop(); await load(); });
    await load();
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Personal access keys

  async function viewAccessKeys() {
    const me = state.viewId;
    const list = h("div", null, loading());
    const created = h("div", { "aria-live": "polite" });
    const name = h("input", { type: "text", id: "pat-name", maxlength: "100", placeholder: "e.g. okap CLI on my laptop" });
    const days = h("input", { type: "number", id: "pat-days", min: "1", max: "3650", value: "90" });
    const scopes = ACCESS_KEY_SCOPES.map((s) => h("input", { type: "checkbox", value: s.scope, name: "pat-scopes", id: "pat-scope-" + s.scope, checked: s.scope === "read" }));
    const error = errorBox();
    const form = onSubmit(h("form", { class: "stack", novalidate: true, id: "pat-form" },
      h("div", { class: "grid-fields" }, field("Name", name), field("Expires after (days)", days, "Empty: the vault's default (90 days). Every key expires.")),
      h("fieldset", { class: "choices" }, h("legend", null, "What the key may do"), scopes.map((b, i) => checkField(ACCESS_KEY_SCOPES[i].label, b))),
      h("p", { class: "hint" }, "No key can create or revoke access keys: that takes a signed-in browser, like this page."),
      error, h("div", { class: "actions" }, h("button", { type: "submit", class: "btn btn-primary", id: "create-pat" }, "Create access key"))), async () => {
      showError(error, null);
      if (!name.value.trim()) { showError(error, new Error("Give the key a name so you recognise it later.")); name.focus(); return; }
      const chosen = scopes.filter((b) => b.checked).map((b) => b.value);
      if (!chosen.length) { showError(error, new Error("Tick at least one thing the key may do.")); scopes[0].focus(); return; }
      try {
        const result = await api("POST", "/okap/admin/access-keys", { name: name.value.trim(), scopes: chosen, expires_in_days: days.value ? Number(days.value) : null });
        name.value = "";
        clear(created);
        const secret = h("code", { class: "secret", id: "pat-secret" }, result.secret);
        created.append(notice("ok", h("p", null, h("strong", null, "Copy this key now: it is shown only once.")),
          h("div", { class: "copy-row" }, secret, copyButton(result.secret)),
          h("p", { class: "hint" }, "Send it as ", h("code", null, "Authorization: Bearer <key>"), " to the vault's admin API (", h("code", null, "/okap/admin/…"), ").")));
        await load();
      } catch (e) { showError(error, e); }
    });
    view("Personal access keys",
      h("p", { class: "lede" }, "Access keys let your own scripts and the command-line tool manage this vault on your behalf. They are not for apps: apps ask for tokens."),
      created, list, section("Create an access key", form));
    const load = async () => {
      try {
        const keys = await api("GET", "/okap/admin/access-keys");
        if (me !== state.viewId) return;
        clear(list);
        if (!keys.length) { list.append(section("Your access keys", empty(h("p", null, "No access keys.")))); return; }
        list.append(section("Your access keys", h("div", { class: "table-wrap" }, h("table", { class: "table", id: "pat-table" },
          h("thead", null, h("tr", null, ["Name", "Key", "Scopes", "Created", "Expires", "Last used", "Status", ""].map((c) => h("th", { scope: "col" }, c)))),
          h("tbody", null, keys.map((k) => {
            const status = k.revoked_at ? "revoked" : k.expires_at && new Date(k.expires_at) < new Date() ? "expired" : "active";
            let action = null;
            if (status === "active") {
              action = h("button", { type: "button", class: "btn btn-small btn-danger-outline" }, "Revoke");
              action.setAttribute("aria-label", `Revoke access key ${k.name}`);
              action.addEventListener("click", async () => {
                if (!await confirmDialog({ title: `Revoke “${k.name}”?`, message: "Anything using this key loses access to the admin API at once.", confirm: "Revoke key" })) return;
                try { await api("DELETE", "/okap/admin/access-keys/" + encodeURIComponent(k.id)); toast(`Revoked the access key ${k.name}.`); await load(); } catch (e) { toast(e.message, "error"); }
              });
            }
            return h("tr", { "data-key-id": k.id },
              h("td", { "data-label": "Name" }, k.name), h("td", { "data-label": "Key", class: "mono" }, k.display_prefix, "…"),
              h("td", { "data-label": "Scopes", class: "pat-scopes" }, k.scopes.join(", "), k.legacy_scopes ? h("span", { class: "muted" }, " (made before scopes: replace it)") : null),
              h("td", { "data-label": "Created" }, when(k.created_at)), h("td", { "data-label": "Expires" }, k.expires_at ? day(k.expires_at) : "Never"),
              h("td", { "data-label": "Last used", class: "pat-last-used" }, k.last_used_at ? when(k.last_used_at) : h("span", { class: "muted" }, "Never")),
              h("td", { "data-label": "Status" }, badge(status)), h("td", { class: "row-actions" }, action));
          }))))));
      } catch (e) { if (me === state.viewId) fail(list, e); }
    };
    await load();
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Security: sessions, password, authenticator app, recovery codes, passkeys

  // WebAuthn wants binary fields as ArrayBuffers; the vault sends and takes them as base64url.
  function fromB64url(text) {
    const b64 = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
    return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)).buffer;
  }
  function toB64url(buffer) {
    let text = "";
    for (const b of new Uint8Array(buffer)) text += String.fromCharCode(b);
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function withoutNulls(value) {
    if (Array.isArray(value)) return value.map(withoutNulls);
    if (value && typeof value === "object") {
      const out = {};
      for (const [k, v] of Object.entries(value)) if (v !== null && v !== undefined) out[k] = withoutNulls(v);
      return out;
    }
    return value;
  }
  function creationOptions(json) {
    const o = withoutNulls(json);
    o.challenge = fromB64url(o.challenge);
    o.user = { ...o.user, id: fromB64url(o.user.id) };
    o.excludeCredentials = (o.excludeCredentials || []).map((c) => ({ ...c, id: fromB64url(c.id) }));
    return o;
  }
  function requestOptions(json) {
    const o = withoutNulls(json);
    o.challenge = fromB64url(o.challenge);
    o.allowCredentials = (o.allowCredentials || []).map((c) => ({ ...c, id: fromB64url(c.id) }));
    return o;
  }
  function attestationJson(c) {
    return {
      id: c.id, rawId: toB64url(c.rawId), type: c.type, clientExtensionResults: c.getClientExtensionResults(),
      response: {
        attestationObject: toB64url(c.response.attestationObject), clientDataJSON: toB64url(c.response.clientDataJSON),
        transports: c.response.getTransports ? c.response.getTransports() : [],
      },
    };
  }
  function assertionJson(c) {
    return {
      id: c.id, rawId: toB64url(c.rawId), type: c.type, clientExtensionResults: c.getClientExtensionResults(),
      response: {
        authenticatorData: toB64url(c.response.authenticatorData), clientDataJSON: toB64url(c.response.clientDataJSON),
        signature: toB64url(c.response.signature), userHandle: c.response.userHandle ? toB64url(c.response.userHandle) : null,
      },
    };
  }

  function recoveryCodesNotice(codes) {
    const text = codes.join("\n");
    return notice("ok", h("p", null, h("strong", null, "Save these recovery codes now: they are shown only once.")),
      h("p", { class: "hint" }, "Each one signs you in once if you lose your authenticator app or passkeys. Earlier codes no longer work."),
      h("pre", { class: "secret recovery-codes", id: "recovery-codes" }, text), copyButton(text, "Copy codes"));
  }

  function passwordPrompt(id, label) {
    return h("input", { type: "password", id, autocomplete: "current-password", "aria-label": label || "Your password" });
  }

  async function viewSecurity() {
    const me = state.viewId;
    const body = h("div", null, loading());
    const shown = h("div", { "aria-live": "polite", id: "security-shown" });
    view("Security", h("p", { class: "lede" }, "How you sign in to this vault, and where you are signed in."), shown, body);
    const load = async () => {
      let sec;
      try { sec = await api("GET", "/okap/account/security"); } catch (e) { if (me === state.viewId) fail(body, e); return; }
      if (me !== state.viewId) return;
      clear(body);
      body.append(sessionsSection(sec, load), sec.has_password ? passwordSection() : null,
        sec.has_password ? totpSection(sec, load, shown) : null, sec.has_password ? passkeySection(sec, load, shown) : null,
        sec.has_password && (sec.totp_enabled || sec.passkeys.length) ? recoverySection(sec, load, shown) : null);
      if (!sec.has_password) body.append(notice("info", "You sign in through your organisation's account; its own settings decide second factors."));
    };
    await load();
  }

  function sessionsSection(sec, reload) {
    const everywhere = h("button", { type: "button", class: "btn btn-danger-outline", id: "sign-out-everywhere" }, "Sign out everywhere");
    everywhere.addEventListener("click", async () => {
      if (!await confirmDialog({ title: "Sign out everywhere?", message: "Every browser signed in to your vault, this one included, must sign in again. A copied cookie stops working too.", confirm: "Sign out everywhere" })) return;
      try { await api("POST", "/okap/account/logout-everywhere"); } catch (e) { toast(e.message, "error"); return; }
      state.session = null; updateChrome(); navigate("#/"); toast("Signed out everywhere.");
    });
    return section("Where you are signed in", h("div", { class: "table-wrap" }, h("table", { class: "table", id: "sessions-table" },
      h("thead", null, h("tr", null, ["Browser", "Address", "Signed in", "Last seen", "How", ""].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", null, sec.sessions.map((x) => {
        const end = h("button", { type: "button", class: "btn btn-small btn-danger-outline" }, x.current ? "Sign out" : "Sign out");
        end.setAttribute("aria-label", x.current ? "Sign out this browser" : "Sign out the session from " + (x.client_address || "an unknown address"));
        end.addEventListener("click", async () => {
          if (x.current) { signOut(); return; }
          try { await api("DELETE", "/okap/account/sessions/" + encodeURIComponent(x.id)); toast("That session is signed out."); await reload(); } catch (e) { toast(e.message, "error"); }
        });
        return h("tr", { "data-session-id": x.id, class: x.current ? "current" : null },
          h("td", { "data-label": "Browser" }, browserName(x.user_agent), x.current ? h("span", { class: "badge badge-active" }, "this browser") : null),
          h("td", { "data-label": "Address", class: "mono" }, x.client_address || "unknown"),
          h("td", { "data-label": "Signed in" }, when(x.created_at)), h("td", { "data-label": "Last seen" }, ago(x.last_seen_at)),
          h("td", { "data-label": "How" }, x.method), h("td", { class: "row-actions" }, end));
      })))), h("div", { class: "actions" }, everywhere));
  }

  function browserName(ua) {
    if (!ua) return "Unknown browser";
    const known = [["Edg/", "Edge"], ["Firefox/", "Firefox"], ["Chrome/", "Chrome"], ["Safari/", "Safari"], ["curl/", "curl"], ["okap/", "okap CLI"]];
    for (const [needle, name] of known) if (ua.includes(needle)) return name + (/Mobile|Android|iPhone/.test(ua) ? " (mobile)" : "");
    return ua.length > 40 ? ua.slice(0, 40) + "…" : ua;
  }

  function passwordSection() {
    const current = passwordPrompt("current-password", "Current password");
    const next = h("input", { type: "password", id: "new-password", autocomplete: "new-password", minlength: "12", maxlength: "256" });
    const again = h("input", { type: "password", id: "new-password-again", autocomplete: "new-password" });
    const error = errorBox();
    const form = onSubmit(h("form", { class: "stack", novalidate: true, id: "password-form" },
      h("div", { class: "grid-fields" }, field("Current password", current), field("New password", next, "At least 12 characters; not a common password, a keyboard run or your user name."), field("Repeat the new password", again)),
      error, h("div", { class: "actions" }, h("button", { type: "submit", class: "btn btn-primary" }, "Change password"))), async () => {
      showError(error, null);
      if (next.value !== again.value) { showError(error, new Error("The two new passwords differ.")); return; }
      try {
        const r = await api("POST", "/okap/account/password", { current_password: current.value, new_password: next.value });
        current.value = next.value = again.value = "";
        toast(r.message.charAt(0).toUpperCase() + r.message.slice(1) + ".");
        render();
      } catch (e) { showError(error, e); }
    });
    return section("Password", h("p", { class: "hint" }, "Changing it signs out every other browser."), form);
  }

  function totpSection(sec, reload, shown) {
    const password = passwordPrompt(sec.totp_enabled ? "totp-disable-password" : "totp-password");
    const error = errorBox();
    if (sec.totp_enabled) {
      const form = onSubmit(h("form", { class: "stack", novalidate: true, id: "totp-disable-form" },
        field("Your password", password), error,
        h("div", { class: "actions" }, h("button", { type: "submit", class: "btn btn-danger-outline" }, "Turn off the authenticator app"))), async () => {
        showError(error, null);
        try { await api("POST", "/okap/account/totp/disable", { password: password.value }); toast("The authenticator app is off."); await reload(); } catch (e) { showError(error, e); }
      });
      return section("Authenticator app", notice("ok", "On: signing in with your password also asks for a code from the app."), form);
    }
    const step = h("div", { id: "totp-step" });
    const form = onSubmit(h("form", { class: "stack", novalidate: true, id: "totp-setup-form" },
      field("Your password", password, "Asked again before changing how you sign in."), error,
      h("div", { class: "actions" }, h("button", { type: "submit", class: "btn btn-primary" }, "Set up an authenticator app"))), async () => {
      showError(error, null);
      let setup;
      try { setup = await api("POST", "/okap/account/totp/setup", { password: password.value }); } catch (e) { showError(error, e); return; }
      password.value = "";
      const code = h("input", { type: "text", id: "totp-code", inputmode: "numeric", autocomplete: "one-time-code", maxlength: "6", pattern: "[0-9]{6}" });
      const confirmError = errorBox();
      clear(step);
      step.append(notice("info",
        h("p", null, "Add this secret to your authenticator app (it is shown once), then enter the 6-digit code the app shows."),
        h("div", { class: "copy-row" }, h("code", { class: "secret", id: "totp-secret" }, setup.secret), copyButton(setup.secret)),
        h("p", { class: "hint" }, "Or open this link on the phone with the app: ", h("a", { href: setup.otpauth_uri, id: "totp-uri" }, "otpauth link"))),
        onSubmit(h("form", { class: "stack", novalidate: true, id: "totp-confirm-form" }, field("Code from the app", code), confirmError,
          h("div", { class: "actions" }, h("button", { type: "submit", class: "btn btn-primary" }, "Turn on"))), async () => {
          showError(confirmError, null);
          try {
            const r = await api("POST", "/okap/account/totp/confirm", { code: code.value.trim() });
            clear(shown); shown.append(recoveryCodesNotice(r.recovery_codes));
            toast("The authenticator app is on.");
            await reload();
          } catch (e) { showError(confirmError, e); }
        }));
      code.focus();
    });
    return section("Authenticator app", h("p", { class: "hint" }, "A second step after your password: a code from an app such as Microsoft Authenticator, 1Password or Aegis."), form, step);
  }

  function passkeySection(sec, reload, shown) {
    const name = h("input", { type: "text", id: "passkey-name", maxlength: "64", placeholder: "e.g. this laptop" });
    const password = passwordPrompt("passkey-password");
    const error = errorBox();
    const supported = !!window.PublicKeyCredential;
    const form = onSubmit(h("form", { class: "stack", novalidate: true, id: "passkey-form" },
      h("div", { class: "grid-fields" }, field("Name", name, "So you recognise it later."), field("Your password", password)), error,
      h("div", { class: "actions" }, h("button", { type: "submit", class: "btn btn-primary", disabled: !supported }, "Add a passkey"))), async () => {
      showError(error, null);
      try {
        const ceremony = await api("POST", "/okap/account/passkeys/options", { password: password.value });
        password.value = "";
        const credential = await navigator.credentials.create({ publicKey: creationOptions(ceremony.options) });
        const added = await api("POST", "/okap/account/passkeys", { state: ceremony.state, name: name.value.trim(), credential: attestationJson(credential) });
        toast("Passkey added.");
        if (added.recovery_codes) { clear(shown); shown.append(recoveryCodesNotice(added.recovery_codes)); }
        await reload();
      } catch (e) {
        showError(error, new Error(e.name === "NotAllowedError" ? "The passkey prompt was closed or timed out." : e.name === "InvalidStateError" ? "This device already holds a passkey for your vault." : e.message));
      }
    });
    const list = sec.passkeys.length
      ? h("ul", { class: "plain-list", id: "passkey-list" }, sec.passkeys.map((p) => {
        const remove = h("button", { type: "button", class: "btn btn-small btn-danger-outline" }, "Remove");
        remove.setAttribute("aria-label", "Remove passkey " + p.name);
        // Removing a factor asks for the password, as turning off the authenticator app does.
        const confirmBox = h("div", { class: "inline-confirm", hidden: true });
        remove.addEventListener("click", () => {
          const pw = passwordPrompt("passkey-remove-password", "Your password, to remove " + p.name);
          const removeError = errorBox();
          clear(confirmBox);
          confirmBox.append(onSubmit(h("form", { class: "stack", novalidate: true },
            field("Your password, to remove it", pw), removeError,
            h("div", { class: "actions" }, h("button", { type: "submit", class: "btn btn-small btn-danger" }, "Remove passkey"))), async () => {
            showError(removeError, null);
            try { await api("DELETE", "/okap/account/passkeys/" + encodeURIComponent(p.id), { password: pw.value }); toast("Passkey removed."); await reload(); }
            catch (e) { pw.value = ""; showError(removeError, e); }
          }));
          confirmBox.hidden = false;
          pw.focus();
        });
        return h("li", { "data-passkey-id": p.id }, h("strong", null, p.name), " — added ", when(p.created_at),
          p.last_used_at ? h("span", { class: "muted" }, ", last used ", ago(p.last_used_at)) : h("span", { class: "muted" }, ", not used yet"), " ", remove, confirmBox);
      }))
      : empty(h("p", null, "No passkeys yet."));
    return section("Passkeys", h("p", { class: "hint" }, "A passkey signs you in with your device's lock (fingerprint, face or PIN) instead of a password, and cannot be phished. With one, your password alone no longer signs in."),
      supported ? null : notice("info", "This browser does not support passkeys."), list, form);
  }

  function recoverySection(sec, reload, shown) {
    const password = passwordPrompt("recovery-password");
    const error = errorBox();
    const form = onSubmit(h("form", { class: "stack", novalidate: true, id: "recovery-form" },
      field("Your password", password), error,
      h("div", { class: "actions" }, h("button", { type: "submit", class: "btn" }, "Make new recovery codes"))), async () => {
      showError(error, null);
      try {
        const r = await api("POST", "/okap/account/recovery-codes", { password: password.value });
        password.value = "";
        clear(shown); shown.append(recoveryCodesNotice(r.recovery_codes));
        await reload();
      } catch (e) { showError(error, e); }
    });
    return section("Recovery codes", h("p", { id: "recovery-left" }, sec.recovery_codes_left + " of 10 unused."), form);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Connect an app

  function viewConnect() {
    const url = state.session.vault_url;
    const python = [
      "from okap import OkapClient",
      "from openai import OpenAI",
      "",
      `client = OkapClient(vault_url="${url}", app_name="My AI App")`,
      "token = client.request_access(",
      '    provider="openai", models=["gpt-4o-mini"], capabilities=["chat"],',
      '    monthly_limit=10.00, reason="Summarise my notes")',
      "",
      "ai = OpenAI(api_key=token.token, base_url=token.base_url)",
    ].join("\n");
    const curl = [
      `curl -s ${url}/okap/authorize \\`,
      "  -H 'Content-Type: application/json' \\",
      `  -d '{"okap":"1.0","client":{"name":"My AI App"},`,
      `       "authorization_details":[{"type":"ai_model_access","provider":"openai",`,
      `       "models":["gpt-4o-mini"],"limits":{"monthly_spend":10}}]}'`,
    ].join("\n");
    view("Connect an app",
      section("Your vault URL",
        h("div", { class: "copy-row" }, h("code", { class: "vault-url", id: "vault-url" }, url), copyButton(url)),
        h("p", null, "Paste this into any app that supports OKAP (Open Key Access Protocol). The app never receives your provider key: it gets its own revocable ", h("code", null, "okap_…"), " token, and its calls go through this vault, which checks the limits you set and adds your key.")),
      section("What happens",
        h("ol", { class: "steps" },
          h("li", null, "The app sends an access request to ", h("code", null, url + "/okap/request"), " (Python SDK) or ", h("code", null, url + "/okap/authorize"), "."),
          h("li", null, "The request appears on your dashboard within seconds. You approve it as asked, approve it with tighter limits, or deny it."),
          h("li", null, "The app receives a token and a base URL such as ", h("code", null, url + "/v1/openai"), ", and calls the provider's API through the vault."),
          h("li", null, "You watch its spend here and can revoke the token at any time."))),
      section("From Python", h("div", { class: "code-block" }, h("pre", null, h("code", null, python)), copyButton(python))),
      section("From any HTTP client", h("div", { class: "code-block" }, h("pre", null, h("code", null, curl)), copyButton(curl)),
        h("p", { class: "hint" }, "The reply is 202 with a poll URL while you decide, then the token once you approve.")));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Start

  document.addEventListener("DOMContentLoaded", () => {
    $("#sign-out").addEventListener("click", signOut);
    window.addEventListener("hashchange", render);
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden && state.session && !state.pollTimer) startPolling();
    });
    render();
  });
})();
