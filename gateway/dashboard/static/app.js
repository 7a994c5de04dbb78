// The 12345 gateway dashboard: reads the operator API with the token kept in sessionStorage.
"use strict";

const KEY = "hotline.operatorToken";
const REFRESH_MS = 3000;
const STATUS = { healthy: "正常", degraded: "降级", silent: "静默", down: "中断", disabled: "未启用" };
const KIND = { portal: "门户/Open311", phone: "电话", sms: "短信", wechat: "微信", weibo: "微博",
  mailbox: "信箱", feed: "上级平台" };
const BREAKER = { closed: "闭合", open: "断开", half_open: "半开" };
const STATE = { accepted: "已受理", manual: "待人工派单", dispatched: "已派单", signed: "已签收",
  handling: "办理中", replied: "已答复", visited: "已回访", reviewed: "已审核", filed: "已归档" };
const MISSED = { sign_by: "签收", reply_by: "答复", dispatch_by: "派单" };
const $ = (id) => document.getElementById(id);
let timer = null;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v;
    else if (k.startsWith("data-")) node.setAttribute(k, v);
    else node[k] = v;
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function time(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return d.toLocaleString("zh-CN", { hour12: false, timeZone: "Asia/Shanghai" });
}

class Unauthorized extends Error {}

async function api(path, options) {
  const token = sessionStorage.getItem(KEY);
  const response = await fetch(path, {
    ...(options || {}),
    headers: { Authorization: "Bearer " + token, Accept: "application/json" },
  });
  if (response.status === 401) throw new Unauthorized();
  const body = await response.json();
  if (!response.ok) throw new Error((body.error && body.error.message) || response.status);
  return body;
}

function bars(received, errors) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 96 24");
  svg.setAttribute("class", "spark");
  const top = Math.max(1, ...received);
  received.forEach((n, i) => {
    const h = Math.round((n / top) * 22);
    const bar = document.createElementNS(ns, "rect");
    bar.setAttribute("x", i * 4);
    bar.setAttribute("y", 24 - h);
    bar.setAttribute("width", 3);
    bar.setAttribute("height", h);
    bar.setAttribute("class", errors[i] ? "bar err" : "bar");
    svg.append(bar);
  });
  return svg;
}

function summary(counts) {
  return Object.entries(counts).map(([s, n]) => `${STATUS[s] || s} ${n}`).join(" · ");
}

function renderChannels(data) {
  $("channel-summary").textContent = summary(data.summary);
  const tiles = data.items.map((c) =>
    el("article", { class: `tile status-${c.status}`, "data-channel": c.id, "data-status": c.status,
        title: c.reasons.join("\n") },
      el("div", { class: "tile-head" },
        el("span", { class: "name" }, c.name),
        el("span", { class: "badge" }, STATUS[c.status] || c.status)),
      el("div", { class: "sub" }, `${c.id} · ${KIND[c.kind] || c.kind}`),
      el("div", { class: "nums" },
        `5分钟 收${c.last_5m.received} 受理${c.last_5m.accepted} 拒${c.last_5m.rejected} 败${c.last_5m.failed}`),
      el("div", { class: "nums" },
        `1小时 收${c.last_1h.received} 受理${c.last_1h.accepted} 拒${c.last_1h.rejected} 败${c.last_1h.failed}`),
      bars(c.hourly.received, c.hourly.errors),
      el("div", { class: "sub" }, `最近来件 ${time(c.last_message_at)}`),
      c.poller ? el("div", { class: "sub" }, `轮询 ${c.poller.state || "—"} · 延迟 ${c.poller.lag_seconds ?? "—"} 秒`) : null,
      c.reasons.length && c.status !== "disabled" ? el("div", { class: "reason" }, c.reasons[0]) : null));
  $("channels").replaceChildren(...tiles);
}

