// m2.js: the user app (app=user) for phones. Views are chosen by the URL hash:
//   #shows  #city  #event/{id} (the catalogue, open to guests; shows.js)
//   #seats/{showingId}  #buy/{showingId}  #checkout  #tickets (buying; buy.js)
//   #trains  #trainbuy  #passengers (train tickets; trains.js)
//   #qr/{qrId} (confirm a desktop's QR login; opened by scanning web/login.html's code)
//   #login  #setinfo (after auto-registration)  #home  #orders  #order/{id}  #new  #me  #chpwd
// Every call goes through /web/lib/jdy.js, which escapes every value rendered and sends NOAUTH to the login view.

import {
  init, callSvr, restoreLogin, login, logout, html, render, $, $$, on, run, toast, confirmDlg, formDialog,
  emptyState, fmtMoney, fmtTm, statusBadge, makeUrl, isTestMode, Pager, infiniteScroll, lit, E, newViewScope,
  isAborted,
} from '/web/lib/jdy.js';
import { timeline, attList } from '/web/lib/order-parts.js';
import { catalogueViews } from './shows.js';
import { buyViews, ticketOrder } from './buy.js';
import { trainViews } from './trains.js';

const app = $('#app');
const tabbar = $('#tabbar');
let me = null; // the logged-in user (User.get fields), null when logged out
let afterLogin = '#home'; // where to go once logged in
let stopScroll = null; // stops the infinite scroll of the order list
let view = null; // the element of the current view; its delegated handlers go away with it

/** Replaces the current view with new content and returns its element. */
function mount(content) {
  view = document.createElement('div');
  view.className = 'view';
  render(view, content);
  app.replaceChildren(view);
  return view;
}

init({
  app: 'user',
  onNoAuth() {
    me = null;
    toast('登录已过期, 请重新登录', 'error');
    const cur = location.hash || '#home';
    if (!cur.startsWith('#login')) afterLogin = cur;
    go('#login');
  },
});

const catalogue = catalogueViews({ mount, bar, go: (h) => go(h), setStop: (f) => { stopScroll = f; } });
/** Sends a guest to the login view and back to `hash` afterwards; true if it did. */
function needLogin(hash) {
  if (me) return false;
  afterLogin = hash;
  toast('请先登录', 'info');
  go('#login');
  return true;
}
const buying = buyViews({ mount, bar, go: (h) => go(h), getMe: () => me, needLogin });
const trains = trainViews({ mount, bar, go: (h) => go(h), getMe: () => me, needLogin });
const views = { ...catalogue, ...buying, ...trains, qr: viewQrConfirm, login: viewLogin, setinfo: viewSetInfo, home: viewHome, orders: viewOrders, order: viewOrder, new: viewNew, me: viewMe, chpwd: viewChpwd };
const TAB_VIEWS = new Set(['shows', 'trains', 'home', 'orders', 'me']);
// The catalogue is for everyone: a guest browses and logs in when it wants to buy or see its orders.
const PUBLIC_VIEWS = new Set(['login', 'shows', 'city', 'event', 'seats', 'buy', 'trains']);

function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

let routeSeq = 0; // number of the latest route(); a view started by an earlier one is stale

/**
 * Renders the view of the current hash (`#order/12` → views.order('12')). Leaving a view aborts its
 * reads still in flight (newViewScope), and whatever a stale view still does (an error included) is
 * dropped, so a slow answer never lands in the view that replaced it.
 */
async function route() {
  if (stopScroll) stopScroll();
  stopScroll = null;
  newViewScope();
  const seq = ++routeSeq;
  const [name, arg] = (location.hash.slice(1) || (me ? 'home' : 'shows')).split('/');
  const vname = views[name] ? name : me ? 'home' : 'shows';
  if (!me && !PUBLIC_VIEWS.has(vname)) {
    afterLogin = location.hash || '#home';
    return go('#login');
  }
  if (me && vname === 'login') return go('#home');
  tabbar.hidden = !TAB_VIEWS.has(vname);
  app.classList.toggle('no-tabs', !TAB_VIEWS.has(vname));
  $$('a', tabbar).forEach((a) => a.classList.toggle('on', a.dataset.tab === vname));
  window.scrollTo(0, 0);
  try {
    await views[vname](arg);
  } catch (e) {
    if (seq !== routeSeq || isAborted(e) || (e && e.code === E.NOAUTH)) return;
    showError(vname, e);
  }
}

