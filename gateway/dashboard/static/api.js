// The operator API as the signed-in person: the session cookie, and the CSRF token on every change.
export const session = { me: null, onExpired: () => {} };

export class ApiError extends Error {
  constructor(status, body, retryAfter) {
    super(chinese(status, body, retryAfter));
    this.status = status;
    this.code = body && body.error ? body.error.code : "";
  }
}

const FIELDS = { name: "用户名", password: "密码", unit: "承办单位", note: "说明", deadline: "期限",
  satisfaction: "满意度", decision: "决定", q: "关键词", phone: "手机号", from: "开始日期", to: "结束日期",
  state: "状态", channel: "渠道", area: "地区", page: "页码", category: "分类" };

// What the person is told, in Chinese, of an answer that is not a success.
export function chinese(status, body, retryAfter) {
  const error = (body && body.error) || {};
  const field = error.field || (error.detail && error.detail.field);
  if (status === 400) return field ? `输入有误：${FIELDS[field] || "某一项"}不符合要求` : "输入有误，请检查后重试";
  if (status === 401) return error.detail && error.detail.reason === "sign_in_failed" ? "用户名或密码错误" : "登录已失效，请重新登录";
  if (status === 403 && error.code === "csrf") return "请求未通过安全校验，请刷新页面后重试";
  if (status === 403) return "当前角色无权进行此操作";
  if (status === 404) return "未找到，可能已被删除或编号有误";
  if (status === 409 && error.detail && error.detail.deadline) return "期限已过，请选择一个将来的时间";
  if (status === 409) return "该诉求的状态已经变化（可能他人已处理），请刷新后再试";
  if (status === 413) return "内容过长";
  if (status === 429) return `尝试过于频繁，请 ${retryAfter || "稍后"} 秒后再试`;
  if (status === 503) return "服务暂时不可用，请稍后再试";
  return "操作失败，请稍后再试";
}

export async function api(path, options) {
  const method = (options && options.method) || "GET";
  const headers = { Accept: "application/json" };
  let body;
  if (options && options.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(options.body);
  }
  if (method !== "GET" && session.me && session.me.csrf) headers["X-CSRF-Token"] = session.me.csrf;
  const response = await fetch(path, { method, headers, body, credentials: "same-origin" });
  let answer = null;
  try { answer = await response.json(); } catch { answer = null; }
  if (response.status === 401 && path !== "/api/v1/session") session.onExpired();
  if (!response.ok) throw new ApiError(response.status, answer, response.headers.get("Retry-After"));
  return answer;
}
