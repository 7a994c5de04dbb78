// 概览: what needs attention now (manual queue, deadlines about to be missed, overdue, alerts, dead
// letters, channels and units in trouble) and the volume charts and unit league table of the record.
import { api } from "./api.js";
import { lastWeek } from "./reports.js";
import { appealLink, BREAKER, channelName, el, KIND, left, pct, row, STATE, STATUS, STEP, table, time,
  toast, unitName, zh, put } from "./ui.js";

const FAST_MS = 5000;
const SLOW_MS = 30000;
const charts = [];

function chart(node, option) {
  const made = echarts.init(node, null, { renderer: "canvas" });
  made.setOption({ aria: { enabled: true }, textStyle: { fontFamily: "Noto Sans CJK SC, sans-serif" }, ...option });
  charts.push(made);
  return made;
}

function volumeOption(labels, perChannel, title) {
  const series = Object.entries(perChannel).map(([id, counts]) => ({
    name: channelName(id), type: "bar", stack: "来件", emphasis: { focus: "series" }, data: counts }));
  return {
    title: { text: title, textStyle: { fontSize: 14 } },
    tooltip: { trigger: "axis" },
    legend: { type: "scroll", bottom: 0 },
    grid: { left: 40, right: 12, top: 36, bottom: 56 },
    xAxis: { type: "category", data: labels, name: "", axisLabel: { hideOverlap: true } },
    yAxis: { type: "value", name: "件数", minInterval: 1 },
    series: series.length ? series : [{ name: "来件", type: "bar", data: labels.map(() => 0) }],
  };
}

function kpi(label, value, cls) {
  return el("div", { class: `kpi ${cls || ""}` }, el("b", {}, value), label);
}

function alertsList(active) {
  if (!active.length) return el("p", { class: "muted" }, "暂无告警");
  return el("ul", { class: "alerts" }, active.map((a) => el("li", {}, el("time", {}, time(a.at)), " ", zh(a.message))));
}

function deadlineTable(items, overdue) {
  const headers = ["诉求编号", "标题", "承办单位", "状态", "环节", "时限", overdue ? "已超期" : "剩余"];
  return table(headers, items.map((a) => row(headers, [appealLink(a.appeal_no), a.subject, unitName(a.unit),
    STATE[a.state] || "—", STEP[a.missed || a.waits_on] || "—", time(a.due_at), left(a.due_at)])));
}

function leagueTable(rows) {
  const headers = ["单位", "诉求件数", "按时签收", "按时答复", "退回次数", "回访数", "满意率"];
  return table(headers, rows.map((r) => row(headers, [unitName(r.unit), r.appeals,
    `${pct(r.signed.rate)}（${r.signed.on_time}/${r.signed.due}）`,
    `${pct(r.replied.rate)}（${r.replied.on_time}/${r.replied.due}）`, r.returns, r.visited, pct(r.satisfaction_rate)])),
  { "data-testid": "league" });
}

function channelTiles(items) {
  return el("div", { class: "tiles" }, items.map((c) => el("article", { class: `tile status-${c.status}`, "data-status": c.status, "data-channel": c.id },
    el("div", {}, el("span", { class: "name" }, c.name), " ", el("span", { class: "badge" }, STATUS[c.status] || "未知")),
    el("div", { class: "muted" }, `${KIND[c.kind] || "渠道"} · 近1小时 收${c.last_1h.received} 受理${c.last_1h.accepted} 拒${c.last_1h.rejected}`),
    el("div", { class: "muted" }, `最近来件 ${time(c.last_message_at)}`),
    c.reasons.length && c.status !== "disabled" ? el("div", {}, zh(c.reasons[0])) : null)));
}

function unitsTable(items, canAct, refresh) {
  const headers = ["单位", "状态", "近1小时成功率", "连续失败", "熔断器", "待投递", "原因", "操作"];
  const rows = items.filter((u) => u.status !== "healthy" || u.pending).map((u) => {
    const enable = canAct && u.status === "disabled" ? el("button", { type: "button", class: "secondary", onclick: async (e) => {
      e.target.disabled = true;
      try { await api(`/api/v1/units/${encodeURIComponent(u.id)}/enable`, { method: "POST" }); toast(`已重新启用 ${u.name} 的接收地址`); refresh(); }
      catch (err) { toast(err.message, true); e.target.disabled = false; }
    } }, "重新启用") : null;
    return row(headers, [u.name, el("span", { class: "badge" }, STATUS[u.status] || "未知"),
      u.success_rate_1h === null ? "—" : pct(u.success_rate_1h), u.consecutive_failures, BREAKER[u.breaker] || "—",
      u.pending, (u.reasons || []).map(zh).join("；") || "—", enable || "—"], { class: `status-${u.status}` });
  });
  return table(headers, rows);
}

function deadTable(items, refresh) {
  const headers = ["诉求编号", "承办单位", "尝试次数", "最后错误", "操作"];
  return table(headers, items.map((d) => row(headers, [appealLink(d.appeal_no), unitName(d.unit), d.attempts, zh(d.last_error) || "—",
    el("button", { type: "button", class: "secondary", onclick: async (e) => {
      e.target.disabled = true;
      try { await api(`/api/v1/dead-letters/${encodeURIComponent(d.delivery_id)}/replay`, { method: "POST" }); toast("已重新投递"); refresh(); }
      catch (err) { toast(err.message, true); e.target.disabled = false; }
    } }, "重新投递")])));
}

