// 报告: the weekly and monthly reports of the record (the same figures as the HTML and PDF editions,
// which open from here), with the volume by channel drawn by the chart library.
import { api } from "./api.js";
import { appealLink, channelName, el, pct, row, table, unitName, put } from "./ui.js";

const TREND = { new: "新出现", up: "上升", down: "下降", same: "持平" };
const DIFFICULT = { overdue: "超期", "returned twice": "两次以上退回", repeated: "重复投诉" };

export function lastWeek() {
  const d = new Date(Date.now() - 7 * 86400000);
  const day = (d.getUTCDay() + 6) % 7;
  d.setUTCDate(d.getUTCDate() - day + 3); // the week's Thursday decides its ISO year
  const year = d.getUTCFullYear();
  const week = 1 + Math.round((d - Date.UTC(year, 0, 4)) / 86400000 / 7 - ((new Date(Date.UTC(year, 0, 4)).getUTCDay() + 6) % 7 - 3) / 7);
  return `${year}-W${String(week).padStart(2, "0")}`;
}

function lastMonth() {
  const d = new Date();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() - 1);
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, "0")}`;
}

const counts = (by, name) => Object.entries(by || {}).map(([k, n]) => [name(k), n]);

export function reports(main) {
  const kind = el("select", { name: "kind", id: "report-kind" }, el("option", { value: "weekly" }, "周报"), el("option", { value: "monthly" }, "月报"));
  const period = el("input", { name: "period", id: "report-period", value: lastWeek(), pattern: "\\d{4}-(W\\d{2}|\\d{2})", required: true });
  kind.addEventListener("change", () => { period.value = kind.value === "weekly" ? lastWeek() : lastMonth(); });
  const error = el("p", { class: "error", role: "alert" });
  const out = el("div", { "aria-live": "polite" });
  const form = el("form", { class: "inline card", onsubmit: (e) => { e.preventDefault(); load(); } },
    el("label", { for: "report-kind" }, "报告"), kind, el("label", { for: "report-period" }, "期间"), period,
    el("button", { type: "submit" }, "查看"));
  put(main, el("h2", {}, "周报与月报"), form, error, out);
  let made = null;

  async function load() {
    error.textContent = "";
    const path = `/api/v1/reports/${kind.value}/${encodeURIComponent(period.value.trim())}`;
    let r;
    try { r = await api(path); } catch (e) { error.textContent = e.message; return; }
    const chart = el("div", { class: "chart", role: "img", "aria-label": "各渠道来件数" });
    const hot = ["话题", "地点", "件数", "上期", "趋势", "示例"];
    const hard = ["诉求编号", "标题", "承办单位", "原因"];
    put(out, 
      el("div", { class: "kpis" },
        el("div", { class: "kpi" }, el("b", {}, r.total), `来件总数（上期 ${r.previous.total}）`),
        el("div", { class: "kpi" }, el("b", {}, pct(r.timely_response_rate)), "及时签收率"),
        el("div", { class: "kpi" }, el("b", {}, pct(r.on_time_reply_rate)), "按时答复率"),
        el("div", { class: "kpi" }, el("b", {}, pct(r.satisfaction.rate)), `满意率（回访 ${r.satisfaction.visited} 件）`),
        el("div", { class: "kpi" }, el("b", {}, r.repeats.repeat), "重复件"),
        el("div", { class: "kpi" }, el("b", {}, r.returns), "退回次数")),
      el("p", {}, el("a", { href: `${path}?format=html`, target: "_blank", rel: "noopener" }, "打开网页版报告"), " · ",
        el("a", { href: `${path}?format=pdf`, download: `${kind.value}-${r.period}.pdf` }, "下载打印版报告")),
      el("section", { class: "card" }, el("h3", {}, "各渠道来件"), chart),
      el("div", { class: "grid" },
        el("section", { class: "card" }, el("h3", {}, "各分类"), table(["分类", "件数"], counts(r.by_category, (k) => (k === "uncategorized" ? "未分类" : k)).map((c) => row(["分类", "件数"], c)))),
        el("section", { class: "card" }, el("h3", {}, "各承办单位"), table(["单位", "件数"], counts(r.by_unit, (k) => (k === "unassigned" ? "未派单" : unitName(k))).map((c) => row(["单位", "件数"], c))))),
      el("section", { class: "card" }, el("h3", {}, "热点问题"), table(hot, r.hot_issues.map((h) => row(hot, [h.topic, h.place === "unplaced" ? "未识别" : h.place, h.count, h.previous, TREND[h.trend] || "—", h.examples.join("；")])))),
      el("section", { class: "card" }, el("h3", {}, `难点问题（共 ${r.difficult_total} 件）`), table(hard, r.difficult.map((d) => row(hard, [appealLink(d.appeal_no), d.subject, unitName(d.unit), d.reasons.map((x) => DIFFICULT[x] || "其他").join("、")])))));
    if (made) made.dispose();
    made = echarts.init(chart);
    const byChannel = counts(r.by_channel, (k) => (k === "unknown" ? "未知渠道" : channelName(k)));
    made.setOption({ aria: { enabled: true }, tooltip: {}, grid: { left: 150, right: 20, top: 10, bottom: 30 },
      xAxis: { type: "value", minInterval: 1, name: "件数" }, yAxis: { type: "category", data: byChannel.map((c) => c[0]).reverse() },
      series: [{ type: "bar", name: "来件", data: byChannel.map((c) => c[1]).reverse() }] });
  }
  load();
  return () => { if (made) made.dispose(); };
}
