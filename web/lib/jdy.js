// jdy.js: the small client library shared by the Jindouyun pages (m2, store, adm).
//
// What it owns:
// - calling the server with the jdcloud protocol (`callSvr`, `batch`, `makeUrl`), the app type of the page,
//   error display by code (NOAUTH leads to the page's login view, other codes show the message);
// - login state: the `_token` of the last login is kept in localStorage and `login(token)` is tried
//   automatically when the session is gone;
// - rendering: the `html` tagged template escapes EVERY interpolated value unless it was built by `html`
//   itself (or wrapped in `raw`), so server text never reaches innerHTML unescaped;
// - paging with `pagekey`/`nextkey`, toasts, dialogs and form dialogs, small formatters.
// Plain ES module, no build step.

const state = {
  app: 'user',
  apiBase: '/api',
  testMode: false,
  onNoAuth: null,
  tokenTried: false,
  view: null, // the AbortController of the current view (see newViewScope)
};

/**
 * Starts a new view: the reads (GET calls) still running for the previous view are aborted, so an answer that
 * arrives after the person left a view is dropped instead of being rendered into a page that is gone. Routers
 * call this before rendering a view. Writes are never aborted (the person must learn how they ended). An
 * aborted call rejects with an `ApiError` of code `E.ABORT` that is never shown.
 */
export function newViewScope() {
  if (state.view) state.view.abort();
  state.view = new AbortController();
  return state.view.signal;
}

/** True for the rejection of a call aborted because its view was left. */
export function isAborted(e) {
  return !!e && e.code === E.ABORT;
}

/** An error reply of the server (`[code, msg, internal]`) or a network failure (code -2). */
export class ApiError extends Error {
  constructor(code, msg, internal) {
    super(msg || DEFAULT_MSG[code] || '操作失败');
    this.code = code;
    this.msg = this.message;
    this.internal = internal;
    this.shown = false;
  }
}

/** Error codes of the protocol. */
export const E = { ABORT: -100, EXT: -2, AUTHFAIL: -1, OK: 0, PARAM: 1, NOAUTH: 2, DB: 3, SERVER: 4, FORBIDDEN: 5 };

const DEFAULT_MSG = {
  [-100]: '中止执行', [-2]: '接口调用错误', [-1]: '认证失败', 1: '参数不正确', 2: '未登录', 3: '数据库错误',
  4: '服务器错误', 5: '禁止操作',
};

/**
 * Sets up the library for a page: `app` (the `_app` sent with every call) and `onNoAuth(err)`, called when a
 * call finds the caller not logged in (and the saved token could not log in again).
 */
export function init(opts) {
  Object.assign(state, opts);
}

/** The `_app` of this page. */
export function appName() {
  return state.app;
}

/** True once a reply said the server runs in test mode (`X-Daca-Test-Mode`). */
export function isTestMode() {
  return state.testMode;
}

/** The URL of a call, e.g. for download links: `makeUrl('Ordr.query', {fmt: 'csv'})`. */
export function makeUrl(ac, params) {
  const q = new URLSearchParams();
  q.set('_app', state.app);
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== '') q.set(k, typeof v === 'object' ? JSON.stringify(v) : v);
  }
  return `${state.apiBase}/${ac}?${q}`;
}

function hasNested(data) {
  return Array.isArray(data) || Object.values(data).some((v) => v !== null && typeof v === 'object');
}

/**
 * Calls `ac` with URL `params` and, if `data` is given, a POST body (FormData → multipart; objects with
 * nested values or arrays → JSON; flat objects → urlencoded). Resolves with the data of `[0, data]`;
 * rejects with an `ApiError` that has already been shown to the person (unless `opts.silent`). A read belongs
 * to the current view (see `newViewScope`) unless `opts.unscoped`; `opts.signal` gives it another one.
 * A NOAUTH reply first tries `login(token)` with the saved token and repeats the call once.
 */