export function overview(main, _arg, me) {
  const operator = me.role !== "supervisor";
  const kpis = el("div", { class: "kpis", "aria-live": "polite" });
  const hourly = el("div", { class: "chart", "data-testid": "chart-hourly", role: "img", "aria-label": "近24小时各渠道每小时来件数" });
  const daily = el("div", { class: "chart", "data-testid": "chart-daily", role: "img", "aria-label": "近30天各渠道每天来件数" });
  const slots = Object.fromEntries(["soon", "overdue", "alerts", "league", "report", "channels", "units", "dead"].map((k) => [k, el("div", {})]));
  const card = (title, node) => el("section", { class: "card" }, el("h2", {}, title), node);
  put(main, kpis,
    el("div", { class: "grid" }, card("近24小时来件（按渠道、每小时）", hourly), card("近30天来件（按渠道、每天）", daily)),
    operator ? el("div", { class: "grid" }, card("即将超时（2小时内）", slots.soon), card("告警", slots.alerts)) : null,
    operator ? card("已超期", slots.overdue) : null,
    el("div", { class: "grid" }, card("上周报告", slots.report), card("单位排行（近30天）", slots.league)),
    card("渠道状态", slots.channels),
    operator ? card("投递异常的单位", slots.units) : null,
    operator ? card("死信（投递失败）", slots.dead) : null);
  const hourChart = chart(hourly, volumeOption([], {}, ""));
  const dayChart = chart(daily, volumeOption([], {}, ""));
  const resize = () => charts.forEach((c) => c.resize());
  window.addEventListener("resize", resize);

  async function fast() {
    try {
      const [channels, units, manual, soon, overdue, alerts, dead] = await Promise.all([
        api("/api/v1/channels"), api("/api/v1/units/health"),
        operator ? api("/api/v1/dispatch-queue") : null, operator ? api("/api/v1/due-soon?within_minutes=120") : null,
        operator ? api("/api/v1/overdue") : null, operator ? api("/api/v1/alerts") : null,
        operator ? api("/api/v1/dead-letters") : null]);
      const down = channels.items.filter((c) => c.status === "down" || c.status === "degraded").length;
      put(kpis, 
        operator ? kpi("待人工派单", manual.count, manual.count ? "warn" : "") : null,
        operator ? kpi("2小时内将超时", soon.count, soon.count ? "warn" : "") : null,
        operator ? kpi("已超期", overdue.count, overdue.count ? "bad" : "") : null,
        operator ? kpi("告警", alerts.active.length, alerts.active.length ? "bad" : "") : null,
        operator ? kpi("死信", dead.count, dead.count ? "bad" : "") : null,
        kpi("异常渠道", down, down ? "warn" : ""));
      slots.channels.replaceChildren(channelTiles(channels.items));
      if (operator) {
        slots.soon.replaceChildren(deadlineTable(soon.items, false));
        slots.overdue.replaceChildren(deadlineTable(overdue.items, true));
        slots.alerts.replaceChildren(alertsList(alerts.active));
        slots.units.replaceChildren(unitsTable(units.items, true, fast));
        slots.dead.replaceChildren(deadTable(dead.items, fast));
      }
    } catch (e) {
      put(kpis, el("p", { class: "error" }, `刷新失败：${e.message}`));
    }
  }

  async function slow() {
    try {
      const data = await api("/api/v1/overview");
      const hours = data.hours.map((h) => `${new Date(h).toLocaleString("zh-CN", { hour: "2-digit", hour12: false, timeZone: "Asia/Shanghai" })}`);
      const days = data.days.map((d) => d.slice(5));
      hourChart.setOption(volumeOption(hours, data.hourly, ""), { replaceMerge: ["series"] });
      dayChart.setOption(volumeOption(days, data.daily, ""), { replaceMerge: ["series"] });
      slots.league.replaceChildren(leagueTable(data.league));
    } catch (e) {
      slots.league.replaceChildren(el("p", { class: "error" }, `统计暂不可用：${e.message}`));
    }
  }

  async function report() { // last week's report changes no more: read once
    try {
      const week = lastWeek();
      const r = await api(`/api/v1/reports/weekly/${week}`);
      put(slots.report, el("div", { class: "kpis" },
        kpi("来件总数", r.total), kpi("及时签收率", pct(r.timely_response_rate)),
        kpi("按时答复率", pct(r.on_time_reply_rate)), kpi("满意率", pct(r.satisfaction.rate)),
        kpi("重复件", r.repeats.repeat)),
      el("a", { href: "#/reports" }, `查看 ${week.replace("-W", " 年第 ")} 周周报全文`));
    } catch (e) {
      put(slots.report, el("p", { class: "muted" }, `报告暂不可用：${e.message}`));
    }
  }

  fast(); slow(); report();
  const timers = [setInterval(fast, FAST_MS), setInterval(slow, SLOW_MS)];
  return () => {
    timers.forEach(clearInterval);
    window.removeEventListener("resize", resize);
    charts.splice(0).forEach((c) => c.dispose());
  };
}
