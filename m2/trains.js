// trains.js: train tickets in the user app: search between stations or cities on a date (#trains), the
// results with seats left and price per class, and buying for passengers of the buyer's list (#trainbuy);
// #passengers keeps that list. The order page afterwards is the shared ticket order view.

import { callSvr, html, render, $, $$, on, run, toast, emptyState, formDialog, confirmDlg, E } from '/web/lib/jdy.js';

const CLASS_NAMES = { SW: '商务座', ZY: '一等座', ZE: '二等座' };
const ID_TYPES = [['ID', '居民身份证'], ['PP', '护照']];
const KINDS = [['AD', '成人'], ['CH', '儿童'], ['ST', '学生']];
const BUY_KEY = 'jdy.trainbuy';

function ymd(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/** `540` → `9小时0分`. */
export function duration(min) {
  const h = Math.floor(min / 60);
  return h ? `${h}小时${min % 60}分` : `${min}分`;
}

let places = null; // [{key, label, kind: 'station'|'city', id}]

async function loadPlaces() {
  if (places) return places;
  const [stations, cities] = await Promise.all([
    callSvr('Station.query', { res: 'id,name,code,cityName', fmt: 'array', pagesz: -1 }),
    callSvr('City.query', { res: 'id,name', fmt: 'array', pagesz: -1 }),
  ]);
  places = [
    ...cities.map((c) => ({ key: `c${c.id}`, label: `${c.name}(全部车站)`, kind: 'city', id: c.id })),
    ...stations.map((s) => ({ key: `s${s.id}`, label: s.name, kind: 'station', id: s.id })),
  ];
  return places;
}

function placeOf(text) {
  const t = String(text || '').trim();
  return (places || []).find((p) => p.label === t) || (places || []).find((p) => p.kind === 'station' && p.label === t.replace(/站$/, ''));
}

/** The views, given m2's helpers: {mount, bar, go, getMe, needLogin}. */
export function trainViews({ mount, bar, go, getMe, needLogin }) {
  const state = { from: '北京市(全部车站)', to: '上海市(全部车站)', dt: ymd(new Date(Date.now() + 86400000)), sort: 'dep' };

  async function viewTrains() {
    await loadPlaces();
    const days = Array.from({ length: 14 }, (_, i) => ymd(new Date(Date.now() + i * 86400000)));
    const view = mount(html`${bar('火车票')}
      <div class="page"><form class="card" id="fTrain" autocomplete="off">
        <datalist id="placeList">${places.map((p) => html`<option value="${p.label}"></option>`)}</datalist>
        <div class="od"><input name="from" list="placeList" value="${state.from}" aria-label="出发地" placeholder="出发站或城市" required>
          <button type="button" class="swap" id="btnSwap" aria-label="交换">⇄</button>
          <input name="to" list="placeList" value="${state.to}" aria-label="目的地" placeholder="到达站或城市" required></div>
        <div class="date-strip">${days.map((d) => html`<button type="button" data-dt="${d}" class="${d === state.dt ? 'on' : ''}">${d.slice(5)}</button>`)}</div>
        <div class="row2"><label><input type="checkbox" name="onlyLeft"> 只看有票</label>
          <select name="sort" aria-label="排序"><option value="dep">出发早→晚</option><option value="duration" ${state.sort === 'duration' ? 'selected' : ''}>耗时短→长</option></select></div>
        <button class="btn primary block" type="submit" id="btnSearchTrain">查询</button></form>
        <div id="trainResults"></div></div>`);
    const f = $('#fTrain', view);
    on(view, 'click', '[data-dt]', (e, b) => {
      state.dt = b.dataset.dt;
      $$('[data-dt]', view).forEach((x) => x.classList.toggle('on', x === b));
      search();
    });
    $('#btnSwap', view).addEventListener('click', () => {
      [f.from.value, f.to.value] = [f.to.value, f.from.value];
    });
    f.addEventListener('submit', (e) => {
      e.preventDefault();
      search();
    });
    async function search() {
      const a = placeOf(f.from.value);
      const b = placeOf(f.to.value);
      if (!a || !b) return toast('请从列表中选择出发地和目的地', 'error');
      Object.assign(state, { from: f.from.value, to: f.to.value, sort: f.sort.value });
      const p = { dt: state.dt, sort: state.sort, onlyLeft: f.onlyLeft.checked ? 1 : undefined };
      p[a.kind === 'city' ? 'fromCityId' : 'fromStationId'] = a.id;
      p[b.kind === 'city' ? 'toCityId' : 'toStationId'] = b.id;
      const box = $('#trainResults', view);
      render(box, html`<div class="more">查询中…</div>`);
      const list = await run(() => callSvr('Train.search', p), $('#btnSearchTrain', view));
      if (!list) return render(box, '');
      render(box, list.length
        ? html`<ul class="trains">${list.map((t) => html`<li class="train" data-run="${t.runId}">
            <div class="tr-head"><div class="tm"><b>${t.depTm.slice(11, 16)}</b><span>${t.fromStationName}</span></div>
              <div class="mid"><span class="code">${t.trainCode}</span><span class="dur">${duration(t.durationMin)}</span></div>
              <div class="tm"><b>${t.arrTm.slice(11, 16)}</b><span>${t.toStationName}</span></div></div>
            <div class="tr-classes">${t.classes.map((c) => html`<button class="tr-class" ${c.left > 0 ? '' : 'disabled'} data-buy="${t.runId}" data-class="${c.seatClass}"
              data-from="${t.fromStationId}" data-to="${t.toStationId}" data-title="${t.trainCode} ${t.fromStationName}→${t.toStationName}" data-when="${t.depTm.slice(0, 16)}" data-price="${c.price}">
              <span>${CLASS_NAMES[c.seatClass] || c.seatClass}</span><b>¥${c.price}</b><span class="muted">${c.left > 0 ? `余${c.left}` : '无票'}</span></button>`)}</div></li>`)}</ul>`
        : emptyState('没有符合条件的车次', '换个日期或车站试试'));
    }
    on(view, 'click', '[data-buy]', (e, b) => {
      sessionStorage.setItem(BUY_KEY, JSON.stringify({
        runId: Number(b.dataset.buy), seatClass: b.dataset.class, fromStationId: Number(b.dataset.from), toStationId: Number(b.dataset.to),
        title: b.dataset.title, when: b.dataset.when, price: b.dataset.price, reqId: crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2),
      }));
      needLogin('#trainbuy') || go('#trainbuy');
    });
    search();
  }

  async function editPassenger(p = {}) {
    return formDialog({
      title: p.id ? '编辑乘车人' : '添加乘车人',
      fields: [
        { name: 'name', label: '姓名', value: p.name, required: true },
        { name: 'idType', label: '证件类型', type: 'select', value: p.idType || 'ID', options: ID_TYPES },
        { name: 'idNo', label: '证件号', value: p.idNo, required: true, hint: '身份证为18位' },
        { name: 'type', label: '乘客类型', type: 'select', value: p.type || 'AD', options: KINDS },
      ],
      submit: (v) => (p.id ? callSvr('Passenger.set', { id: p.id }, v) : callSvr('Passenger.add', {}, v)),
    });
  }

  async function viewTrainBuy() {
    let b;
    try {
      b = JSON.parse(sessionStorage.getItem(BUY_KEY) || 'null');
    } catch {
      b = null;
    }
    if (!b) return go('#trains');
    const me = getMe();
    const list = await callSvr('Passenger.query', { res: 'id,name,idType,idNo,type', fmt: 'array', pagesz: 50 });
    const view = mount(html`${bar('填写订单', '#trains')}
      <div class="page"><section class="card"><b>${b.title}</b><div class="muted">${b.when} · ${CLASS_NAMES[b.seatClass]} ¥${b.price}起</div></section>
        <section class="card"><h2>乘车人 <button class="link" id="btnAddPax" type="button">+ 添加</button></h2>
          <div id="paxList">${list.length ? list.map((p) => html`<label class="pax"><input type="checkbox" name="pax" value="${p.id}"> ${p.name}
            <span class="muted">${(KINDS.find(([k]) => k === p.type) || [0, ''])[1]} · ${String(p.idNo).replace(/^(.{4}).*(.{4})$/, '$1**********$2')}</span></label>`) : emptyState('还没有乘车人', '先添加一位')}</div></section>
        <section class="card"><h2>联系人</h2><form id="fTrainBuy" autocomplete="off">
          <div class="field"><label for="tcn">姓名</label><input id="tcn" name="contactName" value="${me.name || ''}" required></div>
          <div class="field"><label for="tcp">手机号</label><input id="tcp" name="contactPhone" type="tel" value="${me.phone || ''}" pattern="1\\d{10}" required></div>
          <button class="btn primary block" type="submit" id="btnTrainSubmit">提交订单</button>
          <div class="hint">每单最多5位乘车人, 尽量安排在同一车厢相邻座位</div></form></section></div>`);
    $('#btnAddPax', view).addEventListener('click', async () => {
      if (await editPassenger()) viewTrainBuy();
    });
    $('#fTrainBuy', view).addEventListener('submit', (e) => {
      e.preventDefault();
      const ids = $$('[name=pax]:checked', view).map((i) => i.value);
      if (!ids.length) return toast('请选择乘车人', 'error');
      const f = e.target;
      run(async () => {
        let id;
        try {
          id = await callSvr('Ordr.add', {}, {
            runId: b.runId, fromStationId: b.fromStationId, toStationId: b.toStationId, seatClass: b.seatClass,
            passengerIds: ids.join(','), contactName: f.contactName.value.trim(), contactPhone: f.contactPhone.value.trim(), reqId: b.reqId,
          }, { silent: true });
        } catch (err) {
          toast(err.msg || String(err), 'error');
          if (err.code === E.FORBIDDEN) sessionStorage.setItem(BUY_KEY, JSON.stringify({ ...b, reqId: String(Math.random()).slice(2) }));
          return;
        }
        sessionStorage.removeItem(BUY_KEY);
        toast('订单已提交, 请尽快付款', 'ok');
        go(`#order/${id}`);
      }, $('#btnTrainSubmit', view));
    });
  }

  async function viewPassengers() {
    const list = await callSvr('Passenger.query', { res: 'id,name,idType,idNo,type', fmt: 'array', pagesz: 50 });
    const view = mount(html`${bar('常用乘车人', '#me')}
      <div class="page">${list.length ? html`<ul class="paxes">${list.map((p) => html`<li><div><b>${p.name}</b>
          <div class="muted">${(ID_TYPES.find(([k]) => k === p.idType) || [0, ''])[1]} ${String(p.idNo).replace(/^(.{4}).*(.{4})$/, '$1**********$2')}</div></div>
          <button class="btn small" data-edit="${p.id}">编辑</button><button class="btn small danger" data-del="${p.id}">删除</button></li>`)}</ul>` : emptyState('还没有乘车人')}
        <button class="btn primary block" id="btnNewPax">添加乘车人</button></div>`);
    const of = (id) => list.find((x) => String(x.id) === id);
    $('#btnNewPax', view).addEventListener('click', async () => {
      if (await editPassenger()) viewPassengers();
    });
    on(view, 'click', '[data-edit]', async (e, b) => {
      if (await editPassenger(of(b.dataset.edit))) viewPassengers();
    });
    on(view, 'click', '[data-del]', async (e, b) => {
      const p = of(b.dataset.del);
      if (!(await confirmDlg(`删除乘车人${p.name}?`, { okText: '删除', danger: true }))) return;
      if ((await run(() => callSvr('Passenger.del', { id: p.id }, {}), b)) !== undefined) viewPassengers();
    });
  }

  return { trains: viewTrains, trainbuy: viewTrainBuy, passengers: viewPassengers };
}