export async function callSvr(ac, params, data, opts = {}) {
  const req = { method: data === undefined ? 'GET' : 'POST', credentials: 'same-origin', headers: {} };
  if (data !== undefined) {
    if (data instanceof FormData) {
      req.body = data;
    } else if (hasNested(data)) {
      req.body = JSON.stringify(data);
      req.headers['Content-Type'] = 'application/json';
    } else {
      const body = new URLSearchParams();
      for (const [k, v] of Object.entries(data)) if (v !== undefined && v !== null) body.set(k, v);
      req.body = body;
    }
  }
  const scoped = data === undefined && !opts.unscoped && state.view;
  const signal = opts.signal || (scoped ? state.view.signal : undefined);
  if (signal) req.signal = signal;
  let resp;
  let text;
  try {
    resp = await fetch(makeUrl(ac, params), req);
    text = await resp.text();
  } catch (e) {
    if (signal && signal.aborted) throw report(new ApiError(E.ABORT, '已离开页面', `${ac} aborted`), opts);
    throw report(new ApiError(E.EXT, '网络错误, 请检查网络后重试', String(e)), opts);
  }
  if (resp.headers.get('X-Daca-Test-Mode')) state.testMode = true;
  let ret;
  try {
    ret = JSON.parse(text);
  } catch {
    throw report(new ApiError(E.SERVER, `服务器返回格式错误(HTTP ${resp.status})`, text.slice(0, 200)), opts);
  }
  if (ret[0] === 0) {
    if (ac === 'login' || ac === 'chpwd' || ac === 'refreshToken') saveToken(ret[1]);
    return ret[1];
  }
  const err = new ApiError(ret[0], ret[1], ret[2]);
  if (err.code === E.NOAUTH && ac !== 'login' && !opts.noRetry && (await tryTokenLogin())) {
    return callSvr(ac, params, data, { ...opts, noRetry: true });
  }
  throw report(err, opts);
}

/**
 * Shows an error once: NOAUTH → the page's login view; ABORT → nothing; others → an error toast, unless
 * `opts.quiet` (the caller shows the error in the page itself, e.g. an error view).
 */
function report(err, opts) {
  if (opts.silent || err.shown) return err;
  err.shown = true;
  if (err.code === E.ABORT) return err;
  if (err.code === E.NOAUTH && state.onNoAuth) {
    state.onNoAuth(err);
  } else if (!opts.quiet) {
    toast(err.msg, 'error');
  }
  console.warn(`[jdy] ${err.code} ${err.msg}`, err.internal ?? '');
  return err;
}

/**
 * `batch` call: `calls` = [{ac, params?, data?}]. Resolves with one `{ok, data}` or `{ok:false, error}` per call.
 * `useTrans` runs them in one transaction (after a failure the rest are cancelled and rolled back).
 */
export async function batch(calls, { useTrans = false } = {}) {
  const body = calls.map((c) => ({ ac: c.ac, get: c.params || {}, post: c.data || {} }));
  const rets = await callSvr('batch', useTrans ? { useTrans: 1 } : {}, body);
  return rets.map((r) => (r[0] === 0 ? { ok: true, data: r[1] } : { ok: false, error: new ApiError(r[0], r[1], r[2]) }));
}

// ---------------------------------------------------------------------------------------------------------------
// Login state

const tokenKey = () => `jdy.token.${state.app.replace(/(\d+|-\w+)$/, '')}`;

/** Remembers the `_token` of a login/chpwd reply. */
export function saveToken(ret) {
  if (ret && ret._token) localStorage.setItem(tokenKey(), ret._token);
}

/** Forgets the saved token (logout). */
export function clearToken() {
  localStorage.removeItem(tokenKey());
}

async function tryTokenLogin() {
  const token = localStorage.getItem(tokenKey());
  if (!token) return false;
  try {
    await callSvr('login', {}, { token }, { silent: true });
    return true;
  } catch {
    clearToken();
    return false;
  }
}

/**
 * Who is logged in: `whoami`, falling back to `login(token)` with the saved token. Resolves with the
 * account or null; never shows an error for "not logged in".
 */
export async function restoreLogin() {
  // Without a saved token this browser has not logged in to this app (every login saves one): asking the
  // server would only produce a "not logged in" answer, which the call statistics would count as a failure.
  if (!localStorage.getItem(tokenKey())) return null;
  try {
    return await callSvr('whoami', {}, undefined, { silent: true, unscoped: true });
  } catch (e) {
    if (e.code === E.NOAUTH) return null;
    throw report(e, {});
  }
}

/** `login(uname, pwd|code)`; the token is saved. */
export function login(params) {
  return callSvr('login', {}, params);
}

