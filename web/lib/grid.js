// grid.js: a table driven by the query language, used by every list of the consoles.
// The filter form becomes `cond`, clicking a column header sets `orderby`, the quick search box sends `q`,
// paging uses `page`/`pagesz` (the reply's `total` gives the page count), and the export links ask the same
// query for `fmt=csv` / `fmt=excel`. Every cell goes through `html`, so every value is escaped.

import { callSvr, makeUrl, html, raw, render, $, on, emptyState, E } from './jdy.js';

/**
 * `new Grid(el, opt)`; opt:
 * - `ac` (e.g. `Ordr.query`), `res`, `orderby` (default sort), `pagesz` (20), `params` (extra URL params)
 * - `columns`: [{field, title, fmt(row) → text|html, sort: true|'expr'|false, cls: 'num'|'wrap'}]
 * - `filters`: [{name, label, type: text|select|date|number|check, options, placeholder}] and `cond(values)` → cond text
 * - `q`: placeholder of the quick search box (false: none)
 * - `exportRes`, `fname`: export links (omitted when `exportRes` is absent)
 * - `tools`: [{text, kind, id, onClick}] buttons on the right; `onRow(row)`: click on a row; `emptyText`
 */
export class Grid {
  constructor(el, opt) {
    this.el = el;
    this.opt = { pagesz: 20, q: '搜索', ...opt };
    this.sort = null; // {field, dir}
    this.page = 1;
    this.rows = [];
    this.seq = 0; // number of the latest load; replies of older loads are dropped
    this.build();
  }

