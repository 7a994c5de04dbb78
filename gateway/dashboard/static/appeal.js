// 诉求详情: what the citizen wrote (personal data masked; operators reveal the contact on purpose, and
// the reveal is audited), the routing explanation, deadlines, the timeline, deliveries, repeats and
// links, and the actions the appeal's state allows.
import { api } from "./api.js";
import { actorName, appealLink, channelName, DELIVERY, el, EVENT, EVENT_TYPE, left, LINK, LINK_STATUS, names, row,
  SATISFACTION, STATE, STEP, table, time, toast, unitName, URGENCY, zh, put } from "./ui.js";
import { assign, unitChooser } from "./queue.js";

const OPEN = ["accepted", "manual", "dispatched", "signed", "handling", "replied", "visited", "reviewed"];
const DETAIL = { note: "说明", reason: "原因", days: "延期天数", satisfaction: "满意度", decision: "决定", unit: "单位",
  deadline: "期限", reply: "答复内容", content: "内容", step: "环节", due_at: "时限" };
const ORDER = ["accepted", "manual", "dispatched", "signed", "handling", "replied", "visited", "reviewed", "filed"];
const DONE_AT = { dispatch_by: "dispatched", sign_by: "signed", reply_by: "replied" };
// whether the step a deadline is for has been taken (the deadline then shows no time left)
const stepDone = (step, state) => ORDER.indexOf(state) >= ORDER.indexOf(DONE_AT[step] || "filed");
const DECISION = { approve: "同意", deny: "不同意", reopen: "退回重办" };