/** `logout()` and forget the token (the local state is cleared even if the server call fails). */
export async function logout() {
  try {
    await callSvr('logout', {}, {}, { silent: true });
  } finally {
    clearToken();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Escaping and rendering

class Safe {
  constructor(s) {
    this.s = s;
  }
  toString() {
    return this.s;
  }
}

/** Escapes text for HTML content and quoted attributes. */
export function esc(v) {
  if (v === null || v === undefined) return '';
  return String(v).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

/** Marks a string as already-safe HTML. Only for markup written in this code, never for server text. */
export function raw(s) {
  return new Safe(String(s));
}

function part(v) {
  if (v instanceof Safe) return v.s;
  if (Array.isArray(v)) return v.map(part).join('');
  if (v === null || v === undefined || v === false) return '';
  return esc(v);
}

/** Tagged template: `html\`<td>${name}</td>\`` escapes every value; nested `html` results and arrays of them stay markup. */
export function html(strings, ...vals) {
  let out = strings[0];
  vals.forEach((v, i) => {
    out += part(v) + strings[i + 1];
  });
  return new Safe(out);
}

/** Puts `content` (an `html` result, or plain text which is escaped) into `el`. */
export function render(el, content) {
  el.innerHTML = part(content);
  return el;
}

/** `document.querySelector` with an optional root. */
export function $(sel, root = document) {
  return root.querySelector(sel);
}

/** `querySelectorAll` as an array. */
export function $$(sel, root = document) {
  return [...root.querySelectorAll(sel)];
}

/** Delegated event: `on(root, 'click', '[data-act]', (e, el) => ...)`. */
export function on(root, type, sel, fn) {
  root.addEventListener(type, (e) => {
    const el = e.target.closest(sel);
    if (el && root.contains(el)) fn(e, el);
  });
}

/**
 * Wraps an async action: errors not yet shown become an error toast; while it runs, `btn` (if given) is disabled.
 * Returns the action's result, or undefined after an error.
 */
export async function run(fn, btn) {
  if (btn) btn.disabled = true;
  try {
    return await fn();
  } catch (e) {
    if (!e || !e.shown) toast((e && e.message) || String(e), 'error');
    return undefined;
  } finally {
    if (btn) btn.disabled = false;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Formatting

/** `500` / `"500.00"` → `¥500.00`. */
export function fmtMoney(v) {
  if (v === null || v === undefined || v === '') return '';
  const n = Number(v);
  return Number.isFinite(n) ? `¥${n.toFixed(2)}` : String(v);
}

/** `2024-05-01 10:00:00` → `2024-05-01 10:00`. */
export function fmtTm(v) {
  return v ? String(v).slice(0, 16) : '';
}

/** Today (local) as `YYYY-MM-DD`, optionally shifted by `days`. */
export function ymd(days = 0, from = new Date()) {
  const d = new Date(from.getTime() + days * 86400000);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/** Order and order-log status labels (the server's `statusName`/`actionName` are preferred when present). */
export const ORDER_STATUS = { CR: '新创建', PA: '已付款', RE: '已完成', CA: '已取消', RF: '已退款', ST: '服务中', CL: '已结算' };

/** A coloured status badge. */
export function statusBadge(code, label) {
  return html`<span class="badge st-${code || 'none'}">${label || ORDER_STATUS[code] || code || '-'}</span>`;
}

/** A literal for `cond`: numbers as they are, text single-quoted with `'` doubled. */
export function lit(v) {
  return typeof v === 'number' ? String(v) : `'${String(v).replace(/'/g, "''")}'`;
}

/** Joins non-empty cond pieces with AND. */
export function andCond(parts) {
  return parts.filter(Boolean).join(' AND ');
}

// ---------------------------------------------------------------------------------------------------------------
// Paging

/**
 * Keyset pager over a query: each `next()` fetches one page (`fmt=list`, `pagekey` = the previous `nextkey`)
 * and resolves with its rows; `done` is true after the last page.
 */
export class Pager {
  constructor(ac, params) {
    this.ac = ac;
    this.params = params;
    this.key = null;
    this.done = false;
    this.loading = false;
    this.count = 0;
  }

  async next() {
    if (this.done || this.loading) return [];
    this.loading = true;
    try {
      const p = { ...this.params, fmt: 'list' };
      if (this.key !== null) p.pagekey = this.key;
      const r = await callSvr(this.ac, p);
      this.key = r.nextkey ?? null;
      this.done = this.key === null;
      this.count += r.list.length;
      return r.list;
    } finally {
      this.loading = false;
    }
  }
}

/**
 * Calls `more()` while `sentinel` is within 200 px of the viewport (the page scrolls the window), until `more()`
 * resolves to false or throws. Returns a stop function.
 */
export function infiniteScroll(sentinel, more) {
  let busy = false;
  let stopped = false;
  const near = () => sentinel.isConnected && sentinel.getBoundingClientRect().top < window.innerHeight + 200;
  const io = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) pump();
  }, { rootMargin: '200px' });
  const stop = () => {
    stopped = true;
    io.disconnect();
  };
  async function pump() {
    if (busy || stopped) return;
    busy = true;
    try {
      // A short page may not fill the screen: keep loading while the sentinel is still in view.
      while (!stopped && near()) {
        if ((await more()) === false) stop();
      }
    } catch {
      stop();
    } finally {
      busy = false;
    }
  }
  io.observe(sentinel);
  return stop;
}

// ---------------------------------------------------------------------------------------------------------------
// Toasts and dialogs

function layer(cls) {
  let el = document.querySelector(`.${cls}`);
  if (!el) {
    el = document.createElement('div');
    el.className = cls;
    document.body.appendChild(el);
  }
  return el;
}

/** A short message at the top of the page: type `info`, `ok` or `error`. */
export function toast(msg, type = 'info', ms = 2600) {
  const box = layer('jdy-toasts');
  const el = document.createElement('div');
  el.className = `jdy-toast ${type}`;
  el.setAttribute('role', type === 'error' ? 'alert' : 'status');
  el.textContent = msg;
  box.appendChild(el);
  setTimeout(() => el.classList.add('out'), ms);
  setTimeout(() => el.remove(), ms + 400);
}

/**
 * A modal dialog. `body` is an `html` result; `buttons` = [{text, value, kind: 'primary'|'danger'|''}].
 * Resolves with the value of the button pressed (null for Esc/close). `onOpen(box)` may wire the body;
 * `beforeClose(value, box)` may return false (or a Promise of false) to keep the dialog open.
 */
export function dialog({ title, body, buttons = [{ text: '确定', value: true, kind: 'primary' }], onOpen, beforeClose, wide }) {
  return new Promise((resolve) => {
    const mask = document.createElement('div');
    mask.className = 'jdy-mask';
    render(mask, html`<div class="jdy-dialog${wide ? ' wide' : ''}" role="dialog" aria-modal="true" aria-label="${title || ''}">
      ${title ? html`<div class="jdy-dialog-title">${title}<button class="jdy-x" data-v="__close" aria-label="关闭">×</button></div>` : ''}
      <div class="jdy-dialog-body">${body}</div>
      <div class="jdy-dialog-btns">${buttons.map((b, i) => html`<button class="btn ${b.kind || ''}" data-i="${i}">${b.text}</button>`)}</div>
    </div>`);
    document.body.appendChild(mask);
    const box = mask.querySelector('.jdy-dialog');
    const close = async (v) => {
      if (beforeClose && v !== null && (await beforeClose(v, box)) === false) return;
      document.removeEventListener('keydown', onKey);
      mask.remove();
      resolve(v);
    };
    const onKey = (e) => {
      if (e.key === 'Escape') close(null);
    };
    document.addEventListener('keydown', onKey);
    on(mask, 'click', 'button[data-i]', (e, b) => {
      e.preventDefault();
      const btn = buttons[Number(b.dataset.i)];
      run(() => close(btn.value), b);
    });
    on(mask, 'click', '[data-v="__close"]', () => close(null));
    if (onOpen) onOpen(box);
    const first = box.querySelector('input,select,textarea');
    (first || box.querySelector('button.primary') || box).focus?.();
  });
}

/** Asks yes/no; resolves true for OK. */
export async function confirmDlg(msg, { title = '请确认', okText = '确定', cancelText = '取消', danger = false } = {}) {
  const v = await dialog({
    title,
    body: html`<p class="jdy-confirm">${msg}</p>`,
    buttons: [{ text: cancelText, value: false }, { text: okText, value: true, kind: danger ? 'danger' : 'primary' }],
  });
  return v === true;
}

/**
 * A form in a dialog. `fields` = [{name, label, type: text|password|number|textarea|select|checks|date,
 * value, options: [[value, label]], required, placeholder, readonly, hint, render}] (`render()` draws a custom
 * control whose value is kept in a hidden input of the field's name). `onOpen(box)` wires such controls. `submit(values)` runs on OK; if it throws,
 * the dialog stays open (the error is shown). Resolves with submit's result, or null when cancelled.
 */
export function formDialog({ title, fields, okText = '保存', submit, wide, onOpen }) {
  let result = null;
  const body = html`<form class="jdy-form" autocomplete="off">${fields.map((f) => formField(f))}</form>`;
  return dialog({
    title,
    body,
    wide,
    buttons: [{ text: '取消', value: false }, { text: okText, value: true, kind: 'primary' }],
    onOpen(box) {
      box.querySelector('form').addEventListener('submit', (e) => {
        e.preventDefault();
        box.querySelector('.jdy-dialog-btns .primary').click();
      });
      if (onOpen) onOpen(box);
    },
    async beforeClose(v, box) {
      if (v !== true) return true;
      const form = box.querySelector('form');
      if (!form.reportValidity()) return false;
      const values = formValues(form, fields);
      try {
        result = submit ? await submit(values) : values;
      } catch (e) {
        if (!e || !e.shown) toast((e && e.message) || String(e), 'error');
        return false;
      }
      return true;
    },
  }).then((v) => (v === true ? result ?? true : null));
}

/** One labelled form control (used by `formDialog` and by pages). */
export function formField(f) {
  const id = `f-${f.name}`;
  const common = { name: f.name, id };
  let ctl;
  if (f.render) {
    // A control the page draws itself; its value travels in a hidden input of the field's name.
    ctl = html`<input type="hidden" name="${common.name}" id="${id}" value="${f.value ?? ''}">${f.render()}`;
  } else if (f.type === 'textarea') {
    ctl = html`<textarea name="${common.name}" id="${id}" rows="${f.rows || 3}" placeholder="${f.placeholder || ''}" ${f.required ? raw('required') : ''} ${f.readonly ? raw('readonly') : ''}>${f.value ?? ''}</textarea>`;
  } else if (f.type === 'select') {
    ctl = html`<select name="${common.name}" id="${id}" ${f.required ? raw('required') : ''}>${f.options.map(
      ([v, l]) => html`<option value="${v}" ${String(v) === String(f.value ?? '') ? raw('selected') : ''}>${l}</option>`,
    )}</select>`;
  } else if (f.type === 'checks') {
    const cur = new Set(String(f.value || '').split(',').map((s) => s.trim()).filter(Boolean));
    ctl = html`<span class="checks" id="${id}">${f.options.map(
      ([v, l]) => html`<label><input type="checkbox" name="${f.name}" value="${v}" ${cur.has(v) ? raw('checked') : ''}> ${l}</label>`,
    )}</span>`;
  } else {
    ctl = html`<input type="${f.type || 'text'}" name="${common.name}" id="${id}" value="${f.value ?? ''}" placeholder="${f.placeholder || ''}"
      ${f.required ? raw('required') : ''} ${f.readonly ? raw('readonly') : ''} ${f.step ? html`step="${f.step}"` : ''} ${f.min !== undefined ? html`min="${f.min}"` : ''}
      ${f.pattern ? html`pattern="${f.pattern}"` : ''} ${f.autocomplete ? html`autocomplete="${f.autocomplete}"` : ''}>`;
  }
  return html`<div class="field"><label for="${id}">${f.label}${f.required ? html`<i class="req">*</i>` : ''}</label>${ctl}${f.hint ? html`<div class="hint">${f.hint}</div>` : ''}</div>`;
}

/** Values of a form by field name; `checks` fields become comma lists. */
export function formValues(form, fields) {
  const out = {};
  for (const f of fields) {
    if (f.type === 'checks') {
      out[f.name] = $$(`input[name="${f.name}"]:checked`, form).map((i) => i.value).join(',');
    } else if (form.elements[f.name]) {
      out[f.name] = form.elements[f.name].value.trim();
    }
  }
  return out;
}

/** The empty-state block shown instead of an empty list. */
export function emptyState(text, sub) {
  return html`<div class="empty"><div class="empty-icon" aria-hidden="true">☁</div><div class="empty-text">${text}</div>${sub ? html`<div class="empty-sub">${sub}</div>` : ''}</div>`;
}
