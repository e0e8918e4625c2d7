// pages/trains.js: a rail store's trains (Train with stops and carriages, written as lines of text), their run
// dates (Train.addRuns) and each run's sales by segment: one line per seat, one cell per segment, sold or held.

import { callSvr, html, render, on, run, toast, formDialog, dialog, $, lit, ymd } from '../jdy.js';
import { Grid } from '../grid.js';

const CLASS_NAMES = { SW: '商务座', ZY: '一等座', ZE: '二等座' };

/** `北京南,,08:00,0,0` lines → stops, station names resolved by `stations` (name → id). */
export function parseStops(text, stations) {
  return text.split('\n').map((l) => l.trim()).filter(Boolean).map((line, seq) => {
    const [name, arr, dep, day, km] = line.split(/[,，]/).map((x) => (x || '').trim());
    const stationId = stations[name.replace(/站$/, '')];
    if (!stationId) throw new Error(`第${seq + 1}行: 没有车站「${name}」`);
    return { seq, stationId, arrTm: arr || null, depTm: dep || null, dayOffset: Number(day || 0), km: Number(km || 0) };
  });
}

/** `05 ZE 01A,01B,...` lines → carriages. */
export function parseCarriages(text) {
  return text.split('\n').map((l) => l.trim()).filter(Boolean).map((line, i) => {
    const [no, seatClass, ...rest] = line.split(/\s+/);
    if (!CLASS_NAMES[seatClass]) throw new Error(`车厢第${i + 1}行: 席别须是SW, ZY或ZE`);
    return { no, seatClass, seats: rest.join(',') };
  });
}

