// Block Kit → DOM, faithful enough that a Block Kit mistake shows. `ctx`:
//   directory  {users, conversations} for mentions
//   act(path, element, selected)   an interactive element was used (path: {block, action_id, attachment?})
//   confirm(confirmObject) → Promise<boolean>   Slack's confirm dialog
//   errors     {block_id: message} for inputs (modals)
//   attachment index when rendering an unfurl's blocks
"use strict";

(function () {
  const { textObject, plainText, esc, mrkdwn } = window.SlackText;

  function el(tag, cls, html) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (html !== undefined) node.innerHTML = html;
    return node;
  }

  function problem(what) {
    return el("div", "bk-invalid", `⚠ ${esc(what)}`);
  }

  function pathFor(ctx, index, element) {
    const path = { block: index, action_id: element.action_id };
    if (ctx.attachment !== undefined) path.attachment = ctx.attachment;
    return path;
  }

  async function fire(ctx, index, element, selected) {
    if (element.confirm && !(await ctx.confirm(element.confirm))) return false;
    ctx.act(pathFor(ctx, index, element), element, selected || {});
    return true;
  }

  function button(element, index, ctx) {
    const b = el("button", `bk-button ${element.style ? "bk-" + element.style : ""}`, plainText(element.text));
    b.type = "button";
    b.dataset.actionId = element.action_id || "";
    if (element.accessibility_label) b.setAttribute("aria-label", element.accessibility_label);
    b.addEventListener("click", async () => {
      if (b.disabled) return;
      if (element.url && (!element.confirm || await ctx.confirm(element.confirm))) {
        window.open(element.url, "_blank", "noopener");
        ctx.act(pathFor(ctx, index, element), element, {});
        return;
      }
      b.disabled = true;
      b.classList.add("bk-busy");
      try { await fire(ctx, index, element); } finally {
        setTimeout(() => { b.disabled = false; b.classList.remove("bk-busy"); }, 600);
      }
    });
    return b;
  }

  function options(element) {
    const all = [...(element.options || [])];
    for (const g of element.option_groups || []) all.push(...(g.options || []));
    return all;
  }

  function select(element, index, ctx, input) {
    const s = el("select", "bk-select");
    s.dataset.actionId = element.action_id || "";
    const ph = el("option", "", plainText(element.placeholder) || "Select an item");
    ph.value = "";
    s.appendChild(ph);
    for (const o of options(element)) {
      const opt = el("option", "", plainText(o.text));
      opt.value = o.value;
      s.appendChild(opt);
    }
    if (element.initial_option) s.value = element.initial_option.value;
    if (input) return s;
    s.addEventListener("change", async () => {
      if (!s.value) return;
      const previous = element.initial_option ? element.initial_option.value : "";
      if (!(await fire(ctx, index, element, { value: s.value }))) s.value = previous;
    });
    return s;
  }

  document.addEventListener("click", (e) => {  // a click elsewhere closes any open overflow menu
    document.querySelectorAll(".bk-overflow").forEach((o) => {
      if (!o.contains(e.target)) o.querySelector(".bk-menu").hidden = true;
    });
  });

  function overflow(element, index, ctx) {
    const wrap = el("div", "bk-overflow");
    const b = el("button", "bk-button bk-overflow-button", "⋯");
    b.type = "button";
    b.setAttribute("aria-label", "More actions");
    const menu = el("div", "bk-menu");
    menu.hidden = true;
    for (const o of options(element)) {
      const item = el("button", "bk-menu-item", plainText(o.text));
      item.type = "button";
      item.addEventListener("click", async () => {
        menu.hidden = true;
        if (o.url) window.open(o.url, "_blank", "noopener");
        await fire(ctx, index, element, { value: o.value });
      });
      menu.appendChild(item);
    }
    b.addEventListener("click", () => { menu.hidden = !menu.hidden; });
    wrap.append(b, menu);
    return wrap;
  }

  function datepicker(element, index, ctx, input) {
    const d = el("input", "bk-date");
    d.type = "date";
    d.dataset.actionId = element.action_id || "";
    if (element.initial_date) d.value = element.initial_date;
    if (!input) d.addEventListener("change", () => fire(ctx, index, element, { date: d.value }));
    return d;
  }

  function image(element, cls) {
    const img = el("img", cls);
    img.src = element.image_url || "";
    img.alt = element.alt_text || "";
    img.loading = "lazy";
    return img;
  }

  function choices(element, kind) {
    const wrap = el("div", "bk-choices");
    const name = `c${Math.random().toString(36).slice(2)}`;
    const initial = kind === "radio" ? [element.initial_option?.value]
      : (element.initial_options || []).map((o) => o.value);
    for (const o of options(element)) {
      const label = el("label", "bk-choice");
      const box = el("input");
      box.type = kind === "radio" ? "radio" : "checkbox";
      box.name = name;
      box.value = o.value;
      box.checked = initial.includes(o.value);
      label.append(box, el("span", "", plainText(o.text)));
      if (o.description) label.append(el("span", "bk-choice-desc", textObject(o.description, {})));
      wrap.appendChild(label);
    }
    return wrap;
  }

  function element(elem, index, ctx, input) {
    switch (elem.type) {
      case "button": return button(elem, index, ctx);
      case "static_select": case "external_select": case "users_select": case "conversations_select":
      case "channels_select": return select(elem, index, ctx, input);
      case "overflow": return overflow(elem, index, ctx);
      case "datepicker": return datepicker(elem, index, ctx, input);
      case "image": return image(elem, "bk-accessory-image");
      case "radio_buttons": return choices(elem, "radio");
      case "checkboxes": return choices(elem, "check");
      case "plain_text_input": {
        const f = el(elem.multiline ? "textarea" : "input", "bk-text-input");
        if (!elem.multiline) f.type = "text";
        if (elem.initial_value) f.value = elem.initial_value;
        if (elem.placeholder) f.placeholder = elem.placeholder.text;
        if (elem.max_length) f.maxLength = elem.max_length;
        if (elem.multiline) f.rows = 4;
        return f;
      }
      default: return problem(`unsupported element "${elem.type}"`);
    }
  }

  function richText(block, ctx) {
    const wrap = el("div", "bk-rich");
    const inline = (items) => (items || []).map((it) => {
      let html;
      switch (it.type) {
        case "text": html = esc(it.text).replace(/\n/g, "<br>"); break;
        case "link": html = `<a href="${esc(it.url)}" target="_blank" rel="noopener">${esc(it.text || it.url)}</a>`; break;
        case "user": html = mrkdwn(`<@${it.user_id}>`, ctx.directory); break;
        case "channel": html = mrkdwn(`<#${it.channel_id}>`, ctx.directory); break;
        case "emoji": html = window.SlackText.emojify(`:${it.name}:`); break;
        default: html = "";
      }
      const st = it.style || {};
      if (st.code) html = `<code>${html}</code>`;
      if (st.bold) html = `<b>${html}</b>`;
      if (st.italic) html = `<i>${html}</i>`;
      if (st.strike) html = `<s>${html}</s>`;
      return html;
    }).join("");
    for (const part of block.elements || []) {
      if (part.type === "rich_text_section") wrap.appendChild(el("div", "", inline(part.elements)));
      else if (part.type === "rich_text_preformatted") wrap.appendChild(el("pre", "code-block", inline(part.elements)));
      else if (part.type === "rich_text_quote") wrap.appendChild(el("blockquote", "", inline(part.elements)));
      else if (part.type === "rich_text_list") {
        const list = el(part.style === "ordered" ? "ol" : "ul", "");
        for (const item of part.elements || []) list.appendChild(el("li", "", inline(item.elements)));
        wrap.appendChild(list);
      }
    }
    return wrap;
  }

  function block(b, index, ctx) {
    const node = el("div", `bk-block bk-${b.type || "unknown"}`);
    node.dataset.blockId = b.block_id || `b${index}`;
    switch (b.type) {
      case "header": node.innerHTML = plainText(b.text); break;
      case "divider": node.appendChild(el("hr")); break;
      case "section": {
        const main = el("div", "bk-section-main");
        if (b.text) main.appendChild(el("div", "bk-text", textObject(b.text, ctx.directory)));
        if (b.fields && b.fields.length) {
          const grid = el("div", "bk-fields");
          for (const f of b.fields) grid.appendChild(el("div", "bk-field", textObject(f, ctx.directory)));
          main.appendChild(grid);
        }
        node.appendChild(main);
        if (b.accessory) {
          const acc = el("div", "bk-accessory");
          acc.appendChild(element(b.accessory, index, ctx, false));
          node.appendChild(acc);
        }
        break;
      }
      case "context":
        for (const e of b.elements || []) {
          node.appendChild(e.type === "image" ? image(e, "bk-context-image")
            : el("span", "bk-context-text", textObject(e, ctx.directory)));
        }
        break;
      case "actions":
        for (const e of b.elements || []) node.appendChild(element(e, index, ctx, false));
        break;
      case "image":
        if (b.title) node.appendChild(el("div", "bk-image-title", plainText(b.title)));
        node.appendChild(image(b, "bk-image"));
        break;
      case "rich_text": node.appendChild(richText(b, ctx)); break;
      case "input": {
        const label = el("label", "bk-label", plainText(b.label) + (b.optional ? ' <span class="bk-optional">(optional)</span>' : ""));
        const field = element(b.element || {}, index, ctx, true);
        field.classList.add("bk-input-element");
        node.dataset.inputType = (b.element || {}).type || "";
        node.dataset.actionId = (b.element || {}).action_id || "";
        node.dataset.optional = b.optional ? "1" : "";
        node.append(label, field);
        if (b.hint) node.appendChild(el("div", "bk-hint", plainText(b.hint)));
        const error = (ctx.errors || {})[b.block_id];
        if (error) { node.classList.add("bk-has-error"); node.appendChild(el("div", "bk-error", esc(error))); }
        break;
      }
      case "markdown": node.innerHTML = mrkdwn(b.text, ctx.directory); break;
      default: node.appendChild(problem(`unsupported block type "${b.type}"`));
    }
    return node;
  }

  function render(blocks, ctx) {
    const wrap = el("div", "bk");
    (blocks || []).forEach((b, i) => wrap.appendChild(block(b, i, ctx)));
    return wrap;
  }

  // The state.values of a modal's inputs, in Slack's shape.
  function values(container, view) {
    const out = {};
    const missing = [];
    container.querySelectorAll(".bk-input").forEach((node) => {
      const blockId = node.dataset.blockId;
      const actionId = node.dataset.actionId;
      const kind = node.dataset.inputType;
      const spec = ((view.blocks || []).find((b, i) => (b.block_id || `b${i}`) === blockId) || {}).element || {};
      const opts = options(spec);
      let value;
      let empty = false;
      if (kind === "plain_text_input") {
        const v = node.querySelector(".bk-text-input").value;
        value = { type: kind, value: v === "" ? null : v };
        empty = v.trim() === "";
      } else if (kind === "static_select") {
        const v = node.querySelector("select").value;
        value = { type: kind, selected_option: opts.find((o) => o.value === v) || null };
        empty = !v;
      } else if (kind === "radio_buttons") {
        const c = node.querySelector("input:checked");
        value = { type: kind, selected_option: c ? opts.find((o) => o.value === c.value) || null : null };
        empty = !c;
      } else if (kind === "checkboxes") {
        const vs = [...node.querySelectorAll("input:checked")].map((c) => c.value);
        value = { type: kind, selected_options: opts.filter((o) => vs.includes(o.value)) };
        empty = vs.length === 0;
      } else if (kind === "datepicker") {
        const v = node.querySelector("input").value;
        value = { type: kind, selected_date: v || null };
        empty = !v;
      } else {
        return;
      }
      out[blockId] = { [actionId]: value };
      if (empty && !node.dataset.optional) missing.push(blockId);
    });
    return { values: out, missing };
  }

  window.BlockKit = { render, values, el };
})();
