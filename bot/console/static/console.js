// The console page: sidebar, conversations, threads, modals, the Home tab, the composer and the Zoho panel.
// Everything a person does goes to /console/api/*, where it becomes what Slack (or Zoho) would send the app.
"use strict";

(function () {
  const { render, values, el } = window.BlockKit;
  const { mrkdwn, esc } = window.SlackText;
  const $ = (id) => document.getElementById(id);

  const S = {
    state: null, user: "", where: "", appTab: "home", thread: null, seen: {}, renderedModal: "",
    pending: null, suggest: [], suggestIndex: 0,
  };

  // ---- talking to the server ---------------------------------------------------------------------------

  async function post(path, body) {
    const reply = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" },
                                      body: JSON.stringify(body) });
    let answer = {};
    try { answer = await reply.json(); } catch (e) { answer = { ok: false, error: `HTTP ${reply.status}` }; }
    if (!reply.ok && !answer.errors) toast(answer.error || `HTTP ${reply.status}`);
    return answer;
  }

  function toast(text) {
    const t = $("toast");
    t.textContent = text;
    t.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { t.hidden = true; }, 5000);
  }

  async function refresh() {
    const reply = await fetch("/console/api/state");
    S.state = await reply.json();
    if (!S.user) S.user = localStorage.getItem("tl-user") || S.state.starter;
    if (!S.state.users.find((u) => u.id === S.user)) S.user = S.state.starter;
    if (!S.where) S.where = S.state.channels.finance ? `channel:${S.state.channels.sales}` : "app";
    renderAll();
  }

  let refreshTimer = null;
  function scheduleRefresh() {
    if (refreshTimer) return;
    refreshTimer = setTimeout(async () => { refreshTimer = null; await refresh(); }, 40);
  }

  function listen() {
    const source = new EventSource("/console/api/stream");
    source.onmessage = (e) => {
      const event = JSON.parse(e.data);
      if (event.type === "api_error") {
        toast(`Slack refused ${event.method}: ${event.error}${event.messages.length ? " — " + event.messages[0] : ""}`);
        return;
      }
      scheduleRefresh();
    };
    source.onopen = () => { document.body.dataset.live = "1"; scheduleRefresh(); };
    source.onerror = () => { document.body.dataset.live = ""; };
  }

  // ---- the workspace -----------------------------------------------------------------------------------

  function directory() {
    const users = {};
    const conversations = {};
    for (const u of S.state.users) users[u.id] = u;
    for (const c of S.state.conversations) conversations[c.id] = c;
    return { users, conversations };
  }

  const dmId = (user) => "D" + user.slice(1);
  const me = () => S.state.users.find((u) => u.id === S.user);
  const visible = (m) => !m.ephemeral_for || m.ephemeral_for === S.user;

  function messagesOf(channel) {
    return (S.state.messages[channel] || []).filter(visible);
  }

  function currentChannel() {
    if (S.where === "app") return S.appTab === "messages" ? dmId(S.user) : "";
    return S.where.startsWith("channel:") ? S.where.slice(8) : "";
  }

  // ---- sidebar -----------------------------------------------------------------------------------------

  function renderPicker() {
    const picker = $("acting-as");
    const byId = Object.fromEntries(S.state.users.map((u) => [u.id, u]));
    const wanted = S.state.picker.map((id) => `${id}`).join(",");
    if (picker.dataset.built !== wanted) {
      picker.innerHTML = "";
      for (const id of S.state.picker) {
        const u = byId[id];
        const opt = el("option", "", `${esc(u.name)} — ${esc(u.role || u.title)}`);
        opt.value = id;
        picker.appendChild(opt);
      }
      picker.dataset.built = wanted;
    }
    picker.value = S.user;
  }

  function unread(channel) {
    const top = messagesOf(channel).filter((m) => !m.thread_ts || m.thread_ts === m.ts);
    const seen = S.seen[`${S.user}:${channel}`];
    if (seen === undefined) { S.seen[`${S.user}:${channel}`] = top.length; return 0; }
    return Math.max(0, top.length - seen);
  }

  function navItem(label, key, count, icon) {
    const a = el("button", `nav-item${S.where === key ? " active" : ""}${count ? " unread" : ""}`);
    a.type = "button";
    a.dataset.nav = key;
    a.innerHTML = `<span class="nav-icon">${icon}</span><span class="nav-label">${label}</span>` +
      (count ? `<span class="badge">${count}</span>` : "");
    a.addEventListener("click", () => go(key));
    return a;
  }

  function renderNav() {
    const nav = $("nav");
    nav.innerHTML = "";
    nav.appendChild(el("div", "nav-section", "Apps"));
    const dm = dmId(S.user);
    nav.appendChild(navItem("Throughline", "app", S.where === "app" ? 0 : unread(dm), '<span class="app-icon">T</span>'));
    nav.appendChild(el("div", "nav-section", "Channels"));
    const byTeam = S.state.channels;
    const convs = S.state.conversations.filter((c) => !c.is_im);
    const order = Object.values(byTeam);
    convs.sort((a, b) => order.indexOf(a.id) - order.indexOf(b.id));
    for (const c of convs) {
      const key = `channel:${c.id}`;
      nav.appendChild(navItem(esc(c.name), key, S.where === key ? 0 : unread(c.id), "#"));
    }
    nav.appendChild(el("div", "nav-section", "Direct messages"));
    nav.appendChild(navItem("Throughline <span class=\"app-tag\">APP</span>", "app-dm", 0, '<span class="presence"></span>'));
  }

  function go(key) {
    if (key === "app-dm") { S.where = "app"; S.appTab = "messages"; }
    else S.where = key;
    S.thread = null;
    if (S.where === "app" && S.appTab === "home") post("/console/api/home", { user: S.user });
    renderAll(true);
  }

  // ---- messages ----------------------------------------------------------------------------------------

  function avatar(user) {
    if (!user) return el("div", "avatar", "?");
    if (user.is_bot) return el("div", "avatar bot", "T");
    const initials = user.name.split(" ").map((p) => p[0]).join("").slice(0, 2);
    const hue = [...user.id].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 360, 7);
    const a = el("div", "avatar", esc(initials));
    a.style.background = `hsl(${hue} 45% 42%)`;
    return a;
  }

  function time(ts) {
    const d = new Date(Number(ts.split(".")[0]) * 1000);
    return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function actContext(source, dir, attachment) {
    return {
      directory: dir, attachment,
      confirm: confirmDialog,
      act: (path, element, selected) => post("/console/api/act", { user: S.user, source, path, selected })
        .then((a) => { if (a && a.ok === false && a.error) toast(a.error); }),
    };
  }

  function messageNode(m, dir, inThread) {
    const user = dir.users[m.user];
    const node = el("div", `msg${m.ephemeral_for ? " ephemeral" : ""}`);
    node.dataset.ts = m.ts;
    node.dataset.channel = m.channel;
    node.appendChild(m.user === "USLACKBOT" ? el("div", "avatar slackbot", "✱") : avatar(user));
    const body = el("div", "msg-body");
    const name = m.user === "USLACKBOT" ? "Slackbot" : (user ? user.name : m.user);
    body.appendChild(el("div", "msg-head",
      `<span class="msg-name">${esc(name)}</span>${user && user.is_bot ? '<span class="app-tag">APP</span>' : ""}` +
      `<span class="msg-time">${time(m.ts)}</span>${m.edited ? '<span class="msg-edited">(edited)</span>' : ""}`));
    const source = { kind: "message", channel: m.channel, ts: m.ts };
    if (m.blocks && m.blocks.length) body.appendChild(render(m.blocks, actContext(source, dir)));
    else if (m.text) body.appendChild(el("div", "msg-text", mrkdwn(m.text, dir)));
    (m.attachments || []).forEach((a, i) => {
      const att = el("div", "attachment");
      if (a.color) att.style.borderLeftColor = a.color.startsWith("#") ? a.color : `#${a.color}`;
      if (a.blocks) att.appendChild(render(a.blocks, actContext(source, dir, i)));
      else if (a.text || a.fallback) att.appendChild(el("div", "msg-text", mrkdwn(a.text || a.fallback, dir)));
      body.appendChild(att);
    });
    for (const f of m.files || []) {
      const box = el("div", "file");
      if ((f.mimetype || "").startsWith("image/")) {
        box.appendChild(el("div", "file-title", esc(f.title || f.name)));
        const img = el("img", "file-image");
        img.src = `/console/files/${encodeURIComponent(f.id)}`;
        img.alt = f.alt_txt || f.title || f.name;
        box.appendChild(img);
      } else {
        box.innerHTML = `<span class="file-icon">📄</span><a href="/console/files/${encodeURIComponent(f.id)}" target="_blank">${esc(f.title || f.name)}</a>`;
      }
      body.appendChild(box);
    }
    if (m.ephemeral_for) {
      const note = el("div", "ephemeral-note", '<span class="eye">👁</span> Only visible to you');
      const dismiss = el("button", "dismiss", "Dismiss");
      dismiss.type = "button";
      dismiss.addEventListener("click", () => node.remove());
      note.appendChild(dismiss);
      body.appendChild(note);
    }
    if (!inThread && !m.ephemeral_for) {
      const replies = (S.state.messages[m.channel] || []).filter((r) => r.thread_ts === m.ts && r.ts !== m.ts && visible(r));
      if (replies.length) {
        const link = el("button", "replies", `<span class="replies-count">${replies.length} ${replies.length === 1 ? "reply" : "replies"}</span> <span class="replies-last">Last reply ${time(replies[replies.length - 1].ts)}</span>`);
        link.type = "button";
        link.addEventListener("click", () => { S.thread = { channel: m.channel, ts: m.ts }; renderThread(); });
        body.appendChild(link);
      }
      const reply = el("button", "reply-action", "💬 Reply in thread");
      reply.type = "button";
      reply.addEventListener("click", () => { S.thread = { channel: m.channel, ts: m.ts }; renderThread(); });
      node.appendChild(body);
      node.appendChild(reply);
      return node;
    }
    node.appendChild(body);
    return node;
  }

  function renderMessages(scrollToEnd) {
    const box = $("messages");
    const nearEnd = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
    const dir = directory();
    box.innerHTML = "";
    box.classList.remove("home");
    const channel = currentChannel();
    if (S.where === "app" && S.appTab === "home") return renderHome(box, dir);
    const top = messagesOf(channel).filter((m) => !m.thread_ts || m.thread_ts === m.ts);
    S.seen[`${S.user}:${channel}`] = top.length;
    const conv = dir.conversations[channel];
    const intro = el("div", "intro");
    if (S.where === "app") {
      intro.innerHTML = `<div class="intro-title"><span class="app-icon big">T</span> Throughline</div>` +
        `<div class="intro-text">Your direct messages with the app: notices about your accounts, and answers to dialogs.</div>`;
    } else if (conv) {
      intro.innerHTML = `<div class="intro-title"># ${esc(conv.name)}</div><div class="intro-text">This is the start of ` +
        `<b>#${esc(conv.name)}</b>. Throughline posts here as configured in <code>[channels]</code>.</div>` +
        (top.length ? "" : `<div class="intro-tip">Try <code>/account northwind</code>, or move a deal to Closed Won ` +
          `in the Zoho panel on the right; pick who you are under <b>Acting as</b>.</div>`);
    }
    box.appendChild(intro);
    let day = "";
    for (const m of top) {
      const d = new Date(Number(m.ts.split(".")[0]) * 1000).toDateString();
      if (d !== day) { box.appendChild(el("div", "day", `<span>${d === new Date().toDateString() ? "Today" : esc(d)}</span>`)); day = d; }
      box.appendChild(messageNode(m, dir, false));
    }
    if (scrollToEnd || nearEnd) box.scrollTop = box.scrollHeight;
  }

  function renderHome(box, dir) {
    box.classList.add("home");
    const home = S.state.homes[S.user];
    if (!home) {
      box.appendChild(el("div", "home-empty", "Opening the Home tab… (the app answers <code>app_home_opened</code> with <code>views.publish</code>)"));
      return;
    }
    const ctx = actContext({ kind: "home" }, dir);
    const wrap = el("div", "home-view");
    wrap.appendChild(render(home.blocks, ctx));
    box.appendChild(wrap);
  }

  function renderHeader() {
    const head = $("pane-header");
    const tabs = $("app-tabs");
    const dir = directory();
    if (S.where === "app") {
      head.innerHTML = `<span class="app-icon">T</span> <b>Throughline</b>`;
      tabs.hidden = false;
      tabs.querySelectorAll(".tab").forEach((t) => t.classList.toggle("active", t.dataset.tab === S.appTab));
    } else {
      const conv = dir.conversations[currentChannel()];
      head.innerHTML = `<b># ${esc(conv ? conv.name : "")}</b>`;
      tabs.hidden = true;
    }
    const composer = $("composer");
    composer.hidden = S.where === "app" && S.appTab === "home";
    const input = $("composer-input");
    input.placeholder = S.where === "app" ? "Slash commands only: the app's Messages tab is read-only"
      : `Message #${conv_name(dir)}`;
  }
  const conv_name = (dir) => { const c = dir.conversations[currentChannel()]; return c ? c.name : ""; };

  // ---- threads -----------------------------------------------------------------------------------------

  function renderThread() {
    const pane = $("thread");
    if (!S.thread) { pane.hidden = true; pane.innerHTML = ""; return; }
    const dir = directory();
    const all = S.state.messages[S.thread.channel] || [];
    const parent = all.find((m) => m.ts === S.thread.ts);
    if (!parent) { S.thread = null; pane.hidden = true; return; }
    pane.hidden = false;
    const keep = pane.querySelector("textarea") ? pane.querySelector("textarea").value : "";
    pane.innerHTML = "";
    const conv = dir.conversations[S.thread.channel];
    const head = el("div", "thread-head", `<b>Thread</b> <span class="muted">${conv && !conv.is_im ? "#" + esc(conv.name) : ""}</span>`);
    const close = el("button", "close", "✕");
    close.type = "button";
    close.setAttribute("aria-label", "Close thread");
    close.addEventListener("click", () => { S.thread = null; renderThread(); });
    head.appendChild(close);
    pane.appendChild(head);
    const list = el("div", "thread-list");
    list.appendChild(messageNode(parent, dir, true));
    const replies = all.filter((m) => m.thread_ts === parent.ts && m.ts !== parent.ts && visible(m));
    list.appendChild(el("div", "thread-count", `${replies.length} ${replies.length === 1 ? "reply" : "replies"}`));
    for (const r of replies) list.appendChild(messageNode(r, dir, true));
    pane.appendChild(list);
    const box = el("div", "composer-box thread-composer");
    const input = el("textarea");
    input.rows = 1;
    input.placeholder = "Reply…";
    input.value = keep;
    const send = el("button", "send", "➤");
    send.type = "button";
    const go = async () => {
      const text = input.value.trim();
      if (!text) return;
      input.value = "";
      await post("/console/api/compose", { user: S.user, channel: S.thread.channel, text, thread_ts: S.thread.ts });
    };
    input.addEventListener("keydown", (e) => { if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); go(); } });
    send.addEventListener("click", go);
    box.append(input, send);
    pane.appendChild(box);
  }

  // ---- modals and confirm dialogs ----------------------------------------------------------------------

  function confirmDialog(c) {
    return new Promise((resolve) => {
      const back = $("confirm-backdrop");
      back.innerHTML = "";
      const dir = directory();
      const box = el("div", "dialog confirm", "");
      box.setAttribute("role", "dialog");
      box.appendChild(el("div", "dialog-title", window.SlackText.plainText(c.title)));
      box.appendChild(el("div", "dialog-body", window.SlackText.textObject(c.text, dir)));
      const foot = el("div", "dialog-foot");
      const deny = el("button", "bk-button", window.SlackText.plainText(c.deny) || "Cancel");
      const ok = el("button", `bk-button ${c.style === "danger" ? "bk-danger" : "bk-primary"}`,
        window.SlackText.plainText(c.confirm) || "Yes");
      deny.type = ok.type = "button";
      const done = (v) => { back.hidden = true; back.innerHTML = ""; resolve(v); };
      deny.addEventListener("click", () => done(false));
      ok.addEventListener("click", () => done(true));
      foot.append(deny, ok);
      box.appendChild(foot);
      back.appendChild(box);
      back.hidden = false;
      ok.focus();
    });
  }

  function renderModal(force) {
    const back = $("modal-backdrop");
    const stack = (S.state.views || {})[S.user] || [];
    const view = stack[stack.length - 1];
    const key = view ? `${view.id}:${view.hash}:${S.user}` : "";
    if (key === S.renderedModal && !force) return;
    S.renderedModal = key;
    back.innerHTML = "";
    if (!view) { back.hidden = true; return; }
    back.hidden = false;
    back.appendChild(modalNode(view, {}));
  }

  function modalNode(view, errors) {
    const dir = directory();
    const box = el("div", "dialog modal");
    box.setAttribute("role", "dialog");
    box.dataset.viewId = view.id;
    const head = el("div", "dialog-head", `<span class="app-icon">T</span><span class="dialog-title">${window.SlackText.plainText(view.title)}</span>`);
    const x = el("button", "close", "✕");
    x.type = "button";
    x.setAttribute("aria-label", "Close");
    x.addEventListener("click", () => post("/console/api/close", { user: S.user, view_id: view.id }));
    head.appendChild(x);
    const body = el("div", "dialog-body");
    const ctx = actContext({ kind: "view", view_id: view.id }, dir);
    ctx.errors = errors;
    body.appendChild(render(view.blocks, ctx));
    const banner = el("div", "dialog-error");
    banner.hidden = true;
    const foot = el("div", "dialog-foot");
    const close = el("button", "bk-button", window.SlackText.plainText(view.close) || "Cancel");
    close.type = "button";
    close.addEventListener("click", () => post("/console/api/close", { user: S.user, view_id: view.id }));
    foot.appendChild(close);
    if (view.submit) {
      const submit = el("button", "bk-button bk-primary", window.SlackText.plainText(view.submit));
      submit.type = "button";
      submit.addEventListener("click", async () => {
        const { values: state, missing } = values(body, view);
        if (missing.length) {
          const errs = Object.fromEntries(missing.map((b) => [b, "Please complete this required field."]));
          return showErrors(box, view, errs, state);
        }
        submit.disabled = true;
        submit.classList.add("bk-busy");
        const answer = await post("/console/api/submit", { user: S.user, view_id: view.id, values: state });
        submit.disabled = false;
        submit.classList.remove("bk-busy");
        if (answer.errors) return showErrors(box, view, answer.errors, state);
        if (answer.ok === false && answer.error) { banner.textContent = answer.error; banner.hidden = false; }
      });
      foot.appendChild(submit);
    }
    box.append(head, body, banner, foot);
    return box;
  }

  // response_action: errors — each message under its field; what the person typed stays.
  function showErrors(box, view, errors, state) {
    box.querySelectorAll(".bk-input").forEach((node) => {
      node.classList.remove("bk-has-error");
      const old = node.querySelector(".bk-error");
      if (old) old.remove();
      const message = errors[node.dataset.blockId];
      if (message) {
        node.classList.add("bk-has-error");
        node.appendChild(el("div", "bk-error", esc(message)));
      }
    });
    const first = box.querySelector(".bk-has-error");
    if (first) first.scrollIntoView({ block: "center" });
    void state;
  }

  // ---- composer ----------------------------------------------------------------------------------------

  function setupComposer() {
    const input = $("composer-input");
    const suggest = $("suggest");
    const send = async () => {
      const text = input.value.trim();
      if (!text) return;
      input.value = "";
      hideSuggest();
      const channel = currentChannel();
      await post("/console/api/compose", { user: S.user, channel, text });
    };
    const hideSuggest = () => { suggest.hidden = true; S.suggest = []; };
    const showSuggest = () => {
      const v = input.value;
      if (!v.startsWith("/") || v.includes(" ")) return hideSuggest();
      S.suggest = S.state.commands.filter((c) => c.command.startsWith(v));
      if (!S.suggest.length) return hideSuggest();
      S.suggestIndex = Math.min(S.suggestIndex, S.suggest.length - 1);
      suggest.innerHTML = `<div class="suggest-head">Commands · Throughline</div>`;
      S.suggest.forEach((c, i) => {
        const row = el("button", `suggest-row${i === S.suggestIndex ? " active" : ""}`,
          `<span class="app-icon small">T</span><span class="suggest-cmd">${esc(c.command)}</span> ` +
          `<span class="suggest-hint">${esc(c.usage_hint)}</span><span class="suggest-desc">${esc(c.description)}</span>`);
        row.type = "button";
        row.addEventListener("mousedown", (e) => { e.preventDefault(); pick(i); });
        suggest.appendChild(row);
      });
      suggest.hidden = false;
    };
    const pick = (i) => { input.value = S.suggest[i].command + " "; hideSuggest(); input.focus(); };
    input.addEventListener("input", () => { S.suggestIndex = 0; showSuggest(); autosize(input); });
    input.addEventListener("keydown", (e) => {
      if (!suggest.hidden && S.suggest.length) {
        if (e.key === "ArrowDown") { e.preventDefault(); S.suggestIndex = (S.suggestIndex + 1) % S.suggest.length; showSuggest(); return; }
        if (e.key === "ArrowUp") { e.preventDefault(); S.suggestIndex = (S.suggestIndex + S.suggest.length - 1) % S.suggest.length; showSuggest(); return; }
        if (e.key === "Tab" || (e.key === "Enter" && input.value.trim() !== S.suggest[S.suggestIndex].command)) {
          e.preventDefault(); pick(S.suggestIndex); return;
        }
        if (e.key === "Escape") { hideSuggest(); return; }
      }
      if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); send(); autosize(input); }
    });
    input.addEventListener("blur", () => setTimeout(hideSuggest, 150));
    $("send").addEventListener("click", send);
  }

  function autosize(t) { t.style.height = "auto"; t.style.height = Math.min(t.scrollHeight, 160) + "px"; }

  // ---- everything --------------------------------------------------------------------------------------

  function renderAll(scrollToEnd) {
    renderPicker();
    renderHeader();
    renderNav();
    renderMessages(scrollToEnd);
    renderThread();
    renderModal();
    zoho.renderDigests();
    document.body.dataset.user = S.user;
    document.body.dataset.where = S.where === "app" ? `app:${S.appTab}` : S.where;
  }

  const zoho = window.ZohoPanel({ post, toast, stages: () => S.state.stages, digests: () => S.state.digests });

  function start() {
    $("acting-as").addEventListener("change", (e) => {
      S.user = e.target.value;
      localStorage.setItem("tl-user", S.user);
      S.thread = null;
      if (S.where === "app" && S.appTab === "home") post("/console/api/home", { user: S.user });
      renderAll(true);
      renderModal(true);
    });
    document.querySelectorAll("#app-tabs .tab").forEach((t) => t.addEventListener("click", () => {
      S.appTab = t.dataset.tab;
      if (S.appTab === "home") post("/console/api/home", { user: S.user });
      renderAll(true);
    }));
    setupComposer();
    let searchTimer = null;
    $("zoho-refresh").addEventListener("click", () => zoho.search());
    $("zoho-search").addEventListener("input", () => { clearTimeout(searchTimer); searchTimer = setTimeout(zoho.search, 200); });
    refresh().then(() => { listen(); zoho.search(); document.body.dataset.ready = "1"; });
  }

  start();
})();
