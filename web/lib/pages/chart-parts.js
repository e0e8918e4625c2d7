// pages/chart-parts.js: what the statistics pages share: the date-range bar, Chart.js drawing (the UMD build
// vendored as web/vendor/chart.umd.min.js provides `window.Chart`), colours and the list of days of a range.

import { html, render, $, on, ymd } from '../jdy.js';

export const COLORS = ['#2f6fed', '#1f9d55', '#d9822b', '#e5484d', '#8e4ec6', '#0e8ba0', '#c2a633', '#5b6270'];
export const STATUS_COLORS = { CR: '#2f6fed', PA: '#0e8ba0', RE: '#1f9d55', CA: '#aab1bd', RF: '#d9822b' };

/** Every `YYYY-MM-DD` from `from` to `to`, inclusive (at most 400 days). */
export function daysBetween(from, to) {
  const out = [];
  const start = new Date(`${from}T00:00:00`);
  for (let i = 0; i < 400; i += 1) {
    const d = ymd(i, start);
    if (d > to) break;
    out.push(d);
  }
  return out;
}

/** Draws (or redraws) a chart on `canvas`; a missing Chart.js leaves a note instead of breaking the page. */
export function drawChart(canvas, config) {
  const Chart = window.Chart;
  if (!Chart) {
    render(canvas.parentElement, html`<div class="empty"><div class="empty-text">图表库未加载</div></div>`);
    return null;
  }
  const old = Chart.getChart(canvas);
  if (old) old.destroy();
  return new Chart(canvas, {
    ...config,
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      ...config.options,
      plugins: { legend: { labels: { boxWidth: 12 } }, ...(config.options || {}).plugins },
    },
  });
}

/** Date range with quick picks (7/30/90 days); `onChange()` runs on 查询 and on a quick pick. */
export class RangeBar {
  constructor(el, onChange) {
    render(el, html`<form class="toolbar" autocomplete="off">
      <label class="f"><span>日期从</span><input type="date" name="from" value="${ymd(-29)}" required></label>
      <label class="f"><span>到</span><input type="date" name="to" value="${ymd(0)}" required></label>
      <div class="acts"><button class="btn primary" type="submit">查询</button></div>
      <div class="grow"></div>
      <div class="acts">${[7, 30, 90].map((n) => html`<button type="button" class="btn" data-days="${n}">近${n}天</button>`)}</div>
    </form>`);
    this.form = $('form', el);
    // The quick pick that matches the dates shown is marked; typed dates that match none mark none.
    const mark = () => {
      const { from, to } = this.values();
      for (const b of el.querySelectorAll('[data-days]')) {
        const on = to === ymd(0) && from === ymd(1 - Number(b.dataset.days));
        b.classList.toggle('on', on);
        b.setAttribute('aria-pressed', on ? 'true' : 'false');
      }
    };
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      mark();
      onChange();
    });
    on(el, 'click', '[data-days]', (e, b) => {
      this.form.from.value = ymd(1 - Number(b.dataset.days));
      this.form.to.value = ymd(0);
      mark();
      onChange();
    });
    mark();
  }

  values() {
    let { value: from } = this.form.from;
    let { value: to } = this.form.to;
    if (from > to) [from, to] = [to, from];
    return { from, to };
  }
}
