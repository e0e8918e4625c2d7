// pages/stats.js: order statistics: orders and amount per day and per status over a date range, fetched in
// one `batch` call with `gres` aggregates, drawn with Chart.js (web/vendor/chart.umd.min.js) and listed in tables.

import { batch, html, render, $, fmtMoney, lit, andCond, ORDER_STATUS, toast } from '../jdy.js';
import { nextDay } from './orders.js';
import { RangeBar, drawChart, COLORS, STATUS_COLORS, daysBetween } from './chart-parts.js';

/** The orders whose amount counts: neither cancelled nor refunded. */
const TAKEN = "status NOT IN ('CA','RF')";

export default {
  id: 'stats',
  title: '订单统计',
  icon: '◔',
  async render(el) {
    render(el, html`<div id="range"></div>
      <div class="cards" id="cards"></div>
      <div class="panels">
        <div class="panel"><h2>每日订单</h2><div class="chart"><canvas id="chDay" aria-label="每日订单图表"></canvas></div></div>
        <div class="panel"><h2>订单状态</h2><div class="chart"><canvas id="chStatus" aria-label="订单状态图表"></canvas></div></div>
      </div>
      <div class="panels even">
        <div class="panel"><h2>按日明细</h2><div id="tblDay"></div></div>
        <div class="panel"><h2>按状态明细</h2><div id="tblStatus"></div></div>
      </div>`);
    const range = new RangeBar($('#range', el), () => load());
    const load = async () => {
      const { from, to } = range.values();
      const cond = andCond([`createTm>=${lit(from)}`, `createTm<${lit(nextDay(to))}`]);
      const [byDay, byStatus, users] = await batch([
        // Amounts count what was not cancelled or refunded: money the store takes, not money it was offered.
        { ac: 'Ordr.query', params: { gres: 'y,m,d', res: `count(*) cnt,sumif(${TAKEN}, amount) total`, cond, orderby: 'y,m,d', fmt: 'array' } },
        { ac: 'Ordr.query', params: { gres: 'status', res: 'count(*) cnt,sum(amount) total', cond, orderby: 'cnt desc', fmt: 'array' } },
        { ac: 'User.query', params: { res: 'count(*) cnt', cond, fmt: 'one' } },
      ]);
      const failed = [byDay, byStatus, users].find((r) => !r.ok);
      if (failed) {
        toast(failed.error.msg, 'error');
        return;
      }
      // Every day of the range gets a point, with zero for days without orders.
      const perDay = new Map(byDay.data.map((r) => [`${r.y}-${String(r.m).padStart(2, '0')}-${String(r.d).padStart(2, '0')}`, r]));
      const days = daysBetween(from, to);
      const cnt = days.map((d) => perDay.get(d)?.cnt || 0);
      const amt = days.map((d) => Number(perDay.get(d)?.total || 0));
      const total = cnt.reduce((a, b) => a + b, 0);
      const sum = amt.reduce((a, b) => a + b, 0);
      const done = byStatus.data.find((r) => r.status === 'RE')?.cnt || 0;
      render($('#cards', el), [
        ['订单数', total], ['订单金额(不含取消)', fmtMoney(sum)], ['已完成', done], ['新增用户', users.data.cnt],
      ].map(([l, v]) => html`<div class="stat-card"><div class="label">${l}</div><div class="value">${v}</div></div>`));
      drawChart($('#chDay', el), {
        type: 'bar',
        data: {
          labels: days.map((d) => d.slice(5)),
          datasets: [
            { type: 'line', label: '订单数', data: cnt, borderColor: COLORS[0], backgroundColor: COLORS[0], yAxisID: 'y', tension: 0, pointRadius: 2 },
            { type: 'bar', label: '金额(元)', data: amt, backgroundColor: 'rgba(47,111,237,.15)', yAxisID: 'y1' },
          ],
        },
        options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } }, y1: { beginAtZero: true, position: 'right', grid: { drawOnChartArea: false } } } },
      });
      drawChart($('#chStatus', el), {
        type: 'doughnut',
        data: {
          labels: byStatus.data.map((r) => ORDER_STATUS[r.status] || r.status),
          datasets: [{ data: byStatus.data.map((r) => r.cnt), backgroundColor: byStatus.data.map((r) => STATUS_COLORS[r.status] || '#aab') }],
        },
        options: { plugins: { legend: { position: 'bottom' } } },
      });
      const dayRows = days.map((d, i) => [d, cnt[i], amt[i]]).filter((r) => r[1] > 0).reverse();
      render($('#tblDay', el), table(['日期', '订单数', '金额'], dayRows.map(([d, c, a]) => [d, c, fmtMoney(a)]), '该时间段没有订单'));
      render($('#tblStatus', el), table(['状态', '订单数', '金额'], byStatus.data.map((r) => [ORDER_STATUS[r.status] || r.status, r.cnt, fmtMoney(r.total)]), '该时间段没有订单'));
    };
    await load();
  },
};

/** A small static table; numbers right-aligned. */
export function table(head, rows, emptyText) {
  if (!rows.length) return html`<div class="empty"><div class="empty-text">${emptyText}</div></div>`;
  return html`<div class="tbl-wrap"><table class="tbl"><thead><tr>${head.map((h, i) => html`<th class="${i ? 'num' : ''}">${h}</th>`)}</tr></thead>
    <tbody>${rows.map((r) => html`<tr>${r.map((c, i) => html`<td class="${i ? 'num' : ''}">${c}</td>`)}</tr>`)}</tbody></table></div>`;
}
