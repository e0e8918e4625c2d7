// buy.js: buying tickets in the user app: choose seats on the hall's map (#seats/{showingId}) or places of a
// general-admission class (#buy/{showingId}), then confirm the contact and submit (#checkout); the order page
// shows the hold's countdown, pays through the channel's page and shows the tickets with their QR codes
// (ticketOrder, used by m2.js's order view), and #tickets lists every ticket of the buyer.

import { callSvr, html, render, $, $$, on, run, toast, confirmDlg, emptyState, fmtTm, makeUrl, E } from '/web/lib/jdy.js';

const PICK_KEY = 'jdy.pick';

/** The pick carried from the seat map to checkout (survives a login in between). */
function savePick(p) {
  sessionStorage.setItem(PICK_KEY, JSON.stringify(p));
}
function loadPick() {
  try {
    return JSON.parse(sessionStorage.getItem(PICK_KEY) || 'null');
  } catch {
    return null;
  }
}

const money = (c) => `¥${(c / 100).toFixed(2)}`;
const cents = (p) => Math.round(Number(p) * 100);

/** Seconds until a `YYYY-MM-DD HH:MM:SS` local time. */
export function secondsUntil(tm, now = Date.now()) {
  return Math.max(0, Math.floor((new Date(String(tm).replace(' ', 'T')).getTime() - now) / 1000));
}

