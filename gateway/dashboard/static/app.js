// The 12345 workbench: sign in, then the views by the address's hash (#/overview, #/queue, #/search,
// #/appeal/NO, #/reports). Every figure comes from the operator API as the signed-in person.
import { api, session } from "./api.js";
import { el, loadPhrases, names, ROLE, toast } from "./ui.js";
import { overview } from "./overview.js";
import { queue } from "./queue.js";
import { search } from "./search.js";
import { appeal } from "./appeal.js";
import { reports } from "./reports.js";

const $ = (id) => document.getElementById(id);
const VIEWS = {
  overview: { title: "概览", view: overview, roles: ["operator", "admin", "supervisor"] },
  queue: { title: "派单队列", view: queue, roles: ["operator", "admin"] },
  search: { title: "查询", view: search, roles: ["operator", "admin", "supervisor"] },
  reports: { title: "报告", view: reports, roles: ["operator", "admin", "supervisor"] },
  appeal: { title: "诉求详情", view: appeal, roles: ["operator", "admin", "supervisor"], hidden: true },
};
let stop = null; // the current view's clean-up (its refresh timer)

function signedOut(message) {
  if (stop) stop();
  stop = null;
  session.me = null;
  $("nav").hidden = true;
  $("me").hidden = true;
  $("main").replaceChildren();
  $("signin").hidden = false;
  $("signin-error").textContent = message || "";
  $("login-username").focus();
}
session.onExpired = () => { if (session.me) signedOut("登录已失效，请重新登录"); };

async function loadNames() {
  const [units, channels] = await Promise.all([api("/api/v1/units"), api("/api/v1/channels")]);
  names.units = new Map(units.items.map((u) => [u.id, u.name]));
  names.channels = new Map(channels.items.map((c) => [c.id, c.name]));
  names.accounts.set(session.me.name, session.me.name);
  $("units-list").replaceChildren(...units.items.map((u) => el("option", { value: u.name })));
}

function render() {
  const [, name, arg] = (location.hash || "#/overview").match(/^#\/(\w+)\/?([^?]*)?/) || [];
  const chosen = VIEWS[name] && VIEWS[name].roles.includes(session.me.role) ? name : "overview";
  for (const a of $("nav").querySelectorAll("a")) {
    if (a.dataset.view === chosen) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (stop) stop();
  const main = $("main");
  main.replaceChildren();
  document.title = `${VIEWS[chosen].title} · 12345 热线工作台`;
  stop = VIEWS[chosen].view(main, decodeURIComponent(arg || ""), session.me) || null;
  main.focus({ preventScroll: true });
}

async function start(me) {
  session.me = me;
  $("signin").hidden = true;
  await loadNames();
  $("me-name").textContent = `${me.name}（${ROLE[me.role] || "值班员"}）`;
  $("me").hidden = false;
  $("nav").replaceChildren(...Object.entries(VIEWS)
    .filter(([, v]) => !v.hidden && v.roles.includes(me.role))
    .map(([key, v]) => el("a", { href: `#/${key}`, "data-view": key }, me.role === "supervisor" && key === "search" ? "督办件" : v.title)));
  $("nav").hidden = false;
  render();
}

$("signin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = $("login-username").value.trim();
  const password = $("login-password").value;
  if (!name || !password) { $("signin-error").textContent = "请填写用户名和密码"; return; }
  const button = event.submitter || $("signin-form").querySelector("button");
  button.disabled = true;
  try {
    const me = await api("/api/v1/session", { method: "POST", body: { name, password } });
    $("login-password").value = "";
    $("signin-error").textContent = "";
    await start(me);
  } catch (e) {
    $("signin-error").textContent = e.message;
  } finally {
    button.disabled = false;
  }
});

$("signout").addEventListener("click", async () => {
  try { await api("/api/v1/session", { method: "DELETE" }); } catch { /* signed out anyway */ }
  signedOut("已退出");
});

window.addEventListener("hashchange", () => { if (session.me) render(); });

(async () => {
  await loadPhrases();
  try {
    await start(await api("/api/v1/session"));
  } catch {
    signedOut("");
  }
})().catch(() => toast("工作台加载失败，请刷新页面", true));