export default {
  id: 'trains',
  title: '车次管理',
  icon: '⇶',
  async render(el, ctx) {
    const admin = ctx.app === 'admin';
    // The admin sees every rail store's trains and names the store of a new one.
    const stores = admin ? (await callSvr('Store.query', { cond: "kind='rail'", res: 'id,name', fmt: 'array', pagesz: -1 })).map((x) => [x.id, x.name]) : [];
    const stationRows = await callSvr('Station.query', { res: 'id,name', fmt: 'array', pagesz: -1 });
    const stations = Object.fromEntries(stationRows.map((s) => [s.name, s.id]));
    const names = Object.fromEntries(stationRows.map((s) => [s.id, s.name]));
    const edit = async (t = {}) => {
      const full = t.id ? await callSvr('Train.get', { id: t.id }) : { stops: [], carriages: [] };
      const stopText = full.stops.map((s) => [names[s.stationId] || s.stationId, s.arrTm || '', s.depTm || '', s.dayOffset || 0, s.km || 0].join(',')).join('\n');
      const carText = full.carriages.map((c) => `${c.no} ${c.seatClass} ${c.seats}`).join('\n');
      return formDialog({
        title: t.id ? `编辑车次 ${full.code}` : '添加车次',
        wide: true,
        fields: [
          ...(admin && !t.id ? [{ name: 'storeId', label: '铁路商户', type: 'select', options: [['', '请选择'], ...stores], required: true }] : []),
          { name: 'code', label: '车次', value: full.code, required: true, placeholder: 'G101' },
          { name: 'name', label: '名称', value: full.name, placeholder: '北京南-上海虹桥' },
          { name: 'stops', label: '停靠站', type: 'textarea', rows: 8, value: stopText, hint: '每行一站: 站名,到达,出发,天数,里程 (如 济南西,09:32,09:34,0,406); 已有运行日期后不能再改' },
          { name: 'carriages', label: '车厢', type: 'textarea', rows: 5, value: carText, hint: '每行一节: 车厢号 席别(SW/ZY/ZE) 座位号(逗号分隔), 如 05 ZE 01A,01B,01C' },
        ],
        async submit(v) {
          const data = { code: v.code, name: v.name, stops: parseStops(v.stops, stations), carriages: parseCarriages(v.carriages) };
          if (v.storeId) data.storeId = v.storeId;
          if (t.id) {
            // Stops and carriages are replaced as a whole (submode=put).
            return callSvr('Train.set', { id: t.id, submode: 'put' }, data);
          }
          return callSvr('Train.add', {}, data);
        },
      });
    };
    const grid = new Grid(el, {
      ac: 'Train.query',
      res: 'id,code,name,createTm',
      orderby: 'code',
      q: '车次/名称',
      columns: [
        { field: 'code', title: '车次', sort: true },
        { field: 'name', title: '名称' },
        { field: '', title: '操作', fmt: (r) => html`<button class="btn small ghost" data-runs="${r.id}">运行日期</button> <button class="btn small ghost" data-sales="${r.id}">售票情况</button>` },
      ],
      emptyText: '还没有车次',
      tools: [{
        text: '+ 添加车次',
        kind: 'primary',
        id: 'btnAddTrain',
        async onClick() {
          if (await edit()) {
            toast('车次已添加, 下一步生成运行日期', 'ok');
            grid.load(1);
          }
        },
      }],
      async onRow(t) {
        if (await edit(t)) {
          toast('车次已保存', 'ok');
          grid.load();
        }
      },
    });
    on(el, 'click', '[data-runs]', async (e, b) => {
      const n = await formDialog({
        title: '生成运行日期',
        fields: [
          { name: 'fromDt', label: '从', type: 'date', value: ymd(1), required: true },
          { name: 'toDt', label: '到', type: 'date', value: ymd(14), required: true, hint: '最多90天, 已有的日期跳过' },
        ],
        submit: (v) => callSvr('Train.addRuns', { id: b.dataset.runs }, v),
      });
      if (n !== null) toast(`已生成${n}个运行日期`, 'ok');
    });
    on(el, 'click', '[data-sales]', async (e, b) => {
      const t = await callSvr('Train.get', { id: b.dataset.sales });
      const runs = await callSvr('TrainRun.query', { cond: `trainId=${lit(t.id)} AND dt>=${lit(ymd())}`, res: 'id,dt', orderby: 'dt', fmt: 'array', pagesz: 60 });
      if (!runs.length) return toast('还没有运行日期', 'error');
      await dialog({
        title: `${t.code} 售票情况`,
        wide: true,
        body: html`<div class="sales"><label>日期 <select id="selRun">${runs.map((r) => html`<option value="${r.id}">${r.dt}</option>`)}</select></label><div id="occ"></div></div>`,
        onOpen(box) {
          const draw = () => run(async () => {
            const seats = await callSvr('RunSeat.query', { cond: `runId=${lit($('#selRun', box).value)}`, res: 'id,label,seatClass,sold,held', orderby: 'carriageNo,seq', fmt: 'array', pagesz: -1 });
            const segs = t.stops.slice(0, -1).map((s, i) => `${names[s.stationId] || ''}→${names[t.stops[i + 1].stationId] || ''}`);
            const busy = seats.filter((s) => s.sold || s.held).length;
            render($('#occ', box), html`<p class="muted">共${seats.length}座, ${busy}座有区间售出或锁定</p>
              <div class="occ"><div class="occ-row head"><span class="lbl">座位</span>${segs.map((s) => html`<span class="seg" title="${s}">${s.split('→')[0].slice(0, 2)}</span>`)}</div>
              ${seats.map((s) => html`<div class="occ-row"><span class="lbl">${s.label}</span>${segs.map((_, i) => {
                const st = (s.sold >> i) & 1 ? 'sold' : (s.held >> i) & 1 ? 'held' : 'free';
                return html`<span class="seg ${st}" title="${s.label} ${segs[i]} ${st === 'sold' ? '已售' : st === 'held' ? '锁定' : '可售'}"></span>`;
              })}</div>`)}</div>`);
          });
          $('#selRun', box).addEventListener('change', draw);
          draw();
        },
      });
    });
    await grid.load(1);
  },
};