function mmss(s) {
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

/** The views, given m2's helpers: {mount, bar, go, getMe, needLogin}. */
export function buyViews({ mount, bar, go, getMe, needLogin }) {
  async function showingHead(id) {
    const s = await callSvr('Showing.get', { id, res: 'id,eventId,eventName,startTm,hallName,venueName,hallId' }, undefined, { quiet: true });
    const e = await callSvr('Event.get', { id: s.eventId, res: 'id,maxPerOrder,name' }, undefined, { quiet: true });
    return { s, max: e.maxPerOrder || 5 };
  }

  async function viewSeats(id) {
    const [{ s, max }, map] = await Promise.all([showingHead(id), callSvr('Showing.seats', { id })]);
    if (!s.hallId) return go(`#buy/${id}`);
    const classes = Object.fromEntries(map.classes.map((c) => [c.id, c]));
    const picked = new Map(); // seat id → seat
    const prev = loadPick();
    const view = mount(html`${bar('选座', `#event/${s.eventId}`)}
      <div class="seat-head"><b>${s.eventName}</b><div class="muted">${fmtTm(s.startTm)} · ${s.venueName || ''} ${s.hallName || ''}</div>
        <div class="seat-legend">${map.classes.map((c) => html`<span><i class="c" style="--c:${color(c.code)}"></i>${c.name} ¥${c.price}${c.left > 0 ? '' : ' 售罄'}</span>`)}
          <span><i class="taken"></i>已售/锁定</span><span><i class="mine"></i>已选</span></div></div>
      <div class="seatmap-wrap"><div class="screen">舞台 / 银幕</div><div class="seatmap" id="seatmap"></div></div>
      <div class="pick-bar"><div class="picked" id="picked"><span class="muted">点击座位选择, 每单最多${max}张</span></div>
        <div class="pick-act"><span class="total" id="total"></span><button class="btn primary" id="btnPick" disabled>确认选座</button></div></div>`);
    const byRow = [];
    for (const seat of map.seats) (byRow[seat.row - 1] ||= []).push(seat);
    const cell = Math.max(22, Math.floor((Math.min(window.innerWidth, 480) - 48) / map.cols));
    render($('#seatmap', view), html`${Array.from({ length: map.rows }, (_, r) => {
      const seats = byRow[r] || [];
      const rowNo = seats.length ? seats[0].label.split('排')[0] : '';
      const cells = Array(map.cols).fill(null);
      for (const x of seats) cells[x.col - 1] = x;
      return html`<div class="srow"><span class="rno">${rowNo}</span>${cells.map((x) => (x
        ? html`<button class="seat ${x.state}" data-seat="${x.id}" style="--c:${color((classes[x.classId] || {}).code)};width:${cell}px;height:${cell}px" aria-label="${x.label} ${(classes[x.classId] || {}).name || ''}${x.state === 'free' ? '' : ' 不可选'}" ${x.state === 'free' ? '' : 'disabled'}></button>`
        : html`<span class="gap" style="width:${cell}px"></span>`))}</div>`;
    })}`);
    const seatsById = Object.fromEntries(map.seats.map((x) => [x.id, x]));
    const refresh = () => {
      const list = [...picked.values()];
      const total = list.reduce((a, x) => a + cents((classes[x.classId] || {}).price || 0), 0);
      render($('#picked', view), list.length
        ? html`${list.map((x) => html`<button class="chip" data-unpick="${x.id}">${x.label} ${money(cents(classes[x.classId].price))} ×</button>`)}`
        : html`<span class="muted">点击座位选择, 每单最多${max}张</span>`);
      $('#total', view).textContent = list.length ? `${list.length}张 ${money(total)}` : '';
      $('#btnPick', view).disabled = !list.length;
      $$('.seat', view).forEach((b) => b.classList.toggle('mine', picked.has(Number(b.dataset.seat))));
    };
    const toggle = (sid) => {
      if (picked.has(sid)) picked.delete(sid);
      else if (picked.size >= max) return toast(`每单最多${max}张`, 'error');
      else picked.set(sid, seatsById[sid]);
      refresh();
    };
    on(view, 'click', '[data-seat]', (e, b) => toggle(Number(b.dataset.seat)));
    on(view, 'click', '[data-unpick]', (e, b) => toggle(Number(b.dataset.unpick)));
    if (prev && String(prev.showingId) === String(id) && prev.seatIds) {
      for (const sid of prev.seatIds) if (seatsById[sid] && seatsById[sid].state === 'free') picked.set(sid, seatsById[sid]);
    }
    refresh();
    // Start with the middle of a wide hall in view.
    const wrap = $('.seatmap-wrap', view);
    wrap.scrollLeft = (wrap.scrollWidth - wrap.clientWidth) / 2;
    $('#btnPick', view).addEventListener('click', () => {
      const list = [...picked.values()];
      savePick({
        showingId: Number(id),
        seatIds: list.map((x) => x.id),
        lines: list.map((x) => [x.label, cents(classes[x.classId].price)]),
        title: s.eventName,
        when: `${fmtTm(s.startTm)} ${s.hallName || ''}`,
        reqId: crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2),
      });
      needLogin('#checkout') || go('#checkout');
    });
  }

  async function viewBuy(id) {
    const { s, max } = await showingHead(id);
    const classes = (await callSvr('PriceClass.query', { cond: `showingId=${Number(id)}`, res: 'id,name,price,left', orderby: 'price desc', fmt: 'array' }));
    const view = mount(html`${bar('选择票档', `#event/${s.eventId}`)}
      <div class="page"><section class="card"><b>${s.eventName}</b><div class="muted">${fmtTm(s.startTm)} · ${s.venueName || ''} · 不对号入座</div></section>
        <section class="card"><h2>票档</h2><div class="tiers">${classes.map((c) => html`<button class="tier" data-class="${c.id}" ${c.left > 0 ? '' : 'disabled'}>
          <span>${c.name}</span><b>¥${c.price}</b><span class="muted">${c.left > 0 ? `余${c.left}` : '售罄'}</span></button>`)}</div>
          <div class="qty-row"><span>数量</span><button class="btn small" data-q="-1" aria-label="减少">−</button><b id="qty">1</b><button class="btn small" data-q="1" aria-label="增加">＋</button><span class="muted">每单最多${max}张</span></div></section></div>
      <div class="pick-bar"><div class="picked"><span id="total" class="total"></span></div><div class="pick-act"><button class="btn primary" id="btnPick" disabled>立即购买</button></div></div>`);
    let cls = null;
    let qty = 1;
    const refresh = () => {
      $$('.tier', view).forEach((b) => b.classList.toggle('on', cls && Number(b.dataset.class) === cls.id));
      $('#qty', view).textContent = qty;
      $('#total', view).textContent = cls ? `${qty}张 ${money(cents(cls.price) * qty)}` : '请选择票档';
      $('#btnPick', view).disabled = !cls;
    };
    on(view, 'click', '[data-class]', (e, b) => {
      cls = classes.find((c) => c.id === Number(b.dataset.class));
      refresh();
    });
    on(view, 'click', '[data-q]', (e, b) => {
      qty = Math.min(max, Math.max(1, qty + Number(b.dataset.q)));
      refresh();
    });
    refresh();
    $('#btnPick', view).addEventListener('click', () => {
      savePick({
        showingId: Number(id), classId: cls.id, qty, lines: Array.from({ length: qty }, () => [cls.name, cents(cls.price)]),
        title: s.eventName, when: fmtTm(s.startTm), reqId: crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2),
      });
      needLogin('#checkout') || go('#checkout');
    });
  }

  async function viewCheckout() {
    const p = loadPick();
    if (!p) return go('#shows');
    const me = getMe();
    const total = p.lines.reduce((a, [, c]) => a + c, 0);
    const back = p.seatIds ? `#seats/${p.showingId}` : `#buy/${p.showingId}`;
    const view = mount(html`${bar('确认订单', back)}
      <div class="page"><section class="card"><b>${p.title}</b><div class="muted">${p.when}</div>
        <ul class="lines">${p.lines.map(([l, c]) => html`<li><span>${l}</span><b>${money(c)}</b></li>`)}</ul>
        <div class="sum">合计 <b id="sum">${money(total)}</b></div></section>
      <section class="card"><h2>联系人</h2><form id="fCheckout" autocomplete="off">
        <div class="field"><label for="cn">姓名</label><input id="cn" name="contactName" value="${me.name || ''}" required maxlength="20"></div>
        <div class="field"><label for="cp">手机号</label><input id="cp" name="contactPhone" type="tel" value="${me.phone || ''}" pattern="1\\d{10}" required maxlength="11"></div>
        <button class="btn primary block" type="submit" id="btnSubmit">提交订单</button>
        <div class="hint">提交后为你保留座位, 请在规定时间内付款</div></form></section></div>`);
    $('#fCheckout', view).addEventListener('submit', (e) => {
      e.preventDefault();
      const f = e.target;
      run(async () => {
        const data = { showingId: p.showingId, contactName: f.contactName.value.trim(), contactPhone: f.contactPhone.value.trim(), reqId: p.reqId };
        if (p.seatIds) data.seatIds = p.seatIds.join(',');
        else Object.assign(data, { classId: p.classId, qty: p.qty });
        let id;
        try {
          id = await callSvr('Ordr.add', {}, data, { silent: true });
        } catch (err) {
          toast(err.msg || String(err), 'error');
          // A seat someone else took: back to the map, which now shows it taken.
          if (err.code === E.FORBIDDEN && /选走|售罄|只剩/.test(err.msg)) {
            savePick({ ...p, reqId: crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2) });
            go(back);
          }
          return;
        }
        sessionStorage.removeItem(PICK_KEY);
        toast('订单已提交, 请尽快付款', 'ok');
        go(`#order/${id}`);
      }, $('#btnSubmit', view));
    });
  }

  async function viewTickets() {
    const r = await callSvr('Ticket.query', { res: 'id,code,label,price,status,statusName,eventName,venueName,hallName,startTm,checkinTm', cond: "status IN ('OK','US')", orderby: 'startTm desc,id', fmt: 'list', pagesz: 50 });
    mount(html`${bar('我的票')}
      <div class="page">${r.list.length ? html`<ul class="tickets">${r.list.map(ticketCard)}</ul>` : emptyState('还没有票', html`<a href="#shows">去看看演出</a>`)}</div>`);
  }

  return { seats: viewSeats, buy: viewBuy, checkout: viewCheckout, tickets: viewTickets };
}

const COLORS = ['#e5484d', '#2f6fed', '#12a150', '#f59e0b', '#8e4ec6', '#0ea5e9'];
function color(code) {
  if (!code) return COLORS[1];
  return COLORS[(code.charCodeAt(0) - 65) % COLORS.length];
}

/** One valid ticket with its QR code. */
export function ticketCard(t) {
  return html`<li class="ticket st-${t.status}"><div class="t-info"><b>${t.eventName || ''}</b>
      <div class="muted">${[fmtTm(t.startTm), [t.venueName, t.hallName].filter(Boolean).join(' ')].filter(Boolean).join(' · ')}</div>
      <div class="t-seat">${t.label}</div><div class="muted">${t.statusName}${t.checkinTm ? ` · ${fmtTm(t.checkinTm)}入场` : ''}</div>
      <div class="t-code">${t.code || ''}</div></div>
    ${t.code && t.status === 'OK' ? html`<img class="qr" src="${makeUrl('Ticket.qr', { code: t.code })}" alt="入场二维码 ${t.label}">` : ''}</li>`;
}

/**
 * The ticket part of the order page: the hold's countdown with pay and cancel while new, the tickets with
 * QR codes and refund once paid, delete from the list once finished. `reload()` shows the order again.
 */
export function ticketOrder(o, reload, go) {
  const tickets = o.tickets || [];
  const valid = tickets.filter((t) => t.status === 'OK');
  const part = html`<section class="card"><h2>${o.eventName || o.dscr || '票务订单'}</h2>
      <div class="muted">${fmtTm(o.showTm || o.departTm)} ${o.hallName || ''}</div>
      ${o.status === 'CR' ? html`<div class="countdown" id="countdown" data-expire="${o.expireTm}"></div>` : ''}
      <ul class="tickets">${tickets.map((t) => ticketCard({ ...t, eventName: '', startTm: o.showTm || o.departTm, hallName: '' }))}</ul></section>
    <div class="actionbar">
      ${o.status === 'CR' ? html`<button class="btn" id="btnCancel">取消订单</button><button class="btn primary" id="btnPay">去支付 ¥${o.amount}</button>` : ''}
      ${o.status === 'PA' && valid.length ? html`<button class="btn" id="btnRefund">退票</button><a class="btn primary" href="#tickets">查看我的票</a>` : ''}
      ${['CA', 'RF', 'RE'].includes(o.status) ? html`<button class="btn" id="btnHide">删除订单</button>` : ''}
    </div>`;
  const wire = (view) => {
    const cd = $('#countdown', view);
    if (cd) {
      const tick = () => {
        if (!cd.isConnected) return;
        const s = secondsUntil(cd.dataset.expire);
        cd.textContent = s > 0 ? `座位已为你保留, 请在 ${mmss(s)} 内付款` : '付款时间已过, 订单将自动取消';
        if (s > 0) setTimeout(tick, 1000);
      };
      tick();
    }
    const btn = (sel, fn) => { const b = $(sel, view); if (b) b.addEventListener('click', (e) => fn(e.target)); };
    btn('#btnPay', (b) => run(async () => {
      const p = await callSvr('Ordr.pay', { id: o.id }, {});
      location.href = p.url;
    }, b));
    btn('#btnCancel', async (b) => {
      if (!(await confirmDlg('取消订单后座位将释放给其他人, 确定取消吗?', { okText: '取消订单', cancelText: '再想想', danger: true }))) return;
      if ((await run(() => callSvr('Ordr.cancel', { id: o.id }, {}), b)) !== undefined) {
        toast('订单已取消', 'ok');
        reload();
      }
    });
    btn('#btnRefund', async (b) => {
      const sum = valid.reduce((a, t) => a + cents(t.price), 0);
      if (!(await confirmDlg(`退掉全部${valid.length}张未使用的票, 退款 ${money(sum)}?`, { okText: '退票', cancelText: '再想想', danger: true }))) return;
      const r = await run(() => callSvr('Ordr.refund', { id: o.id }, {}), b);
      if (r !== undefined) {
        toast(`已退票, 退款 ¥${r.amount} 将原路退回`, 'ok');
        reload();
      }
    });
    btn('#btnHide', async (b) => {
      if (!(await confirmDlg('从我的订单中删除这个订单?', { okText: '删除' }))) return;
      if ((await run(() => callSvr('Ordr.hide', { id: o.id }, {}), b)) !== undefined) {
        toast('订单已删除', 'ok');
        go('#orders');
      }
    });
  };
  return { part, wire };
}
