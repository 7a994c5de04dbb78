// 派单队列: the appeals the router left to the centre, oldest first, each with the router's three
// candidates and why; assign to the first with one click, or choose any unit from the list.
import { api } from "./api.js";
import { appealLink, channelName, el, names, time, toast, zh, put } from "./ui.js";

const REFRESH_MS = 5000;

// the unit id of what was typed or chosen in a unit field (its name, or its id)
export function unitOf(text) {
  const value = (text || "").trim();
  for (const [id, name] of names.units) if (name === value || id === value) return id;
  return null;
}

export async function assign(appealNo, unit, note) {
  return api(`/api/v1/appeals/${encodeURIComponent(appealNo)}/assign`, { method: "POST", body: { unit, ...(note ? { note } : {}) } });
}

export function unitChooser(onChoose, label) {
  const id = `unit-${Math.random().toString(36).slice(2, 8)}`;
  const input = el("input", { id, list: "units-list", placeholder: "输入单位名称搜索", autocomplete: "off", "data-testid": "assign-unit" });
  const error = el("span", { class: "error", role: "alert" });
  const form = el("form", { class: "inline", onsubmit: async (e) => {
    e.preventDefault();
    const unit = unitOf(input.value);
    if (!unit) { error.textContent = "请从列表中选择一个承办单位"; input.focus(); return; }
    error.textContent = "";
    await onChoose(unit, e.submitter);
  } }, el("label", { for: id }, label || "改派给"), input, el("button", { type: "submit", class: "secondary" }, "派单"), error);
  return form;
}

function entry(item, done) {
  const first = (item.candidates || []).find((c) => c.unit);
  const act = async (unit, button) => {
    if (button) button.disabled = true;
    try {
      await assign(item.appeal_no, unit);
      toast(`${item.appeal_no} 已派给 ${names.units.get(unit) || "所选单位"}`);
      done(item.appeal_no);
    } catch (e) {
      toast(e.message, true);
      if (button) button.disabled = false;
    }
  };
  return el("tr", { "data-testid": "queue-row", "data-appeal-no": item.appeal_no },
    el("td", { "data-label": "诉求编号" }, appealLink(item.appeal_no)),
    el("td", { "data-label": "标题" }, item.subject, item.returned_by.length ? el("small", {}, `已被 ${item.returned_by.length} 个单位退回`) : null),
    el("td", { "data-label": "渠道" }, channelName(item.channel)),
    el("td", { "data-label": "入队时间" }, time(item.since)),
    el("td", { "data-label": "推荐单位" }, (item.candidates || []).length ? item.candidates.map((c, i) => el("div", { class: "candidate" },
      `${i + 1}. ${c.unit ? names.units.get(c.unit) || c.name : "无责任单位"}`, el("small", {}, zh(c.reason)))) : el("span", { class: "muted" }, "无推荐（未找到分类词）"),
    el("small", {}, zh(item.explanation))),
    el("td", { "data-label": "操作" },
      first ? el("button", { type: "button", "data-testid": "assign-submit", onclick: (e) => act(first.unit, e.target) },
        `派给 ${names.units.get(first.unit) || first.name}`) : null,
      unitChooser((unit, button) => act(unit, button))));
}

export function queue(main) {
  const count = el("span", { class: "badge" }, "…");
  const body = el("tbody", {});
  const status = el("p", { class: "muted", "aria-live": "polite" });
  put(main, el("h2", {}, "人工派单队列 ", count), status,
    el("div", { class: "table-wrap card" }, el("table", { class: "stack" },
      el("thead", {}, el("tr", {}, ["诉求编号", "标题", "渠道", "入队时间", "推荐单位及理由", "操作"].map((h) => el("th", { scope: "col" }, h)))), body)));
  const rows = new Map();
  const done = (no) => { rows.get(no)?.remove(); rows.delete(no); count.textContent = String(rows.size); };

  async function refresh() {
    try {
      const data = await api("/api/v1/dispatch-queue");
      const seen = new Set(data.items.map((i) => i.appeal_no));
      for (const [no, tr] of rows) if (!seen.has(no) && !tr.contains(document.activeElement)) done(no);
      for (const item of data.items) {
        if (rows.has(item.appeal_no)) continue; // a row being worked on is left as it is
        const tr = entry(item, done);
        rows.set(item.appeal_no, tr);
        body.append(tr);
      }
      count.textContent = String(rows.size);
      status.textContent = rows.size ? "" : "队列已清空：所有诉求均已派出";
    } catch (e) {
      status.textContent = `刷新失败：${e.message}`;
    }
  }
  refresh();
  const timer = setInterval(refresh, REFRESH_MS);
  return () => clearInterval(timer);
}