/**
 * The error view: says in a buyer's words what happened and what to do next, and keeps the tab bar, so
 * there is always a way on. 重试 renders the same view again (the hash does not change, so a link would not).
 */
function showError(vname, e) {
  const notFound = e && e.code === E.PARAM;
  const what = {
    order: notFound ? ['订单不存在或不属于你', '请在「我的订单」中查看你的订单'] : null,
    event: notFound ? ['演出不存在或已下架', '去看看其它演出吧'] : null,
  }[vname] || (e && e.code === E.EXT ? ['网络不太稳定', '请检查网络后重试'] : ['页面没有加载出来', (e && e.msg) || '请稍后重试']);
  tabbar.hidden = false;
  app.classList.remove('no-tabs');
  mount(html`${bar({ order: '订单详情', event: '演出详情' }[vname] || '出错了')}
    <div class="page">${emptyState(what[0], what[1])}
      <div class="err-acts">
        ${vname === 'order' ? html`<a class="btn primary" href="#orders">查看我的订单</a>`
          : vname === 'event' && notFound ? html`<a class="btn primary" href="#shows">看看其它演出</a>` : html`<button class="btn primary" data-retry>重试</button>`}
        <a class="btn" href="${me ? '#home' : '#shows'}">返回首页</a>
      </div></div>`);
}

on(app, 'click', '[data-retry]', () => route());

function bar(title, back) {
  return html`<header class="bar ${back ? '' : 'plain'}">${back ? html`<button class="back" data-back="${back}" aria-label="返回">‹</button>` : ''}<h1>${title}</h1></header>`;
}

// Back goes to the previous view of this app if there is one, else to the view named by the button.
let inAppNavs = 0;
on(app, 'click', '[data-back]', (e, b) => {
  if (inAppNavs > 0) history.back();
  else go(b.dataset.back);
});

function maskPhone(p) {
  return p ? String(p).replace(/^(\d{3})\d{4}(\d{4})$/, '$1****$2') : '';
}

async function loadMe() {
  me = await callSvr('User.get');
  return me;
}

// ---------------------------------------------------------------------------------------------------------------
// Login and first-time setup

function viewLogin() {
  tabbar.hidden = true;
  let mode = 'code';
  mount(html`<div class="login">
    <div class="brand"><div class="logo" aria-hidden="true">☁</div><h1>筋斗云</h1><p>演出 · 电影 · 出行, 一站购票</p></div>
    <div class="card">
      <div class="tabs" role="tablist">
        <button class="on" data-mode="code" role="tab">验证码登录</button>
        <button data-mode="pwd" role="tab">密码登录</button>
      </div>
      <form id="fCode" autocomplete="off">
        <div class="field"><input type="tel" name="phone" maxlength="11" placeholder="请输入手机号" aria-label="手机号" required></div>
        <div class="field code-row"><input type="text" name="code" maxlength="6" inputmode="numeric" placeholder="验证码" aria-label="验证码" required>
          <button type="button" class="btn" id="btnGenCode">获取验证码</button></div>
        <button class="btn primary block" type="submit">登录 / 注册</button>
        <div class="hint">未注册的手机号验证后将自动注册</div>
      </form>
      <form id="fPwd" hidden>
        <div class="field"><input type="text" name="uname" placeholder="手机号或用户名" aria-label="手机号或用户名" autocomplete="username" required></div>
        <div class="field"><input type="password" name="pwd" placeholder="密码" aria-label="密码" autocomplete="current-password" required></div>
        <button class="btn primary block" type="submit">登录</button>
        <div class="hint">还没有密码? 请用验证码登录后在「我的」中设置</div>
      </form>
    </div>
  </div>`);
  const fCode = $('#fCode');
  const fPwd = $('#fPwd');
  on(view, 'click', '[data-mode]', (e, b) => {
    mode = b.dataset.mode;
    $$('[data-mode]', view).forEach((x) => x.classList.toggle('on', x === b));
    fCode.hidden = mode !== 'code';
    fPwd.hidden = mode !== 'pwd';
  });
  $('#btnGenCode').addEventListener('click', () => sendCode(fCode.phone.value.trim(), $('#btnGenCode'), fCode.code));
  fCode.addEventListener('submit', (e) => {
    e.preventDefault();
    const phone = fCode.phone.value.trim();
    if (!/^1\d{10}$/.test(phone)) return toast('请输入11位手机号', 'error');
    run(() => loginDone(login({ uname: phone, code: fCode.code.value.trim() })), fCode.querySelector('[type=submit]'));
  });
  fPwd.addEventListener('submit', (e) => {
    e.preventDefault();
    run(() => loginDone(login({ uname: fPwd.uname.value.trim(), pwd: fPwd.pwd.value })), fPwd.querySelector('[type=submit]'));
  });
}

