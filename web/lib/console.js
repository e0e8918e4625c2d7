// console.js: the shell shared by the staff console (store.html, app=emp) and the admin console (adm.html,
// app=admin): login view, sidebar of pages, top bar (who, change password, logout) and hash routing
// (`#orders`, `#users?q=...`). Each page is a module exporting {id, title, icon, mgr?, render(el, ctx)}.

import { init, callSvr, restoreLogin, login, logout, html, render, $, $$, run, toast, formDialog, E, newViewScope, isAborted } from './jdy.js';

/**
 * Starts a console. opt: `app`, `title` (e.g. 商户管理端), `loginTitle`, `unameLabel`, `pages`, `chpwd` (show
 * the change-password action), `roleName(me)` (text after the name).
 */
export function startConsole(opt) {
  const root = document.body.appendChild(document.createElement('div'));
  root.id = 'root';
  const ctx = { me: null, isMgr: false, app: opt.app, params: {}, go };
  let returnTo = null;

  init({
    app: opt.app,
    onNoAuth() {
      ctx.me = null;
      returnTo = location.hash;
      toast('登录已过期, 请重新登录', 'error');
      showLogin();
    },
  });

  function go(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  }

  function showLogin() {
    document.title = `${opt.loginTitle} - 筋斗云`;
    render(root, html`<div class="login-page"><form class="login-card" id="fLogin" autocomplete="off">
      <div class="brand"><div class="logo" aria-hidden="true">☁</div><h1>筋斗云 · ${opt.title}</h1><p>${opt.loginTitle}</p></div>
      <div class="field"><label for="uname">${opt.unameLabel || '用户名'}</label><input type="text" id="uname" name="uname" autocomplete="username" required></div>
      <div class="field"><label for="pwd">密码</label><input type="password" id="pwd" name="pwd" autocomplete="current-password" required></div>
      <button class="btn primary block" type="submit">登录</button>
    </form></div>`);
    const f = $('#fLogin');
    f.uname.focus();
    f.addEventListener('submit', (e) => {
      e.preventDefault();
      run(async () => {
        await login({ uname: f.uname.value.trim(), pwd: f.pwd.value });
        ctx.me = await callSvr('whoami');
        toast('登录成功', 'ok');
        showShell();
        const to = returnTo && returnTo !== '#' ? returnTo : `#${opt.pages[0].id}`;
        returnTo = null;
        go(to);
      }, f.querySelector('[type=submit]'));
    });
  }

  function showShell() {
    ctx.isMgr = opt.app === 'admin' || /(^|,)\s*mgr\s*(,|$)/.test(ctx.me.perms || '');
    const pages = opt.pages.filter((p) => !p.mgr || ctx.isMgr);
    render(root, html`<div class="layout">
      <aside class="side"><div class="brand"><div class="logo" aria-hidden="true">☁</div><div>筋斗云<small>${opt.title}</small></div></div>
        <nav id="nav">${pages.map((p) => html`<a href="#${p.id}" data-page="${p.id}"><span class="ico" aria-hidden="true">${p.icon}</span><span class="label">${p.title}</span></a>`)}</nav>
        <div class="foot">${opt.app === 'admin' ? '超级管理员' : '员工'}控制台</div></aside>
      <div class="main">
        <header class="topbar"><h1 id="pageTitle"></h1>
          <span class="who">当前: <b id="meName">${ctx.me.name || ctx.me.uname || ctx.me.phone || ''}</b>${opt.roleName ? html` · ${opt.roleName(ctx)}` : ''}</span>
          ${opt.chpwd ? html`<button class="btn small" id="btnChpwd">修改密码</button>` : ''}
          <button class="btn small" id="btnLogout">退出</button></header>
        <section class="content" id="content"></section>
      </div></div>`);
    $('#btnLogout').addEventListener('click', async () => {
      await logout();
      ctx.me = null;
      toast('已退出登录', 'ok');
      location.hash = '';
      showLogin();
    });
    if (opt.chpwd) $('#btnChpwd').addEventListener('click', chpwd);
  }

  async function chpwd() {
    const ok = await formDialog({
      title: '修改密码',
      fields: [
        { name: 'oldpwd', label: '原密码', type: 'password', required: true },
        { name: 'pwd', label: '新密码', type: 'password', required: true, hint: '至少4位' },
        { name: 'pwd2', label: '确认新密码', type: 'password', required: true },
      ],
      async submit(v) {
        if (v.pwd !== v.pwd2) throw new Error('两次输入的新密码不一致');
        if (v.pwd.length < 4) throw new Error('新密码至少4位');
        return callSvr('chpwd', {}, { oldpwd: v.oldpwd, pwd: v.pwd });
      },
    });
    if (ok) toast('密码已修改', 'ok');
  }

  async function route() {
    if (!ctx.me) return;
    const [id, query] = location.hash.slice(1).split('?');
    const page = opt.pages.find((p) => p.id === id) || opt.pages[0];
    ctx.params = Object.fromEntries(new URLSearchParams(query || ''));
    $$('#nav a').forEach((a) => a.classList.toggle('on', a.dataset.page === page.id));
    $('#pageTitle').textContent = page.title;
    document.title = `${page.title} - 筋斗云${opt.title}`;
    const el = document.createElement('div');
    el.className = `page-${page.id}`;
    $('#content').replaceChildren(el);
    // Reads of the page just left are aborted; an error of a page no longer shown is dropped.
    newViewScope();
    try {
      await page.render(el, ctx);
    } catch (e) {
      if (isAborted(e) || !el.isConnected || (e && e.code === E.NOAUTH)) return;
      render(el, html`<div class="err-block"><div class="title">${e && e.code === E.FORBIDDEN ? '没有权限查看' : '页面加载失败'}</div><div class="sub">${(e && (e.msg || e.message)) || ''}</div></div>`);
    }
  }

  window.addEventListener('hashchange', route);
  (async () => {
    ctx.me = await restoreLogin().catch(() => null);
    // A link to a page (store.html#checkin) opens that page once logged in.
    if (!ctx.me) {
      returnTo = location.hash;
      return showLogin();
    }
    showShell();
    route();
  })();
}
