// pages/apistats.js: call statistics for the admin, all from ApiLog.query aggregates in one batch: calls and
// errors per day, per call name (count, average and slowest time, error rate), per app, and the slowest calls.

import { batch, html, render, $, fmtTm, lit, andCond, toast } from '../jdy.js';
import { nextDay } from './orders.js';
import { table } from './stats.js';
import { RangeBar, drawChart, COLORS, daysBetween } from './chart-parts.js';

const pct = (err, cnt) => (cnt ? `${((100 * err) / cnt).toFixed(1)}%` : '-');
const ms = (v) => (v === null || v === undefined ? '-' : `${Math.round(Number(v))} ms`);

export default {
  id: 'apistats',
  title: '调用统计',
  icon: '◷',
  mgr: true,
  async render(el) {
    render(el, html`<div id="range"></div>
      <div class="cards" id="cards"></div>
      <div class="panels even">
        <div class="panel"><h2>每日调用</h2><div class="chart"><canvas id="chCallsDay" aria-label="每日调用图表"></canvas></div></div>
        <div class="panel"><h2>调用次数 Top 10</h2><div class="chart"><canvas id="chCallsAc" aria-label="调用次数图表"></canvas></div></div>
      </div>
      <div class="panel" style="margin-bottom:14px"><h2>按调用统计</h2><div id="tblAc"></div></div>
      <div class="panels even">
        <div class="panel"><h2>最慢的调用</h2><div id="tblSlow"></div></div>
        <div class="panel"><h2>按应用统计</h2><div id="tblApp"></div></div>
      </div>`);
    const range = new RangeBar($('#range', el), () => load());
    const load = async () => {
      const { from, to } = range.values();
      const cond = andCond([`tm>=${lit(from)}`, `tm<${lit(nextDay(to))}`]);
      // "Not logged in" (code 2) is the expected answer to a guest, not a failure: counted on its own.
      const agg = 'count(*) cnt,countif(retval<>0 AND retval<>2) errCnt,countif(retval=2) noAuthCnt,avg(t) avgT,max(t) maxT';
      const rets = await batch([
        { ac: 'ApiLog.query', params: { res: agg, cond, fmt: 'one' } },
        { ac: 'ApiLog.query', params: { gres: 'y,m,d', res: 'count(*) cnt,countif(retval<>0 AND retval<>2) errCnt', cond, orderby: 'y,m,d', fmt: 'array' } },
        { ac: 'ApiLog.query', params: { gres: 'ac', res: agg, cond, orderby: 'cnt desc', pagesz: 100, fmt: 'array' } },
        { ac: 'ApiLog.query', params: { res: 'id,tm,app,ac,t,retval', cond, orderby: 't desc', pagesz: 10, fmt: 'array' } },
        { ac: 'ApiLog.query', params: { gres: 'app', res: agg, cond, orderby: 'cnt desc', fmt: 'array' } },
      ]);
      const failed = rets.find((r) => !r.ok);
      if (failed) {
        toast(failed.error.msg, 'error');
        return;
      }
      const [all, byDay, byAc, slow, byApp] = rets.map((r) => r.data);
      render($('#cards', el), [
        ['调用总数', all.cnt], ['出错次数', all.errCnt], ['错误率', pct(all.errCnt, all.cnt)], ['未登录', all.noAuthCnt], ['平均耗时', ms(all.avgT)],
      ].map(([l, v]) => html`<div class="stat-card"><div class="label">${l}</div><div class="value">${v}</div></div>`));
      const perDay = new Map(byDay.map((r) => [`${r.y}-${String(r.m).padStart(2, '0')}-${String(r.d).padStart(2, '0')}`, r]));
      const days = daysBetween(from, to);
      drawChart($('#chCallsDay', el), {
        type: 'line',
        data: {
          labels: days.map((d) => d.slice(5)),
          datasets: [
            { label: '调用次数', data: days.map((d) => perDay.get(d)?.cnt || 0), borderColor: COLORS[0], backgroundColor: COLORS[0], tension: 0, pointRadius: 2 },
            { label: '出错次数', data: days.map((d) => perDay.get(d)?.errCnt || 0), borderColor: COLORS[3], backgroundColor: COLORS[3], tension: 0, pointRadius: 2 },
          ],
        },
        options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
      });
      const top = byAc.slice(0, 10);
      drawChart($('#chCallsAc', el), {
        type: 'bar',
        data: {
          labels: top.map((r) => r.ac),
          datasets: [
            { label: '成功', data: top.map((r) => r.cnt - r.errCnt), backgroundColor: COLORS[0] },
            { label: '出错', data: top.map((r) => r.errCnt), backgroundColor: COLORS[3] },
          ],
        },
        options: { indexAxis: 'y', scales: { x: { stacked: true, beginAtZero: true, ticks: { precision: 0 } }, y: { stacked: true } } },
      });
      render($('#tblAc', el), table(['调用', '次数', '平均耗时', '最大耗时', '出错', '错误率'],
        byAc.map((r) => [r.ac, r.cnt, ms(r.avgT), ms(r.maxT), r.errCnt, pct(r.errCnt, r.cnt)]), '该时间段没有调用'));
      render($('#tblSlow', el), table(['时间', '调用', '应用', '耗时', '返回码'],
        slow.map((r) => [fmtTm(r.tm), r.ac, r.app, ms(r.t), r.retval]), '该时间段没有调用'));
      render($('#tblApp', el), table(['应用', '次数', '平均耗时', '出错', '错误率'],
        byApp.map((r) => [r.app || '-', r.cnt, ms(r.avgT), r.errCnt, pct(r.errCnt, r.cnt)]), '该时间段没有调用'));
    };
    await load();
  },
};