/**
 * `genCode(phone)` with a 60-second resend countdown on `btn`. In test mode the server returns the code
 * (debug=1) and it is filled in for the tester.
 */
export async function sendCode(phone, btn, codeInput) {
  if (!/^1\d{10}$/.test(phone)) return toast('请输入11位手机号', 'error');
  // Whether the server runs in test mode is known from any earlier answer; a first call learns it.
  if (!isTestMode()) await callSvr('initClient', {}, undefined, { quiet: true }).catch(() => null);
  const ret = await run(() => callSvr('genCode', { phone, debug: isTestMode() ? 1 : undefined }), btn);
  if (ret === undefined) return;
  if (ret && ret.code) {
    codeInput.value = ret.code;
    toast(`测试模式: 验证码 ${ret.code} 已自动填入`, 'ok');
  } else {
    toast('验证码已发送, 5分钟内有效', 'ok');
  }
  let left = 60;
  btn.disabled = true;
  const tick = () => {
    if (!btn.isConnected) return;
    if (left <= 0) {
      btn.disabled = false;
      btn.textContent = '重新发送';
      return;
    }
    btn.textContent = `${left}秒后重发`;
    left -= 1;
    setTimeout(tick, 1000);
  };
  tick();
  codeInput.focus();
}

async function loginDone(p) {
  const ret = await p;
  await loadMe();
  if (ret._isNew) {
    toast('注册成功', 'ok');
    return go('#setinfo');
  }
  toast('登录成功', 'ok');
  const to = afterLogin && !afterLogin.startsWith('#login') ? afterLogin : '#home';
  afterLogin = '#home';
  go(to);
}