  build() {
    const o = this.opt;
    render(this.el, html`<form class="toolbar" autocomplete="off">
      ${o.q ? html`<label class="f"><span>快速搜索</span><input type="search" class="q" name="q" placeholder="${o.q}"></label>` : ''}
      ${(o.filters || []).map(filterField)}
      <div class="acts"><button class="btn primary" type="submit">查询</button><button class="btn" type="reset">重置</button></div>
      <div class="grow"></div>
      <div class="acts">${(o.tools || []).map((t, i) => html`<button type="button" class="btn ${t.kind || ''}" data-tool="${i}" ${t.id ? html`id="${t.id}"` : ''}>${t.text}</button>`)}
        ${o.exportRes ? html`<a class="btn" data-export="csv" download>导出CSV</a><a class="btn" data-export="excel" download>导出Excel</a>` : ''}</div>
    </form>
    <div class="tbl-wrap"><table class="tbl"><thead></thead><tbody></tbody></table><div class="grid-msg"></div></div>
    <div class="pager"></div>`);
    this.form = $('form', this.el);
    for (const [k, v] of Object.entries(o.initial || {})) if (this.form.elements[k]) this.form.elements[k].value = v;
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.load(1);
    });
    // 重置 goes back to the page as first shown: no filters, default order.
    this.form.addEventListener('reset', () => {
      this.sort = null;
      setTimeout(() => this.load(1));
    });
    on(this.el, 'click', '[data-tool]', (e, b) => o.tools[Number(b.dataset.tool)].onClick(b));
    on(this.el, 'click', 'th[data-sort]', (e, th) => {
      const f = th.dataset.sort;
      if (!this.sort || this.sort.field !== f) this.sort = { field: f, dir: 'asc' };
      else if (this.sort.dir === 'asc') this.sort.dir = 'desc';
      else this.sort = null;
      this.load(1);
    });
    on(this.el, 'click', 'tbody tr[data-i]', (e, tr) => {
      if (e.target.closest('a,button')) return;
      if (o.onRow) o.onRow(this.rows[Number(tr.dataset.i)]);
    });
    on(this.el, 'click', '[data-page]', (e, b) => this.load(Number(b.dataset.page)));
    this.renderHead();
  }

  renderHead() {
    render($('thead', this.el), html`<tr>${this.opt.columns.map((c) => {
      const key = c.sort === true ? c.field : c.sort;
      const arrow = this.sort && this.sort.field === key ? (this.sort.dir === 'asc' ? '↑' : '↓') : '';
      return html`<th class="${c.cls || ''}" ${key ? html`data-sort="${key}" title="点击排序"` : ''}>${c.title}${arrow ? html`<span class="arrow">${arrow}</span>` : ''}</th>`;
    })}</tr>`);
  }

  /** The filter values of the form. */
  values() {
    const out = {};
    for (const f of this.opt.filters || []) {
      const el = this.form.elements[f.name];
      out[f.name] = f.type === 'check' ? el.checked : el.value.trim();
    }
    return out;
  }

  /** The query parameters for the current form, sort and page. */
  params() {
    const o = this.opt;
    const cond = o.cond ? o.cond(this.values()) : '';
    const orderby = this.sort ? `${this.sort.field} ${this.sort.dir}` : o.orderby;
    const q = o.q ? this.form.elements.q.value.trim() : '';
    return { ...(o.params || {}), res: o.res, cond: cond || undefined, orderby, q: q || undefined };
  }

  async load(page = this.page) {
    this.page = page;
    this.renderHead();
    const o = this.opt;
    const p = this.params();
    for (const a of this.el.querySelectorAll('[data-export]')) {
      a.href = makeUrl(o.ac, { ...p, res: o.exportRes, fmt: a.dataset.export, pagesz: -1, fname: o.fname });
    }
    const msg = $('.grid-msg', this.el);
    const tbody = $('tbody', this.el);
    const seq = ++this.seq;
    let r;
    try {
      r = await callSvr(o.ac, { ...p, fmt: 'list', page, pagesz: o.pagesz });
      if (seq !== this.seq) return;
    } catch (e) {
      if (seq !== this.seq) return;
      this.rows = [];
      render(tbody, '');
      render($('.pager', this.el), '');
      const title = e.code === E.FORBIDDEN ? '没有权限查看' : e.code === E.NOAUTH ? '请先登录' : '加载失败';
      render(msg, html`<div class="err-block"><div class="title">${title}</div><div class="sub">${e.msg || e.message}</div></div>`);
      return;
    }
    this.rows = r.list;
    render(tbody, r.list.map((row, i) => html`<tr data-i="${i}" ${row.id !== undefined ? html`data-id="${row.id}"` : ''}>${o.columns.map(
      (c) => html`<td class="${c.cls || ''}">${c.fmt ? c.fmt(row) : row[c.field]}</td>`,
    )}</tr>`));
    render(msg, r.list.length ? '' : emptyState(o.emptyText || '没有数据', '换个条件试试'));
    const total = r.total ?? (page - 1) * o.pagesz + r.list.length;
    const pages = Math.max(1, Math.ceil(total / o.pagesz));
    // The count decides where it is known; `nextkey` only says "maybe more" where it is not.
    const hasNext = r.total !== undefined && r.total !== null ? page < pages : r.nextkey !== undefined && r.nextkey !== null;
    render($('.pager', this.el), html`<span class="info">共 ${total} 条, 第 ${page} / ${pages} 页</span>
      <button class="btn small" data-page="${page - 1}" ${page <= 1 ? raw('disabled') : ''}>上一页</button>
      <button class="btn small" data-page="${page + 1}" ${hasNext ? '' : raw('disabled')}>下一页</button>`);
  }
}

function filterField(f) {
  if (f.type === 'check') {
    return html`<label class="chk"><input type="checkbox" name="${f.name}"> ${f.label}</label>`;
  }
  if (f.type === 'select') {
    return html`<label class="f"><span>${f.label}</span><select name="${f.name}">${f.options.map(([v, l]) => html`<option value="${v}">${l}</option>`)}</select></label>`;
  }
  return html`<label class="f"><span>${f.label}</span><input type="${f.type || 'text'}" name="${f.name}" placeholder="${f.placeholder || ''}" ${f.step ? html`step="${f.step}"` : ''}></label>`;
}
