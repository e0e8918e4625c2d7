// pages/showings.js: the showings of the store's events (Showing): time, hall, sale window, hold minutes and the
// price of each class of the hall's seat map (the server makes the seats); general-admission showings get
// their classes here (PriceClass). 座位 shows the seat map with what is sold and held, as a buyer sees it.

import { callSvr, html, render, on, run, toast, formDialog, dialog, confirmDlg, fmtTm, lit, andCond, $, $$ } from '../jdy.js';
import { Grid } from '../grid.js';
import { mapClasses, seatPreview, classColor } from './ticketing-parts.js';
import { nextDay } from './orders.js';

const local = (tm) => (tm ? tm.slice(0, 16).replace(' ', 'T') : '');

/** The seat map text and the state per label of a `Showing.seats` answer. */
export function seatsAsMap(s) {
  const code = Object.fromEntries(s.classes.map((c) => [c.id, c.code || 'A']));
  const grid = Array.from({ length: s.rows }, () => Array(s.cols).fill('_'));
  const states = {};
  for (const seat of s.seats) {
    if (grid[seat.row - 1]) grid[seat.row - 1][seat.col - 1] = code[seat.classId] || 'A';
    states[seat.label] = seat.state;
  }
  return { text: grid.map((r) => r.join('')).join('\n'), states, names: Object.fromEntries(s.classes.map((c) => [c.code, c.name])) };
}

