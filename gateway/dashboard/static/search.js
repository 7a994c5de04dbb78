// 查询: appeals of the record by words, number, phone or its last four digits, unit, state, channel,
// area and dates; supervisors search supervised appeals (督办件) only, never by phone.
import { api } from "./api.js";
import { appealLink, channelName, el, names, row, STATE, table, time, put } from "./ui.js";
import { unitOf } from "./queue.js";

const NUMBER = /^[A-Z]{2}-\d{8}-\d{6}$/;

function field(label, input) {
  return el("label", {}, label, input);
}

export function search(main, _arg, me) {
  const supervisor = me.role === "supervisor";
  const params = new URLSearchParams(location.hash.split("?")[1] || "");
  const input = (name, attrs) => el("input", { name, value: params.get(name) || "", ...(attrs || {}) });
  const state = el("select", { name: "state" }, el("option", { value: "" }, "全部"),
    Object.entries(STATE).map(([k, v]) => el("option", { value: k, selected: params.get("state") === k }, v)));
  const channel = el("select", { name: "channel" }, el("option", { value: "" }, "全部"),
    [...names.channels].map(([k, v]) => el("option", { value: k, selected: params.get("channel") === k }, v)));
  const unit = input("unit", { list: "units-list", placeholder: "单位名称", value: names.units.get(params.get("unit")) || "" });
  const error = el("p", { class: "error", role: "alert" });
  const results = el("div", { "aria-live": "polite" });
  const form = el("form", { class: "fields card", role: "search", onsubmit: (e) => { e.preventDefault(); submit(1); } },
    field("关键词或诉求编号", input("q", { type: "search", maxLength: 200, "data-testid": "search-q" })),
    supervisor ? null : field("手机号或尾号4位", input("phone", { inputMode: "numeric", maxLength: 32 })),
    field("承办单位", unit), field("状态", state), field("渠道", channel),
    field("地区编码", input("area", { maxLength: 64, placeholder: "如 340302" })),
    field("开始日期", input("from", { type: "date" })), field("结束日期", input("to", { type: "date" })),
    supervisor ? null : field("仅看督办件", el("input", { type: "checkbox", name: "supervised", checked: params.get("supervised") === "true" })),
    el("button", { type: "submit" }, "查询"));
  put(main, el("h2", {}, supervisor ? "督办件" : "查询诉求"), form, error, results);

  async function submit(page) {
    const data = new FormData(form);
    const query = new URLSearchParams();
    const q = String(data.get("q") || "").trim();
    if (NUMBER.test(q)) { location.hash = `#/appeal/${q}`; return; }
    if (q) query.set("q", q);
    for (const name of ["phone", "state", "channel", "area", "from", "to"]) {
      const value = String(data.get(name) || "").trim();
      if (value) query.set(name, value);
    }
    const unitText = String(data.get("unit") || "").trim();
    if (unitText) {
      const id = unitOf(unitText);
      if (!id) { error.textContent = "请从列表中选择一个承办单位"; return; }
      query.set("unit", id);
    }
    if (supervisor || data.get("supervised")) query.set("supervised", "true");
    query.set("page", String(page));
    error.textContent = "";
    history.replaceState(null, "", `#/search?${query}`);
    try {
      const found = await api(`/api/v1/appeals?${query}`);
      const headers = ["诉求编号", "标题", "状态", "承办单位", "渠道", "分类", "受理时间"];
      const pages = Math.max(1, Math.ceil(found.total / found.per_page));
      put(results, 
        el("p", { class: "muted" }, `共 ${found.total}${found.total_exact ? "" : "+"} 件`),
        table(headers, found.items.map((a) => row(headers, [appealLink(a.appeal_no), a.subject, STATE[a.state] || "—",
          names.units.get(a.unit) || "—", channelName(a.channel), a.category.join("/") || "—", time(a.received_at)],
        { "data-testid": "search-row", "data-appeal-no": a.appeal_no }))),
        el("div", { class: "pager" },
          el("button", { type: "button", class: "secondary", disabled: page <= 1, onclick: () => submit(page - 1) }, "上一页"),
          `第 ${page} / ${pages} 页`,
          el("button", { type: "button", class: "secondary", disabled: page >= pages, onclick: () => submit(page + 1) }, "下一页")));
    } catch (e) {
      error.textContent = e.message;
    }
  }
  if (supervisor || [...params.keys()].length) submit(Number(params.get("page")) || 1);
}