function renderUnits(data) {
  $("unit-summary").textContent = summary(data.summary);
  const all = $("units-all").checked;
  const order = { down: 0, disabled: 1, degraded: 2, healthy: 3 };
  const rows = data.items
    .filter((u) => all || u.status !== "healthy" || u.pending || u.last_24h.attempts)
    .sort((a, b) => order[a.status] - order[b.status])
    .map((u) => el("tr", { class: `status-${u.status}`, "data-unit": u.id },
      el("td", {}, u.name), el("td", {}, STATUS[u.status] || u.status),
      el("td", {}, u.success_rate_1h === null ? "—" : `${Math.round(u.success_rate_1h * 100)}%`),
      el("td", {}, `${u.last_24h.ok}/${u.last_24h.attempts}`),
      el("td", {}, u.consecutive_failures), el("td", {}, BREAKER[u.breaker] || u.breaker),
      el("td", {}, u.pending), el("td", {}, time(u.oldest_pending_at)), el("td", {}, time(u.last_success_at))));
  $("units").tBodies[0].replaceChildren(...rows);
}

function renderManual(data) {
  $("manual-count").textContent = String(data.count);
  $("manual").tBodies[0].replaceChildren(...data.items.map((a) => el("tr", {},
    el("td", {}, a.appeal_no), el("td", {}, a.subject), el("td", {}, a.channel),
    el("td", {}, time(new Date(a.since * 1000).toISOString())),
    el("td", {}, ...(a.candidates || []).map((c, i) => el("div", { class: "candidate", title: c.reason || "" },
      `${i + 1}. ${c.name || c.unit || "—"}`, el("small", {}, ` ${(c.category || []).join("/")} · ${c.reason || ""}`)))))));
}

function renderOverdue(data) {
  $("overdue-count").textContent = String(data.count);
  $("overdue").tBodies[0].replaceChildren(...data.items.map((a) => el("tr", {},
    el("td", {}, a.appeal_no), el("td", {}, a.subject), el("td", {}, a.unit || "—"),
    el("td", {}, STATE[a.state] || a.state), el("td", {}, MISSED[a.missed] || a.missed),
    el("td", {}, time(a.due_at)), el("td", {}, `${a.overdue_minutes} 分钟`))));
}

function renderDead(data) {
  $("dead-count").textContent = String(data.count);
  $("dead").tBodies[0].replaceChildren(...data.items.map((d) => {
    const button = el("button", { type: "button", class: "replay" }, "重新投递");
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        await api(`/api/v1/dead-letters/${encodeURIComponent(d.delivery_id)}/replay`, { method: "POST" });
        button.textContent = "已重新投递";
      } catch (e) {
        button.textContent = "失败：" + e.message;
      }
    });
    return el("tr", { "data-delivery": d.delivery_id },
      el("td", {}, d.delivery_id), el("td", {}, d.appeal_no), el("td", {}, d.unit),
      el("td", {}, d.attempts), el("td", {}, d.last_error), el("td", {}, button));
  }));
}

function renderAlerts(data) {
  $("alert-count").textContent = String(data.active.length);
  const items = data.active.map((a) => el("li", { class: "alert" }, `${time(a.at)} ${a.message}`));
  $("alerts").replaceChildren(...(items.length ? items : [el("li", { class: "quiet" }, "暂无告警")]));
}

async function refresh() {
  try {
    const [channels, units, manual, overdue, dead, alerts] = await Promise.all([
      api("/api/v1/channels"), api("/api/v1/units/health"), api("/api/v1/dispatch-queue"),
      api("/api/v1/overdue"), api("/api/v1/dead-letters"), api("/api/v1/alerts")]);
    renderChannels(channels); renderUnits(units); renderManual(manual);
    renderOverdue(overdue); renderDead(dead); renderAlerts(alerts);
    $("updated").textContent = "更新于 " + time(channels.at);
  } catch (e) {
    if (e instanceof Unauthorized) return signOut("令牌无效，请重新登录");
    $("updated").textContent = "刷新失败：" + e.message;
  }
}

function signOut(message) {
  sessionStorage.removeItem(KEY);
  clearInterval(timer);
  $("board").hidden = true;
  $("signout").hidden = true;
  $("signin").hidden = false;
  $("signin-error").textContent = message || "";
}

function start() {
  $("signin").hidden = true;
  $("board").hidden = false;
  $("signout").hidden = false;
  refresh();
  clearInterval(timer);
  timer = setInterval(refresh, REFRESH_MS);
}

$("signin-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(KEY, $("token").value.trim());
  $("token").value = "";
  start();
});
$("signout").addEventListener("click", () => signOut(""));
$("units-all").addEventListener("change", refresh);
if (sessionStorage.getItem(KEY)) start();