export default {
  id: 'showings',
  title: '场次管理',
  icon: '◷',
  async render(el, ctx) {
    const events = await callSvr('Event.query', { res: 'id,name,venueId,kind', orderby: 'id desc', fmt: 'array', pagesz: -1 });
    const eventOpts = events.map((e) => [e.id, e.name]);

    async function priceInputs(box, hallId) {
      const host = $('.prices-host', box);
      if (!hallId) {
        render(host, html`<div class="hint">不对号入座: 添加后再设置票价等级(名称, 价格, 数量)</div>`);
        return;
      }
      const h = await callSvr('Hall.get', { id: hallId, res: 'seatMap,seatCnt' });
      const classes = mapClasses(h.seatMap);
      render(host, html`<div class="price-rows">${classes.map(([c, n]) => html`<div class="price-row"><span class="cls" style="--c:${classColor(c)}">${c}</span>
        <input name="cname_${c}" placeholder="名称, 如 VIP" aria-label="${c}等级名称" value="${c === 'A' ? 'VIP' : ''}">
        <input name="price_${c}" type="number" min="0.01" step="0.01" required placeholder="票价(元)" aria-label="${c}等级票价"><span class="muted">${n}座</span></div>`)}</div>`);
    }

    async function addShowing() {
      let box;
      return formDialog({
        title: '添加场次',
        wide: true,
        fields: [
          { name: 'eventId', label: '演出', type: 'select', value: ctx.params.eventId || '', options: [['', '请选择'], ...eventOpts], required: true },
          { name: 'hallId', label: '影厅', type: 'select', options: [['', '不对号入座']] },
          { name: 'startTm', label: '开始时间', type: 'datetime-local', required: true },
          { name: 'endTm', label: '结束时间', type: 'datetime-local', hint: '电影可不填: 按片长计算' },
          { name: 'saleEndTm', label: '停售时间', type: 'datetime-local', hint: '缺省为开始时间' },
          { name: 'holdMinutes', label: '保留分钟', type: 'number', value: 15, min: 1, hint: '下单后多久不付款自动取消(1-60)' },
          { name: 'prices', label: '票价', render: () => html`<div class="prices-host"></div>` },
        ],
        async onOpen(b) {
          box = b;
          const evSel = box.querySelector('[name=eventId]');
          const hallSel = box.querySelector('[name=hallId]');
          const loadHalls = async () => {
            const ev = events.find((e) => String(e.id) === evSel.value);
            const halls = ev ? await callSvr('Hall.query', { cond: `venueId=${lit(ev.venueId)}`, res: 'id,name,seatCnt', fmt: 'array' }) : [];
            render(hallSel, html`${ev && ev.kind === 'movie' ? '' : html`<option value="">不对号入座</option>`}${halls.map((h) => html`<option value="${h.id}">${h.name} (${h.seatCnt}座)</option>`)}`);
            priceInputs(box, hallSel.value);
          };
          evSel.addEventListener('change', loadHalls);
          hallSel.addEventListener('change', () => priceInputs(box, hallSel.value));
          loadHalls();
        },
        submit(v) {
          const data = { eventId: v.eventId, startTm: v.startTm, holdMinutes: v.holdMinutes };
          for (const k of ['hallId', 'endTm', 'saleEndTm']) if (v[k]) data[k] = v[k];
          if (v.hallId) {
            const codes = $$('[name^=price_]', box).map((i) => i.name.slice(6));
            data.prices = codes.map((c) => `${c}:${box.querySelector(`[name=price_${c}]`).value}`).join(',');
            data.classNames = codes.map((c) => [c, box.querySelector(`[name=cname_${c}]`).value.trim()]).filter(([, n]) => n).map(([c, n]) => `${c}:${n}`).join(',');
          }
          return callSvr('Showing.add', {}, data);
        },
      });
    }

    async function classesDialog(s) {
      const body = html`<div class="classes-host"></div>`;
      const draw = async (box) => {
        const rows = await callSvr('PriceClass.query', { cond: `showingId=${lit(s.id)}`, res: 'id,code,name,price,capacity,left', orderby: 'price desc', fmt: 'array' });
        render($('.classes-host', box), html`<table class="tbl"><thead><tr><th>名称</th><th class="num">票价</th><th class="num">数量</th><th class="num">余票</th><th></th></tr></thead>
          <tbody>${rows.map((c) => html`<tr><td>${c.code ? html`<span class="cls" style="--c:${classColor(c.code)}">${c.code}</span> ` : ''}${c.name}</td><td class="num">¥${c.price}</td><td class="num">${c.capacity}</td><td class="num">${c.left}</td>
            <td><button class="btn small ghost" data-edit-class="${c.id}">改价</button>${c.code ? '' : html` <button class="btn small ghost danger" data-del-class="${c.id}">删除</button>`}</td></tr>`)}</tbody></table>
          ${s.hallId ? '' : html`<button class="btn small primary" data-add-class style="margin-top:8px">+ 添加票价等级</button>`}`);
      };
      await dialog({
        title: `票价 · ${s.eventName} ${fmtTm(s.startTm)}`,
        wide: true,
        body,
        onOpen(box) {
          draw(box);
          on(box, 'click', '[data-add-class]', async () => {
            const id = await formDialog({
              title: '添加票价等级',
              fields: [
                { name: 'name', label: '名称', required: true, placeholder: '如: 站票' },
                { name: 'price', label: '票价(元)', type: 'number', step: '0.01', min: 0.01, required: true },
                { name: 'capacity', label: '数量', type: 'number', min: 1, required: true },
              ],
              submit: (v) => callSvr('PriceClass.add', {}, { ...v, showingId: s.id }),
            });
            if (id) draw(box);
          });
          on(box, 'click', '[data-edit-class]', async (e, b) => {
            const c = await callSvr('PriceClass.get', { id: b.dataset.editClass, res: 'id,name,price' });
            const ok = await formDialog({
              title: `修改 ${c.name}`,
              fields: [{ name: 'name', label: '名称', value: c.name, required: true }, { name: 'price', label: '票价(元)', type: 'number', step: '0.01', value: c.price, required: true }],
              submit: (v) => callSvr('PriceClass.set', { id: c.id }, v),
            });
            if (ok) draw(box);
          });
          on(box, 'click', '[data-del-class]', async (e, b) => {
            if ((await run(() => callSvr('PriceClass.del', { id: b.dataset.delClass }), b)) !== undefined) draw(box);
          });
        },
      });
    }

    const grid = new Grid(el, {
      ac: 'Showing.query',
      res: 'id,eventId,eventName,hallId,hallName,startTm,endTm,saleEndTm,holdMinutes,classes',
      orderby: 'startTm',
      q: false,
      filters: [
        { name: 'eventId', label: '演出', type: 'select', options: [['', '全部'], ...eventOpts] },
        { name: 'from', label: '日期从', type: 'date' },
        { name: 'to', label: '到', type: 'date' },
      ],
      initial: { eventId: ctx.params.eventId || '' },
      cond: (v) => andCond([v.eventId && `eventId=${lit(v.eventId)}`, v.from && `startTm>=${lit(v.from)}`, v.to && `startTm<${lit(nextDay(v.to))}`]),
      columns: [
        { field: 'id', title: '编号', sort: true },
        { field: 'eventName', title: '演出', cls: 'wrap' },
        { field: 'startTm', title: '开始', sort: true, fmt: (r) => fmtTm(r.startTm) },
        { field: 'endTm', title: '结束', fmt: (r) => fmtTm(r.endTm) },
        { field: 'hallName', title: '影厅', fmt: (r) => r.hallName || '不对号入座' },
        { field: 'classes', title: '票价 / 余票', cls: 'wrap', fmt: (r) => html`${(r.classes || []).map((c) => html`<span class="price-tag">${c.name} ¥${c.price} <small>余${c.left}</small></span> `)}` },
        { field: '', title: '操作', fmt: (r) => html`${r.hallId ? html`<button class="btn small ghost" data-seats="${r.id}">座位</button> ` : ''}<button class="btn small ghost" data-classes="${r.id}">票价</button> <button class="btn small ghost danger" data-del="${r.id}">删除</button>` },
      ],
      emptyText: '还没有场次',
      tools: [{
        text: '+ 添加场次',
        kind: 'primary',
        id: 'btnAddShowing',
        async onClick() {
          const id = await addShowing();
          if (id) {
            toast('场次已添加', 'ok');
            await grid.load(1);
            const s = grid.rows.find((r) => r.id === id);
            if (s && !s.hallId) classesDialog(s);
          }
        },
      }],
      async onRow(s) {
        const ok = await formDialog({
          title: `修改场次 ${s.id}`,
          fields: [
            { name: 'startTm', label: '开始时间', type: 'datetime-local', value: local(s.startTm), required: true },
            { name: 'endTm', label: '结束时间', type: 'datetime-local', value: local(s.endTm), required: true },
            { name: 'saleEndTm', label: '停售时间', type: 'datetime-local', value: local(s.saleEndTm) },
            { name: 'holdMinutes', label: '保留分钟', type: 'number', value: s.holdMinutes, min: 1 },
          ],
          submit: (v) => callSvr('Showing.set', { id: s.id }, v),
        });
        if (ok) {
          toast('场次已保存', 'ok');
          grid.load();
        }
      },
    });
    const rowOf = (id) => grid.rows.find((r) => String(r.id) === String(id)) || { id };
    on(el, 'click', '[data-seats]', async (e, b) => {
      const s = rowOf(b.dataset.seats);
      const seats = await callSvr('Showing.seats', { id: s.id });
      const m = seatsAsMap(seats);
      const sold = seats.seats.filter((x) => x.state === 'sold').length;
      const held = seats.seats.filter((x) => x.state === 'held').length;
      await dialog({
        title: `座位 · ${s.eventName} ${fmtTm(s.startTm)}`,
        wide: true,
        body: html`<p class="muted">共 ${seats.seats.length} 座, 已售 ${sold}, 锁定中 ${held}, 可售 ${seats.seats.length - sold - held}</p>${seatPreview(m.text, { states: m.states, classNames: m.names })}`,
      });
    });
    on(el, 'click', '[data-classes]', (e, b) => classesDialog(rowOf(b.dataset.classes)).then(() => grid.load()));
    on(el, 'click', '[data-del]', async (e, b) => {
      const s = rowOf(b.dataset.del);
      if (!(await confirmDlg(`删除场次 #${s.id} (${s.eventName} ${fmtTm(s.startTm)})? 其座位和票价一并删除。`, { title: '删除场次', okText: '删除', danger: true }))) return;
      if ((await run(() => callSvr('Showing.del', { id: s.id }), b)) !== undefined) {
        toast('场次已删除', 'ok');
        grid.load();
      }
    });
    await grid.load(1);
  },
};