function viewSetInfo() {
  mount(html`${bar('完善信息')}
  <div class="page">
    <div class="card">
      <h2>欢迎加入筋斗云</h2>
      <p class="muted" style="margin-top:-4px">设置昵称和登录密码, 以后也可以用密码登录。</p>
      <form id="fInfo" autocomplete="off">
        <div class="field"><label for="nm">昵称</label><input type="text" id="nm" name="name" maxlength="20" value="${me.name || ''}" required></div>
        <div class="field"><label for="pw">登录密码</label><input type="password" id="pw" name="pwd" minlength="4" placeholder="至少4位, 可不填" autocomplete="new-password"></div>
        <div class="field"><label for="pw2">确认密码</label><input type="password" id="pw2" name="pwd2" autocomplete="new-password"></div>
        <button class="btn primary block" type="submit">完成</button>
        <button class="btn ghost block" type="button" id="skip" style="margin-top:8px">跳过</button>
      </form>
    </div>
  </div>`);
  const f = $('#fInfo');
  // A new buyer who registered on the way to a purchase goes on to it afterwards.
  const next = () => {
    const to = afterLogin && !afterLogin.startsWith('#login') ? afterLogin : '#home';
    afterLogin = '#home';
    go(to);
  };
  $('#skip').addEventListener('click', next);
  f.addEventListener('submit', (e) => {
    e.preventDefault();
    if (f.pwd.value !== f.pwd2.value) return toast('两次输入的密码不一致', 'error');
    run(async () => {
      await callSvr('User.set', {}, { name: f.name.value.trim() });
      if (f.pwd.value) await callSvr('chpwd', {}, { oldpwd: '_none', pwd: f.pwd.value });
      await loadMe();
      toast('设置成功', 'ok');
      next();
    }, f.querySelector('[type=submit]'));
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Home

const STATUS_TABS = [['', '全部'], ['CR', '新创建'], ['PA', '已付款'], ['RE', '已完成'], ['CA', '已取消']];

async function viewHome() {
  mount(html`${bar('筋斗云')}
  <div class="page">
    <section class="hero"><div class="hi">你好, ${me.name || maskPhone(me.phone)}</div><p>专业上门服务, 一键下单</p>
      <a class="btn" href="#new">立即下单</a></section>
    <section class="card"><h2>我的订单 <a href="#orders">全部订单 ›</a></h2><div class="stats" id="stats">…</div></section>
    <section class="card"><h2>最近订单</h2><div id="recent"></div></section>
  </div>`);
  const v = view;
  const [byStatus, recent] = await Promise.all([
    callSvr('Ordr.query', { gres: 'status', res: 'count(*) cnt', fmt: 'array' }),
    callSvr('Ordr.query', { orderby: 'id desc', pagesz: 3, fmt: 'list' }),
  ]);
  const cnt = Object.fromEntries(byStatus.map((r) => [r.status, r.cnt]));
  render($('#stats', v), STATUS_TABS.slice(1).map(([k, l]) => html`<a href="#orders/${k}" data-st="${k}"><b>${cnt[k] || 0}</b><span>${l}</span></a>`));
  render($('#recent', v), recent.list.length
    ? html`<ul class="olist">${recent.list.map(orderItem)}</ul>`
    : emptyState('还没有订单', html`<a href="#new">去下第一单</a>`));
}

function orderItem(o) {
  return html`<li><a href="#order/${o.id}" data-order="${o.id}">
    <div class="row1"><span class="dscr">${o.eventName || o.dscr || '(无描述)'}</span>${statusBadge(o.status, o.statusName)}</div>
    <div class="row2"><span>订单号 ${o.id} · ${fmtTm(o.createTm)}</span><span class="amt">${fmtMoney(o.amount)}</span></div>
  </a></li>`;
}

// ---------------------------------------------------------------------------------------------------------------
// Order list with status filter and infinite scroll

async function viewOrders(status = '') {
  mount(html`${bar('我的订单')}
  <div class="chips" role="tablist">${STATUS_TABS.map(([k, l]) => html`<button data-st="${k}" class="${k === status ? 'on' : ''}" role="tab">${l}</button>`)}</div>
  <div class="page"><ul class="olist" id="olist"></ul><div class="more" id="more">加载中…</div></div>`);
  on(view, 'click', '.chips [data-st]', (e, b) => go(b.dataset.st ? `#orders/${b.dataset.st}` : '#orders'));
  const list = $('#olist');
  const more = $('#more');
  const pager = new Pager('Ordr.query', { orderby: 'id desc', pagesz: 10, cond: status ? `status=${lit(status)}` : undefined });
  stopScroll = infiniteScroll(more, async () => {
    let rows;
    try {
      rows = await pager.next();
    } catch (e) {
      if (isAborted(e)) return false;
      render(more, html`加载失败, <button class="link" data-retry>点此重试</button>`);
      throw e;
    }
    list.insertAdjacentHTML('beforeend', String(html`${rows.map(orderItem)}`));
    if (pager.done) {
      render(more, pager.count ? html`— 共 ${pager.count} 个订单 —` : emptyState(status ? '没有该状态的订单' : '还没有订单', html`<a href="#new">去下单</a>`));
      return false;
    }
    return true;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Order detail: fields, timeline, attachments, cancel

const STATUS_HINT = { CR: '订单已提交, 等待服务', PA: '已付款, 等待服务', RE: '服务已完成, 感谢使用', CA: '订单已取消', RF: '已退款' };

async function viewOrder(id) {
  // A missing or foreign order ends in the error view (showError), which says so; no toast besides.
  const o = await callSvr('Ordr.get', { id }, undefined, { quiet: true });
  if (o.showingId || o.runId) return viewTicketOrder(o, id);
  const canCancel = o.status === 'CR';
  mount(html`${bar('订单详情', '#orders')}
  <div class="page" style="${canCancel ? 'padding-bottom:70px' : ''}">
    <section class="card status-head st-${o.status}"><div><div class="big">${o.statusName || o.status}</div><div class="muted">${STATUS_HINT[o.status] || ''}</div></div>
      <div class="amt">${fmtMoney(o.amount)}</div></section>
    <section class="card"><h2>订单信息</h2>
      <dl class="kv">
        <dt>订单号</dt><dd id="oid">${o.id}</dd>
        <dt>服务内容</dt><dd id="odscr">${o.dscr || '-'}</dd>
        <dt>金额</dt><dd>${fmtMoney(o.amount)}</dd>
        <dt>下单时间</dt><dd>${fmtTm(o.createTm)}</dd>
        ${o.cmt ? html`<dt>备注</dt><dd>${o.cmt}</dd>` : ''}
      </dl></section>
    <section class="card"><h2>订单进度</h2>${timeline(o.orderLog)}</section>
    <section class="card"><h2>图片</h2>${attList(o.atts)}</section>
  </div>
  ${canCancel ? html`<div class="actionbar"><button class="btn danger" id="btnCancel">取消订单</button></div>` : ''}`);
  if (canCancel) {
    $('#btnCancel').addEventListener('click', async (e) => {
      if (!(await confirmDlg('确定要取消这个订单吗?', { okText: '取消订单', danger: true }))) return;
      const ok = await run(() => callSvr('Ordr.set', { id: o.id }, { status: 'CA' }), e.target);
      if (ok !== undefined) {
        toast('订单已取消', 'ok');
        viewOrder(id);
      }
    });
  }
}

/** Confirms a desktop's QR login request: the desktop then gets a session of its own as this buyer. */
function viewQrConfirm(qrId) {
  const v = mount(html`${bar('扫码登录', '#me')}
  <div class="page"><section class="card qr-confirm"><div class="big-ico" aria-hidden="true">⌨</div>
    <h2>在电脑上登录筋斗云?</h2><p class="muted">将以 ${me.name || maskPhone(me.phone)} 的身份登录. 如果不是你本人在操作, 请取消.</p>
    <button class="btn primary block" id="btnQrOk">确认登录</button><a class="btn block" href="#home" style="margin-top:8px">取消</a></section></div>`);
  $('#btnQrOk', v).addEventListener('click', (e) => run(async () => {
    await callSvr('qrLogin.confirm', { qrId }, {});
    render($('.qr-confirm', v), html`<div class="big-ico" aria-hidden="true">✓</div><h2 id="qrDone">已确认, 电脑上即将登录</h2><a class="btn block" href="#home">返回首页</a>`);
  }, e.target));
}

/** A ticket order: the showing, its tickets (QR codes once paid), countdown, pay, cancel, refund. */
function viewTicketOrder(o, id) {
  const t = ticketOrder(o, () => viewOrder(id), go);
  const v = mount(html`${bar('订单详情', '#orders')}
  <div class="page" style="padding-bottom:70px">
    <section class="card status-head st-${o.status}"><div><div class="big">${o.statusName || o.status}</div><div class="muted">${STATUS_HINT_TICKET[o.status] || ''}</div></div>
      <div class="amt">${fmtMoney(o.amount)}</div></section>
    ${t.part}
    <section class="card"><h2>订单信息</h2><dl class="kv">
      <dt>订单号</dt><dd id="oid">${o.id}</dd><dt>联系人</dt><dd>${o.contactName || ''} ${o.contactPhone || ''}</dd>
      <dt>下单时间</dt><dd>${fmtTm(o.createTm)}</dd></dl></section>
    <section class="card"><h2>订单进度</h2>${timeline(o.orderLog)}</section>
  </div>`);
  t.wire(v);
}

const STATUS_HINT_TICKET = { CR: '请在保留时间内付款', PA: '已出票, 入场时出示二维码', RE: '已全部入场, 感谢观看', CA: '订单已取消', RF: '已退票, 款项原路退回' };

// ---------------------------------------------------------------------------------------------------------------
// New order

const PRESETS = [['家庭保洁 2小时', 120], ['上门洗车', 30], ['家电维修', 80], ['管道疏通', 60], ['同城搬家', 300]];

function viewNew() {
  mount(html`${bar('下单', '#home')}
  <div class="page"><div class="card">
    <h2>选择服务</h2>
    <div class="presets">${PRESETS.map(([d, a]) => html`<button type="button" data-dscr="${d}" data-amt="${a}">${d} · ¥${a}</button>`)}</div>
    <form id="fNew" autocomplete="off">
      <div class="field"><label for="dscr">服务内容<i class="req">*</i></label><textarea id="dscr" name="dscr" rows="3" maxlength="255" placeholder="请描述需要的服务, 如: 周六上午家庭保洁" required></textarea></div>
      <div class="field"><label for="amount">金额(元)<i class="req">*</i></label><input type="number" id="amount" name="amount" min="0.01" step="0.01" placeholder="0.00" required aria-describedby="amountErr">
        <div class="field-err" id="amountErr" role="alert" hidden></div></div>
      <div class="field"><label>图片(可选, 最多6张)</label>
        <div class="atts" id="newAtts"><label class="add-pic" for="picFile" title="添加图片">＋<input type="file" id="picFile" accept="image/*" multiple hidden></label></div></div>
      <button class="btn primary block" type="submit">提交订单</button>
    </form>
  </div></div>`);
  const f = $('#fNew');
  on(view, 'click', '[data-dscr]', (e, b) => {
    f.dscr.value = b.dataset.dscr;
    f.amount.value = b.dataset.amt;
  });
  // Pictures are uploaded when chosen; the order links them (`atts: [{attId}]`) when it is submitted.
  const attIds = [];
  const picInput = $('#picFile');
  picInput.addEventListener('change', () => {
    const files = [...picInput.files].slice(0, 6 - attIds.length);
    picInput.value = '';
    if (!files.length) return;
    run(async () => {
      const fd = new FormData();
      files.forEach((file) => fd.append('file', file, file.name));
      const ups = await callSvr('upload', { genThumb: 1, category: 'order' }, fd);
      for (const up of Array.isArray(ups) ? ups : [ups]) {
        attIds.push(up.id);
        picInput.parentElement.insertAdjacentHTML('beforebegin', String(html`<a data-att="${up.id}"><img src="${makeUrl('att', { id: up.id, thumb: 1 })}" alt="${up.orgName || '图片'}"></a>`));
      }
      picInput.parentElement.hidden = attIds.length >= 6;
      toast(`已添加${files.length}张图片`, 'ok');
    }, f.querySelector('[type=submit]'));
  });
  const amountErr = $('#amountErr', view);
  const showAmountErr = (msg) => {
    amountErr.textContent = msg || '';
    amountErr.hidden = !msg;
    f.amount.classList.toggle('invalid', !!msg);
  };
  f.amount.addEventListener('input', () => showAmountErr(''));
  f.addEventListener('submit', (e) => {
    e.preventDefault();
    run(async () => {
      const data = { dscr: f.dscr.value.trim(), amount: f.amount.value };
      if (attIds.length) data.atts = attIds.map((attId) => ({ attId }));
      let id;
      try {
        id = await callSvr('Ordr.add', {}, data, { silent: true });
      } catch (err) {
        // The server's word on the amount goes beside the field; anything else is a toast.
        if (err.code === E.PARAM && /金额/.test(err.msg)) {
          showAmountErr(err.msg);
          f.amount.focus();
          return;
        }
        toast(err.msg, 'error');
        return;
      }
      toast('下单成功', 'ok');
      go(`#order/${id}`);
    }, f.querySelector('[type=submit]'));
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Me: name, avatar, password, logout

async function viewMe() {
  await loadMe();
  const initial = (me.name || '用').slice(0, 1);
  mount(html`${bar('我的')}
  <div class="page">
    <section class="card me-head">
      <div class="avatar" id="avatar">${me.picId ? html`<img src="${makeUrl('att', { id: me.picId })}" alt="头像">` : initial}</div>
      <div><div class="name" id="meName">${me.name || '未设置昵称'}</div><div class="phone">${maskPhone(me.phone) || me.uname || ''}</div></div>
    </section>
    <ul class="menu">
      <li><button id="btnName">修改昵称<span class="val">${me.name || ''}</span></button></li>
      <li><label for="avatarFile">更换头像<input type="file" id="avatarFile" accept="image/*" hidden></label></li>
      <li><button id="btnPwd">修改密码</button></li>
      <li><a href="#tickets" id="lnkTickets">我的票</a></li>
      <li><a href="#passengers" id="lnkPassengers">常用乘车人</a></li>
    </ul>
    <ul class="menu"><li><button class="danger" id="btnLogout">退出登录</button></li></ul>
  </div>`);
  $('#btnName').addEventListener('click', async () => {
    const ok = await formDialog({
      title: '修改昵称',
      fields: [{ name: 'name', label: '昵称', value: me.name || '', required: true }],
      submit: (v) => callSvr('User.set', {}, { name: v.name }),
    });
    if (ok) {
      toast('昵称已修改', 'ok');
      viewMe();
    }
  });
  $('#avatarFile').addEventListener('change', (e) => {
    const file = e.target.files[0];
    if (!file) return;
    run(async () => {
      const fd = new FormData();
      fd.append('file', file, file.name);
      const ret = await callSvr('upload', { genThumb: 1, category: 'user' }, fd);
      const up = Array.isArray(ret) ? ret[0] : ret;
      await callSvr('User.set', {}, { picId: up.thumbId || up.id });
      toast('头像已更新', 'ok');
      viewMe();
    });
  });
  $('#btnPwd').addEventListener('click', () => go('#chpwd'));
  $('#btnLogout').addEventListener('click', async () => {
    if (!(await confirmDlg('确定退出登录吗?', { okText: '退出' }))) return;
    await logout();
    me = null;
    toast('已退出登录', 'ok');
    go('#login');
  });
}

function viewChpwd() {
  mount(html`${bar('修改密码', '#me')}
  <div class="page"><div class="card">
    <div class="tabs" role="tablist"><button class="on" data-mode="old">用原密码</button><button data-mode="code">用验证码</button></div>
    <form id="fPwd" autocomplete="off">
      <div class="field" data-for="old"><label for="oldpwd">原密码</label><input type="password" id="oldpwd" name="oldpwd" autocomplete="current-password" required></div>
      <div class="field" data-for="code" hidden><label for="code">验证码 (发送到 ${maskPhone(me.phone)})</label>
        <div class="code-row"><input type="text" id="code" name="code" maxlength="6" inputmode="numeric"><button type="button" class="btn" id="btnGenCode">获取验证码</button></div></div>
      <div class="field"><label for="pwd">新密码</label><input type="password" id="pwd" name="pwd" minlength="4" autocomplete="new-password" required></div>
      <div class="field"><label for="pwd2">确认新密码</label><input type="password" id="pwd2" name="pwd2" autocomplete="new-password" required></div>
      <button class="btn primary block" type="submit">确认修改</button>
    </form>
  </div></div>`);
  const f = $('#fPwd');
  let mode = 'old';
  on(view, 'click', '[data-mode]', (e, b) => {
    mode = b.dataset.mode;
    $$('[data-mode]', view).forEach((x) => x.classList.toggle('on', x === b));
    $$('[data-for]', f).forEach((x) => { x.hidden = x.dataset.for !== mode; });
    f.oldpwd.required = mode === 'old';
    f.code.required = mode === 'code';
  });
  $('#btnGenCode').addEventListener('click', () => sendCode(me.phone || '', $('#btnGenCode'), f.code));
  f.addEventListener('submit', (e) => {
    e.preventDefault();
    if (f.pwd.value !== f.pwd2.value) return toast('两次输入的新密码不一致', 'error');
    const data = mode === 'old' ? { oldpwd: f.oldpwd.value, pwd: f.pwd.value } : { code: f.code.value.trim(), pwd: f.pwd.value };
    run(async () => {
      await callSvr('chpwd', {}, data);
      toast('密码已修改', 'ok');
      go('#me');
    }, f.querySelector('[type=submit]'));
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Start: who is logged in (cookie, else the saved token), then the view of the hash.

window.addEventListener('hashchange', () => {
  inAppNavs += 1;
  route();
});
(async () => {
  try {
    const who = await restoreLogin();
    if (who) await loadMe();
  } catch {
    // shown already; the login view follows
  }
  route();
})();