function facts(pairs) {
  return el("dl", { class: "facts" }, pairs.filter(([, v]) => v !== null && v !== undefined && v !== "")
    .flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
}

function detailText(event) {
  const parts = [];
  for (const [key, label] of Object.entries(DETAIL)) {
    let value = event[key];
    if (value === undefined || value === null || value === "") continue;
    if (key === "unit") value = unitName(value);
    else if (key === "satisfaction") value = SATISFACTION[value] || value;
    else if (key === "decision") value = DECISION[value] || value;
    else if (key === "step") value = STEP[value] || value;
    else if (key === "deadline" || key === "due_at") value = time(value);
    else if (key === "reply" && typeof value === "object") value = value.content || "";
    parts.push(`${label}：${typeof value === "object" ? "" : value}`);
  }
  if (event.explanation) parts.push(`依据：${zh(event.explanation)}`);
  return parts.join("；");
}

function timeline(history) {
  return el("ol", { class: "timeline", "data-testid": "appeal-timeline" }, history.map((e) => el("li", { "data-event": e.type },
    el("time", { dateTime: e.at }, time(e.at)), el("b", {}, EVENT[e.type] || "其他事件"),
    ` · ${actorName(e.actor)}`, e.state ? el("span", { class: "muted" }, ` → ${STATE[e.state] || ""}`) : null,
    detailText(e) ? el("div", { class: "muted" }, detailText(e)) : null)));
}

function form(title, fields, submitText, onSubmit, testid) {
  const error = el("p", { class: "error", role: "alert" });
  const node = el("form", { class: "card", "data-testid": testid, onsubmit: async (e) => {
    e.preventDefault();
    const data = Object.fromEntries(new FormData(node));
    const button = e.submitter;
    if (button) button.disabled = true;
    error.textContent = "";
    try { await onSubmit(data, button); } catch (err) { error.textContent = err.message; }
    finally { if (button) button.disabled = false; }
  } }, el("h3", {}, title), ...fields, el("div", { class: "inline" }, submitText), error);
  return node;
}

const labelled = (label, input) => el("label", { class: "field" }, label, input);
const note = (required) => labelled(required ? "说明（必填）" : "说明（可选）", el("textarea", { name: "note", rows: 2, maxLength: 2000, required: !!required }));

function actions(no, record, me, dead, units, refresh) {
  if (me.role === "supervisor") return null;
  const post = (path, body) => api(`/api/v1/appeals/${encodeURIComponent(no)}/${path}`, { method: "POST", body });
  const done = (message) => { toast(message); refresh(); };
  const out = [];
  if (OPEN.includes(record.state)) {
    out.push(el("div", { class: "card" }, el("h3", {}, record.state === "manual" ? "人工派单" : "改派"),
      unitChooser(async (unit, button) => {
        if (button) button.disabled = true;
        try { await assign(no, unit); done(`已派给 ${names.units.get(unit)}`); }
        catch (e) { toast(e.message, true); if (button) button.disabled = false; }
      }, "派给")));
  }
  if (record.extension && record.extension.status === "pending") {
    const decide = (decision) => el("button", { type: "submit", name: "decision", value: decision, class: decision === "deny" ? "danger" : "" },
      decision === "approve" ? "同意延期" : "不同意");
    out.push(form(`延期申请：${record.extension.days} 天（${record.extension.reason}）`, [note(false)], [decide("approve"), decide("deny")],
      async (data, button) => { await post("extension", { decision: button.value, note: data.note || null }); done("已处理延期申请"); }, "extension-form"));
  }
  if (record.state === "replied") {
    const satisfaction = el("select", { name: "satisfaction", required: true, "data-testid": "visit-satisfaction" },
      Object.entries(SATISFACTION).map(([k, v]) => el("option", { value: k }, v)));
    out.push(form("回访", [labelled("市民满意度", satisfaction), note(false)], [el("button", { type: "submit", "data-testid": "visit-submit" }, "记录回访")],
      async (data) => { await post("return-visit", { satisfaction: data.satisfaction, note: data.note || null }); done("已记录回访"); }, "visit-form"));
  }
  if (record.state === "visited") {
    out.push(form("审核", [note(false)], [
      el("button", { type: "submit", value: "approve", "data-testid": "review-approve" }, "审核通过并归档"),
      el("button", { type: "submit", value: "reopen", class: "danger", "data-testid": "review-reopen" }, "退回重办")],
    async (data, button) => { await post("review", { decision: button.value, note: data.note || null }); done(button.value === "approve" ? "已归档" : "已退回承办单位重办"); }, "review-form"));
  }
  if (record.state !== "filed") {
    const deadline = el("input", { type: "datetime-local", name: "deadline", required: true });
    out.push(form(record.supervision ? "再次督办" : "督办", [note(true), labelled("办结期限", deadline)], [el("button", { type: "submit" }, "督办")],
      async (data) => {
        if (!data.note || !data.deadline) throw new Error("请填写督办说明和办结期限");
        const at = new Date(data.deadline); // the browser's local time, sent with its offset
        const offset = -at.getTimezoneOffset();
        const sign = offset >= 0 ? "+" : "-";
        const hh = String(Math.floor(Math.abs(offset) / 60)).padStart(2, "0");
        const mm = String(Math.abs(offset) % 60).padStart(2, "0");
        await post("supervise", { note: data.note, deadline: `${data.deadline.length === 16 ? data.deadline + ":00" : data.deadline}${sign}${hh}:${mm}` });
        done("已督办");
      }, "supervise-form"));
  }
  for (const d of dead) {
    out.push(el("div", { class: "card" }, el("h3", {}, `投递失败：${unitName(d.unit)}（${d.attempts} 次）`),
      el("button", { type: "button", onclick: async (e) => {
        e.target.disabled = true;
        try { await api(`/api/v1/dead-letters/${encodeURIComponent(d.delivery_id)}/replay`, { method: "POST" }); done("已重新投递"); }
        catch (err) { toast(err.message, true); e.target.disabled = false; }
      } }, "重新投递")));
  }
  for (const u of units.filter((x) => x.status === "disabled" && (x.id === record.unit || dead.some((d) => d.unit === x.id)))) {
    out.push(el("div", { class: "card" }, el("h3", {}, `${u.name} 的接收地址已停用`),
      el("button", { type: "button", onclick: async (e) => {
        e.target.disabled = true;
        try { await api(`/api/v1/units/${encodeURIComponent(u.id)}/enable`, { method: "POST" }); done(`已重新启用 ${u.name} 的接收地址`); }
        catch (err) { toast(err.message, true); e.target.disabled = false; }
      } }, "重新启用")));
  }
  return out.length ? el("section", {}, el("h2", {}, "操作"), el("div", { class: "actions" }, out)) : null;
}

function links(items, no, me, refresh) {
  const headers = ["关系", "另一件", "依据", "状态", "操作"];
  return table(headers, items.map((l) => {
    const other = l.appeal_no === no ? l.earlier : l.appeal_no;
    const why = l.why || {};
    const reason = [why.similarity !== undefined ? `相似度 ${Math.round(why.similarity * 100)}%` : null,
      why.words ? `共同词语 ${[].concat(why.words).join("、")}` : null, why.place ? "同一地点" : null,
      why.category ? `同一分类 ${why.category}` : null, why.hours_apart !== undefined ? `相隔 ${why.hours_apart} 小时` : null].filter(Boolean).join("；") || "—";
    const decide = (verb, text) => el("button", { type: "button", class: "secondary", onclick: async () => {
      try { await api(`/api/v1/repeats/${encodeURIComponent(l.appeal_no)}/${encodeURIComponent(l.earlier)}/${verb}`, { method: "POST" }); toast("已保存"); refresh(); }
      catch (e) { toast(e.message, true); }
    } }, text);
    return row(headers, [`${LINK[l.kind] || "关联"}${l.appeal_no === no ? "（本件在后）" : "（本件在前）"}`, appealLink(other), reason,
      LINK_STATUS[l.status] || "—", me.role !== "supervisor" && l.status === "linked" ? [decide("confirm", "确认"), " ", decide("unlink", "解除")] : "—"]);
  }));
}

function deliveries(items) {
  const headers = ["时间", "事件", "单位", "尝试次数", "结果", "最后错误"];
  return table(headers, items.map((d) => row(headers, [time(d.created_at), EVENT_TYPE[d.event_type] || "通知", unitName(d.unit),
    d.attempts, DELIVERY[d.outcome] || "—", zh(d.last_error) || "—"])));
}

export function appeal(main, no, me) {
  const operator = me.role !== "supervisor";
  async function load() {
    const path = `/api/v1/appeals/${encodeURIComponent(no)}`;
    let record;
    try {
      record = await api(`${path}?masked=true`);
    } catch (e) {
      put(main, el("h2", {}, `诉求 ${no}`), el("p", { class: "error", role: "alert" }, e.message));
      return;
    }
    const optional = (p) => p.catch(() => null);
    const [sent, linked, dead, health] = await Promise.all([
      optional(api(`${path}/deliveries`)),
      operator ? optional(api(`/api/v1/repeats?status=all&appeal_no=${encodeURIComponent(no)}`)) : null,
      operator ? optional(api("/api/v1/dead-letters")) : null,
      operator ? optional(api("/api/v1/units/health")) : null]);
    const a = record.appeal;
    const decision = record.decision || {};
    const contact = el("div", { "data-testid": "contact" });
    const showContact = operator ? el("button", { type: "button", class: "secondary", "data-testid": "reveal-contact", onclick: async (e) => {
      e.target.disabled = true;
      try {
        const c = await api(`${path}/contact`);
        put(contact, facts([["姓名", c.citizen.name || "未留"], ["电话", c.citizen.phone || "未留"],
          ["渠道身份", c.citizen.identity ? c.citizen.identity.value : null], ["地址", c.address || "未留"]]),
        el("p", { class: "muted" }, `本次查看已由 ${me.name} 记入审计日志`));
        e.target.remove();
      } catch (err) { toast(err.message, true); e.target.disabled = false; }
    } }, "显示联系方式（将记入审计）") : null;
    put(contact, facts([["姓名", a.citizen.name || (a.citizen.anonymous ? "匿名" : "未留")], ["电话", a.citizen.phone || "未留"],
      ["地址", a.location.address || "未留"]]), showContact);
    const deadlines = Object.entries(record.deadlines || {}).filter(([k]) => STEP[k] && k !== "supervision")
      .map(([k, v]) => [`${STEP[k]}时限`, `${time(v)}（${stepDone(k, record.state) ? "已完成" : left(v)}）`]);
    const sup = record.supervision;
    put(main, 
      el("h2", {}, `诉求 ${no} `, el("span", { class: "badge", "data-testid": "appeal-state" }, STATE[record.state] || "—"),
        sup ? el("span", { class: "badge bad" }, " 督办") : null),
      el("div", { class: "grid" },
        el("section", { class: "card" }, el("h3", {}, "市民诉求"),
          facts([["标题", a.subject], ["渠道", channelName(a.channel_id)], ["受理时间", time(a.received_at)],
            ["紧急程度", URGENCY[a.urgency] || "—"], ["地点", (decision.place || []).join("/") || "未识别"]]),
          el("div", { class: "content", "data-testid": "appeal-content" }, a.content),
          el("h3", {}, "联系人"), contact),
        el("section", { class: "card" }, el("h3", {}, "派单与时限"),
          facts([["承办单位", unitName(record.unit)], ["下派单位", record.supervisor ? unitName(record.supervisor) : null],
            ["建议下派", decision.pass_to ? unitName(decision.pass_to) : null], ["分类", (record.category || []).join("/") || "—"],
            ...deadlines,
            ["退回", record.returned_by.length ? record.returned_by.map(unitName).join("、") : null],
            ["重办次数", record.reopened || null],
            ["督办", sup ? `${sup.note}（期限 ${time(sup.deadline)}，${left(sup.deadline)}；${actorName(sup.by)}）` : null]]),
          el("h3", {}, "派单依据"), el("p", { "data-testid": "explanation" }, zh(decision.explanation) || "—"),
          (decision.candidates || []).length ? el("ol", {}, decision.candidates.map((c) => el("li", {}, unitName(c.unit), el("small", {}, " ", zh(c.reason))))) : null)),
      actions(no, record, me, (dead && dead.items ? dead.items : []).filter((d) => d.appeal_no === no),
        health ? health.items : [], load),
      el("section", { class: "card" }, el("h2", {}, "办理时间线"), timeline(record.history || [])),
      el("section", { class: "card" }, el("h2", {}, "投递记录"), sent ? deliveries(sent.items) : el("p", { class: "muted" }, "暂无")),
      operator ? el("section", { class: "card" }, el("h2", {}, "重复件与关联"), linked ? links(linked.items, no, me, load) : el("p", { class: "muted" }, "暂无")) : null);
  }
  put(main, el("p", { class: "muted" }, "加载中…"));
  load();
  const timer = setInterval(() => { if (!main.contains(document.activeElement) || document.activeElement === main) load(); }, 10000);
  return () => clearInterval(timer);
}
