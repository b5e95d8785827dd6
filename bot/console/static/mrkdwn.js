// Slack mrkdwn and plain_text → HTML (escaped). Users and channels come from the workspace for <@U…> and <#C…>.
"use strict";

const EMOJI = {
  "white_check_mark": "✅", "heavy_check_mark": "✔️", "x": "❌", "warning": "⚠️", "rotating_light": "🚨",
  "tada": "🎉", "moneybag": "💰", "money_with_wings": "💸", "chart_with_upwards_trend": "📈",
  "chart_with_downwards_trend": "📉", "bar_chart": "📊", "calendar": "📆", "date": "📅", "clock3": "🕒",
  "hourglass": "⌛", "hourglass_flowing_sand": "⏳", "bell": "🔔", "eyes": "👀", "point_right": "👉",
  "thumbsup": "👍", "+1": "👍", "thumbsdown": "👎", "fire": "🔥", "rocket": "🚀", "ticket": "🎫",
  "receipt": "🧾", "page_facing_up": "📄", "memo": "📝", "link": "🔗", "lock": "🔒", "bust_in_silhouette": "👤",
  "busy_in_silhouette": "👥", "busts_in_silhouette": "👥", "office": "🏢", "handshake": "🤝", "email": "📧",
  "envelope": "✉️", "large_green_circle": "🟢", "large_yellow_circle": "🟡", "red_circle": "🔴",
  "large_blue_circle": "🔵", "white_circle": "⚪", "black_circle": "⚫", "heavy_plus_sign": "➕",
  "arrow_right": "➡️", "arrows_counterclockwise": "🔄", "repeat": "🔁", "mag": "🔍", "sos": "🆘",
  "information_source": "ℹ️", "question": "❓", "exclamation": "❗", "no_entry": "⛔", "no_entry_sign": "🚫",
  "construction": "🚧", "package": "📦", "truck": "🚚", "wave": "👋", "sparkles": "✨", "star": "⭐",
  "heart": "❤️", "smile": "😄", "slightly_smiling_face": "🙂", "thinking_face": "🤔", "pushpin": "📌",
  "inbox_tray": "📥", "outbox_tray": "📤", "gear": "⚙️", "hammer_and_wrench": "🛠️", "spiral_note_pad": "🗒️",
  "clipboard": "📋", "card_index": "📇", "books": "📚", "dollar": "💵", "euro": "💶", "pound": "💷",
  "credit_card": "💳", "scales": "⚖️", "stopwatch": "⏱️", "zzz": "💤", "sleeping": "😴", "crown": "👑",
  "trophy": "🏆", "checkered_flag": "🏁", "medal": "🏅", "100": "💯", "raised_hands": "🙌", "clap": "👏",
  "chart": "💹", "heavy_dollar_sign": "💲", "new": "🆕", "calling": "📲", "phone": "☎️", "speech_balloon": "💬",
};

const esc = (s) => String(s ?? "").replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
  .replace(/"/g, "&quot;");
const unescapeSlack = (s) => String(s ?? "").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
const emojify = (html) => html.replace(/:([a-z0-9_+\-]+):/g, (m, name) => EMOJI[name] || m);
const safeUrl = (url) => /^(https?:|mailto:)/i.test(url) ? url : "#";

function plainText(obj) {
  if (!obj) return "";
  const html = esc(obj.text);
  return obj.emoji === false ? html : emojify(html);
}

function entity(inner, directory) {
  const [target, label] = inner.split("|", 2);
  if (target.startsWith("@")) {
    const user = directory.users[target.slice(1)];
    const name = label || (user ? user.name : target.slice(1));
    return `<span class="mention" data-user="${esc(target.slice(1))}">@${esc(unescapeSlack(name))}</span>`;
  }
  if (target.startsWith("#")) {
    const conv = directory.conversations[target.slice(1)];
    const name = label || (conv ? conv.name : target.slice(1));
    return `<span class="mention channel" data-channel="${esc(target.slice(1))}">#${esc(unescapeSlack(name))}</span>`;
  }
  if (target.startsWith("!")) {
    const word = target.slice(1).split("^")[0];
    if (word.startsWith("date")) return esc(unescapeSlack(label || ""));
    return `<span class="mention">@${esc(label || word)}</span>`;
  }
  const url = unescapeSlack(target);
  const text = label ? unescapeSlack(label) : url.replace(/^mailto:/, "");
  return `<a href="${esc(safeUrl(url))}" target="_blank" rel="noopener noreferrer">${esc(text)}</a>`;
}

// Bold, italic and strike need a boundary before and after, as in Slack.
const STYLES = [
  [/(^|[\s(\[{"'>\u0002])\*(?=\S)([^*\n]*?\S)\*(?=$|[\s)\]}.,!?;:"'<\u0002])/g, "b"],
  [/(^|[\s(\[{"'>\u0002])_(?=\S)([^_\n]*?\S)_(?=$|[\s)\]}.,!?;:"'<\u0002])/g, "i"],
  [/(^|[\s(\[{"'>\u0002])~(?=\S)([^~\n]*?\S)~(?=$|[\s)\]}.,!?;:"'<\u0002])/g, "s"],
];

function mrkdwn(text, directory, verbatim) {
  const held = [];
  const hold = (html) => { held.push(html); return `\u0001${held.length - 1}\u0002`; };
  let s = String(text ?? "");
  s = s.replace(/```([\s\S]*?)```/g, (m, code) => hold(`<pre class="code-block">${esc(unescapeSlack(code.replace(/^\n/, "")))}</pre>`));
  s = s.replace(/`([^`\n]+)`/g, (m, code) => hold(`<code>${esc(unescapeSlack(code))}</code>`));
  if (!verbatim) s = s.replace(/<([^<>\n]+)>/g, (m, inner) => hold(entity(inner, directory)));
  // What is left is Slack-escaped text: unescape, then escape for HTML.
  s = esc(unescapeSlack(s));
  for (let n = 0; n < 2; n++) {  // twice: *_both_* nests
    for (const [re, tag] of STYLES) s = s.replace(re, (m, pre, body) => `${pre}<${tag}>${body}</${tag}>`);
  }
  s = emojify(s);
  const lines = s.split("\n");
  const out = [];
  let quote = [];
  const flush = () => { if (quote.length) { out.push(`<blockquote>${quote.join("<br>")}</blockquote>`); quote = []; } };
  for (const line of lines) {
    const m = line.match(/^&gt;\s?(.*)$/);
    if (m) { quote.push(m[1]); continue; }
    flush();
    out.push(line);
  }
  flush();
  s = out.join("<br>").replace(/<\/blockquote><br>/g, "</blockquote>");
  return s.replace(/\u0001(\d+)\u0002/g, (m, n) => held[Number(n)]);
}

function textObject(obj, directory) {
  if (!obj) return "";
  if (obj.type === "mrkdwn") return mrkdwn(obj.text, directory, obj.verbatim);
  return plainText(obj);
}

window.SlackText = { mrkdwn, plainText, textObject, esc, emojify, unescapeSlack };
