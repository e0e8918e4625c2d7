// pages/boxoffice.js: box office and seat occupancy, through the generic query: valid tickets (paid, not
// refunded) summed by event, store, city or day (Ticket `gres` with `sum(price)`), heat (tickets of the last 7
// days), and each showing's seats sold. A store's staff see their store's; the admin the platform's. Charts with
// Chart.js, CSV and Excel export of the same query.

import { callSvr, html, render, $, on, fmtMoney, lit, andCond, makeUrl, fmtTm } from '../jdy.js';
import { nextDay } from './orders.js';
import { RangeBar, drawChart, COLORS, daysBetween } from './chart-parts.js';
import { table } from './stats.js';

const BY = [['itemName', '按演出/车次'], ['storeName', '按商户'], ['cityName', '按城市'], ['day', '按日']];
const VALID = "status IN ('OK','US')";

export default {
  id: 'boxoffice',
  title: '票房统计',
  icon: '¥',
  async render(el, ctx) {
    render(el, html`<div id="range"></div>
      <div class="toolbar"><label class="f"><span>分组</span><select id="selBy">${BY.map(([k, l]) => html`<option value="${k}">${l}</option>`)}</select></label>
        <div class="grow"></div><a class="btn" id="expCsv" download>导出CSV</a><a class="btn" id="expXls" download>导出Excel</a></div>
      <div class="cards" id="boCards"></div>
      <div class="panels even"><div class="panel"><h2>票房(已付款, 不含退票)</h2><div class="chart"><canvas id="chBox" aria-label="票房图表"></canvas></div></div>
        <div class="panel"><h2>明细</h2><div id="tblBox"></div></div></div>
      <div class="panel"><h2>场次上座率</h2><div id="tblOcc"></div></div>`);
    const range = new RangeBar($('#range', el), () => load());
    on(el, 'change', '#selBy', () => load());
    const load = async () => {
      const { from, to } = range.values();
      const by = $('#selBy', el).value;
      const cond = andCond([VALID, `paidTm>=${lit(from)}`, `paidTm<${lit(nextDay(to))}`]);
      const gres = by === 'day' ? 'y,m,d' : by;
      const q = { gres, res: 'count(*) tickets,sum(price) amount', cond, orderby: by === 'day' ? 'y,m,d' : 'amount desc' };
      for (const [id, fmt] of [['#expCsv', 'csv'], ['#expXls', 'excel']]) {
        $(id, el).href = makeUrl('Ticket.query', { ...q, fmt, pagesz: -1, fname: '票房' });
      }
      const rows = await callSvr('Ticket.query', { ...q, fmt: 'array', pagesz: 500 });
      const heat = await callSvr('Ticket.query', { res: 'count(*) n', cond: andCond([VALID, `paidTm>=${lit(ymdAgo(6))}`]), fmt: 'one' });
      const label = (r) => (by === 'day' ? `${r.y}-${String(r.m).padStart(2, '0')}-${String(r.d).padStart(2, '0')}` : r[by] || '(未知)');
      let labels = rows.map(label);
      let amounts = rows.map((r) => Number(r.amount || 0));
      if (by === 'day') {
        const per = new Map(rows.map((r) => [label(r), Number(r.amount || 0)]));
        labels = daysBetween(from, to);
        amounts = labels.map((d) => per.get(d) || 0);
      }
      const total = rows.reduce((a, r) => a + Number(r.amount || 0), 0);
      const tickets = rows.reduce((a, r) => a + Number(r.tickets || 0), 0);
      render($('#boCards', el), [['票房', fmtMoney(total)], ['售出票数', tickets], ['近7天热度(张)', heat.n]].map(
        ([l, v]) => html`<div class="stat-card"><div class="label">${l}</div><div class="value" data-card="${l}">${v}</div></div>`,
      ));
      drawChart($('#chBox', el), {
        type: 'bar',
        data: { labels: by === 'day' ? labels.map((d) => d.slice(5)) : labels.slice(0, 20), datasets: [{ label: '票房(元)', data: by === 'day' ? amounts : amounts.slice(0, 20), backgroundColor: COLORS[0] }] },
        options: { indexAxis: by === 'day' ? 'x' : 'y', scales: { x: { beginAtZero: true } } },
      });
      render($('#tblBox', el), table(['分组', '票数', '票房'], rows.map((r) => [label(r), r.tickets, fmtMoney(r.amount)]), '该时间段没有售出的票'));
      const occ = await callSvr('Showing.query', {
        res: 'id,eventName,startTm,hallName,seatsSold,seatsTotal', cond: andCond(['hallId IS NOT NULL', `startTm>=${lit(from)}`]), orderby: 'startTm', fmt: 'array', pagesz: 50,
      });
      render($('#tblOcc', el), table(['场次', '已售/座位', '上座率'], occ.map((s) => [`${s.eventName} ${fmtTm(s.startTm)} ${s.hallName || ''}`, `${s.seatsSold}/${s.seatsTotal}`,
        s.seatsTotal ? `${((100 * s.seatsSold) / s.seatsTotal).toFixed(1)}%` : '—']), '没有对号入座的场次'));
    };
    await load();
  },
};

function ymdAgo(n) {
  const d = new Date(Date.now() - n * 86400000);
  const p = (x) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}
