// The Zoho panel: find an account in the sandbox and change it as a person would in Zoho; the server sends the
// webhook Zoho would send to the app. `api`: {post, toast, stages(), digests()}.
"use strict";

window.ZohoPanel = function (api) {
  const { el } = window.BlockKit;
  const { esc } = window.SlackText;
  const $ = (id) => document.getElementById(id);

  const money = (v, cur) => (v === null || v === undefined) ? "—"
    : `${cur ? cur + " " : ""}${Number(v).toLocaleString(undefined, { maximumFractionDigits: 2 })}`;

  async function zohoSearch() {
    const q = $("zoho-search").value;
    const reply = await fetch(`/console/api/zoho/accounts?q=${encodeURIComponent(q)}`);
    const answer = await reply.json();
    const box = $("zoho-results");
    box.innerHTML = "";
    if (!answer.accounts.length) box.appendChild(el("div", "muted pad", "No account matches."));
    answer.accounts.forEach((a, i) => box.appendChild(accountCard(a, i === 0 && q !== "")));
  }

  function logWebhook(answer) {
    const log = $("zoho-log");
    const ok = answer.ok !== false && answer.status && answer.status < 300;
    const item = el("li", ok ? "ok" : "bad",
      `<span class="log-status">${answer.status || "—"}</span> ${esc(answer.webhook || answer.error || "")}` +
      (answer.stored !== undefined ? ` <span class="muted">stored ${answer.stored}</span>` : ""));
    log.prepend(item);
    while (log.children.length > 8) log.lastChild.remove();
  }

  async function zohoAction(action, body, card) {
    const answer = await api.post(`/console/api/zoho/${action}`, body);
    if (answer.webhook || answer.status) logWebhook(answer);
    if (answer.account && card) card.replaceWith(accountCard(answer.account, true));
  }

  function accountCard(a, open) {
    const card = el("details", "zoho-card");
    card.open = open;
    card.dataset.accountId = a.id;
    card.appendChild(el("summary", "", `<b>${esc(a.name)}</b> <span class="muted">· ${esc(a.owner || "")}</span>`));
    const body = el("div", "zoho-card-body");
    const sec = (title) => body.appendChild(el("div", "zoho-sub-title", title));

    sec("Deals");
    for (const d of a.deals) {
      const row = el("div", "zoho-row");
      row.dataset.dealId = d.id;
      row.appendChild(el("div", "zoho-row-main", `${esc(d.name)}<div class="muted">${esc(d.stage)} · ${money(d.amount, d.currency)}</div>`));
      const stage = el("select", "zoho-select");
      stage.setAttribute("aria-label", `Stage of ${d.name}`);
      for (const s of api.stages()) { const o = el("option", "", esc(s)); o.value = s; stage.appendChild(o); }
      stage.value = d.stage;
      const move = el("button", "zoho-btn", "Move");
      move.type = "button";
      move.addEventListener("click", () => zohoAction("deal_stage", { deal_id: d.id, stage: stage.value, account_id: a.id }, card));
      const ctl = el("div", "zoho-ctl");
      ctl.append(stage, move);
      row.appendChild(ctl);
      body.appendChild(row);
    }
    if (!a.deals.length) body.appendChild(el("div", "muted", "No deals."));

    sec("Billing address");
    const missing = !a.billing.Billing_Street;
    const form = el("div", `zoho-billing${missing ? " missing" : ""}`);
    if (missing) form.appendChild(el("div", "zoho-missing", "Missing — finance needs it for the invoice"));
    const fields = {};
    for (const [key, label] of [["Billing_Street", "Street"], ["Billing_City", "City"], ["Billing_State", "State"], ["Billing_Code", "Postal code"], ["Billing_Country", "Country"]]) {
      const f = el("input", "zoho-input");
      f.placeholder = label;
      f.setAttribute("aria-label", `Billing ${label}`);
      f.value = a.billing[key] || "";
      fields[key] = f;
      form.appendChild(f);
    }
    const save = el("button", "zoho-btn", "Save address");
    save.type = "button";
    save.addEventListener("click", () => zohoAction("billing", { account_id: a.id,
      address: Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, f.value])) }, card));
    form.appendChild(save);
    body.appendChild(form);

    sec("Invoices");
    for (const inv of a.invoices) {
      const row = el("div", "zoho-row");
      row.dataset.invoiceId = inv.id;
      row.appendChild(el("div", "zoho-row-main", `${esc(inv.number)} <span class="pill pill-${esc(inv.status)}">${esc(inv.status)}</span>` +
        `<div class="muted">${money(inv.total, inv.currency)} · due ${esc(inv.due_date || "—")}</div>`));
      const ctl = el("div", "zoho-ctl");
      if (!["paid", "void", "draft"].includes(inv.status)) {
        if (inv.status !== "overdue") {
          const od = el("button", "zoho-btn", "Mark overdue");
          od.type = "button";
          od.addEventListener("click", () => zohoAction("invoice", { invoice_id: inv.id, status: "overdue", account_id: a.id }, card));
          ctl.appendChild(od);
        }
        const paid = el("button", "zoho-btn", "Mark paid");
        paid.type = "button";
        paid.addEventListener("click", () => zohoAction("invoice", { invoice_id: inv.id, status: "paid", account_id: a.id }, card));
        ctl.appendChild(paid);
      }
      row.appendChild(ctl);
      body.appendChild(row);
    }
    if (!a.invoices.length) body.appendChild(el("div", "muted", "No invoices in Books."));

    sec("Tickets");
    for (const t of a.tickets) {
      const row = el("div", "zoho-row");
      row.dataset.ticketId = t.id;
      row.appendChild(el("div", "zoho-row-main", `#${esc(t.number)} ${esc(t.subject)}<div class="muted">${esc(t.status)}${t.escalated ? " · escalated" : ""}</div>`));
      const ctl = el("div", "zoho-ctl");
      if (!t.escalated && t.status !== "Closed") {
        const up = el("button", "zoho-btn", "Escalate");
        up.type = "button";
        up.addEventListener("click", () => zohoAction("ticket_escalate", { ticket_id: t.id, account_id: a.id }, card));
        ctl.appendChild(up);
      }
      row.appendChild(ctl);
      body.appendChild(row);
    }
    if (a.desk_account) {
      const open = el("div", "zoho-open-ticket");
      const subject = el("input", "zoho-input");
      subject.placeholder = "New ticket subject";
      subject.setAttribute("aria-label", "New ticket subject");
      const go = el("button", "zoho-btn", "Open ticket");
      go.type = "button";
      go.addEventListener("click", () => zohoAction("ticket_open", { account_id: a.id, subject: subject.value }, card));
      open.append(subject, go);
      body.appendChild(open);
    } else {
      body.appendChild(el("div", "muted", "No Desk account."));
    }
    card.appendChild(body);
    return card;
  }

  function renderDigests() {
    const box = $("digests");
    if (box.dataset.built) return;
    box.dataset.built = "1";
    for (const team of api.digests() || []) {
      const b = el("button", "zoho-btn", `Send ${esc(team)} digest now`);
      b.type = "button";
      b.addEventListener("click", async () => {
        const answer = await api.post("/console/api/digest", { team });
        if (answer.summary) api.toast(answer.summary);
      });
      box.appendChild(b);
    }
  }

  return { search: zohoSearch, renderDigests };
};
