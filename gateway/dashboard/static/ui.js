// Shared helpers of the workbench: elements, times, Chinese labels and the phrase table (zh.json).
export const STATE = { accepted: "已受理", manual: "待人工派单", dispatched: "已派单", signed: "已签收",
  handling: "办理中", replied: "已答复", visited: "已回访", reviewed: "已审核", filed: "已归档" };
export const STATUS = { healthy: "正常", degraded: "降级", silent: "静默", down: "中断", disabled: "未启用" };
export const KIND = { portal: "门户网站", phone: "电话", sms: "短信", wechat: "微信", weibo: "微博",
  mailbox: "信箱", feed: "上级平台" };
export const BREAKER = { closed: "闭合", open: "断开", half_open: "半开" };
export const URGENCY = { emergency: "紧急", urgent_utility: "水电气紧急", general: "一般", consultation: "咨询",
  complex: "疑难" };
export const STEP = { sign_by: "签收", reply_by: "答复", dispatch_by: "派单", supervision: "督办时限" };
export const SATISFACTION = { satisfied: "满意", basically_satisfied: "基本满意", unsatisfied: "不满意" };
export const EVENT = { received: "收到", accepted: "受理", held: "等待同一会话的后续消息", released: "放行",
  merged: "合并来件", added: "追加来件", answered: "已回复市民", manual: "转人工派单", dispatched: "派单",
  signed: "签收", returned: "退回", sub_assigned: "下派", progress: "办理进展", extension_requested: "申请延期",
  extension_decided: "延期审批", replied: "答复", visited: "回访", reviewed: "审核", reopened: "退回重办",
  filed: "归档", supervised: "督办", supervision_reminder: "督办提醒", supervision_escalated: "督办升级",
  overdue: "超期提醒", updated: "补充内容" };
export const DELIVERY = { delivered: "已送达", pending: "投递中", dead: "投递失败", failed: "投递失败",
  acked: "已确认", parked: "暂停投递" };
export const EVENT_TYPE = { "cn.gov.12345.appeal.assigned": "派单", "cn.gov.12345.appeal.updated": "补充内容",
  "cn.gov.12345.appeal.reopened": "退回重办", "cn.gov.12345.appeal.overdue": "超期提醒",
  "cn.gov.12345.appeal.supervision_reminder": "督办提醒", "cn.gov.12345.appeal.supervision_escalated": "督办升级" };
export const ROLE = { operator: "值班员", supervisor: "督办员", admin: "管理员" };
export const LINK = { repeat: "重复件", duplicate: "同一事件" };
export const LINK_STATUS = { linked: "待确认", confirmed: "已确认", unlinked: "已解除" };
export const FIELD = { name: "用户名", password: "密码", unit: "承办单位", note: "说明", deadline: "期限",
  satisfaction: "满意度", decision: "决定", q: "关键词", phone: "手机号", from: "开始日期", to: "结束日期",
  state: "状态", channel: "渠道", area: "地区", page: "页码", category: "分类", within_minutes: "时间范围" };

export const names = { units: new Map(), channels: new Map(), accounts: new Map([["operator", "值班管理员"]]) };
let phrases = [];

export async function loadPhrases() {
  const table = await (await fetch("/dashboard/zh.json")).json();
  phrases = table.phrases.map(([p, r]) => [new RegExp(p, "g"), r]);
}

const ISO = /\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:[+-]\d\d:\d\d|Z)?/g;

// The gateway's English reason in Chinese: the phrase table, then ids by their names, times local.
export function zh(text) {
  if (!text) return "";
  let out = String(text);
  for (const [re, rep] of phrases) out = out.replace(re, rep);
  for (const [id, name] of [...names.units, ...names.channels]) {
    out = out.replace(new RegExp(`(?<![\\w-])${id.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?![\\w-])`, "g"), name);
  }
  out = out.replace(ISO, (iso) => time(iso));
  // English still left is a reason the table does not know: it stays in the log, not on the page
  // (capitals such as KTV or APP are the citizen's own words and stay)
  return out.replace(/[A-Za-z_]*[a-z][A-Za-z_]*(?:[\s:()'",.-]+[A-Za-z_]*[a-z][A-Za-z_]*)*/g, "…");
}

export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k.startsWith("data-") || k.startsWith("aria-") || k === "role" || k === "for" || k === "list") node.setAttribute(k, v);
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node[k] = v;
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

// replaceChildren without the absent ones (null would show as the word "null")
export function put(node, ...children) {
  node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

export function time(iso) {
  if (!iso) return "—";
  const d = typeof iso === "number" ? new Date(iso * 1000) : new Date(iso);
  if (Number.isNaN(d.getTime())) return "—";
  return d.toLocaleString("zh-CN", { hour12: false, timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit",
    day: "2-digit", hour: "2-digit", minute: "2-digit" });
}

export function left(iso) {
  const ms = new Date(iso).getTime() - Date.now();
  const m = Math.round(Math.abs(ms) / 60000);
  const text = m >= 1440 ? `${Math.floor(m / 1440)}天${Math.round((m % 1440) / 60)}小时` : m >= 60 ? `${Math.floor(m / 60)}小时${m % 60}分` : `${m}分钟`;
  return ms >= 0 ? `剩余 ${text}` : `已超 ${text}`;
}

export const unitName = (id) => (id ? names.units.get(id) || "未知单位" : "—");
export const channelName = (id) => (id ? names.channels.get(id) || "未知渠道" : "—");
export const actorName = (id) => names.units.get(String(id || "").replace(/^unit:/, "")) || names.accounts.get(id) ||
  ({ router: "系统派单", system: "系统", gateway: "系统", centre: "热线中心", supervision: "督办提醒" }[id]) ||
  (/^[\w.@-]+$/.test(id || "") ? id : "系统");
export const pct = (r) => (r === null || r === undefined ? "—" : `${Math.round(r * 1000) / 10}%`);

export function table(headers, rows, attrs) {
  return el("div", { class: "table-wrap" }, el("table", { class: "stack", ...(attrs || {}) },
    el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, rows.length ? rows : [el("tr", {}, el("td", { colSpan: headers.length, class: "muted" }, "暂无"))])));
}

// a row whose cells carry their column's name for the phone layout
export function row(headers, cells, attrs) {
  return el("tr", attrs || {}, cells.map((c, i) => el("td", { "data-label": headers[i] }, c)));
}

export function toast(message, bad) {
  const box = document.getElementById("toast");
  const item = el("div", { class: bad ? "bad" : "" }, message);
  box.append(item);
  setTimeout(() => item.remove(), 6000);
}

export function appealLink(no) {
  return el("a", { href: `#/appeal/${encodeURIComponent(no)}` }, no);
}
