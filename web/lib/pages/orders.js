// pages/orders.js: the orders table of the consoles (filters → cond, sort, paging, q, CSV/Excel export) and
// the order detail dialog with its timeline, attachments and status actions (complete / cancel).

import { callSvr, html, dialog, confirmDlg, toast, fmtMoney, fmtTm, statusBadge, lit, andCond, ymd, ORDER_STATUS } from '../jdy.js';
import { Grid } from '../grid.js';
import { timeline, attList } from '../order-parts.js';

const STATUS_OPTIONS = [['', '全部'], ...Object.entries(ORDER_STATUS).slice(0, 5)];

/** `YYYY-MM-DD` → the next day, for an exclusive upper bound on a datetime column. */
export function nextDay(d) {
  return ymd(1, new Date(`${d}T00:00:00`));
}

function num(v) {
  const n = Number(v);
  return v !== '' && Number.isFinite(n) ? n : null;
}

export default {
  id: 'orders',
  title: '订单管理',
  icon: '▤',
  async render(el, ctx) {
    const grid = new Grid(el, {
      ac: 'Ordr.query',
      res: 'id,createTm,userId,userName,userPhone,dscr,eventName,showTm,amount,status,statusName',
      orderby: 'id desc',
      q: '订单号、用户姓名或手机号',
      filters: [
        { name: 'status', label: '状态', type: 'select', options: STATUS_OPTIONS },
        { name: 'from', label: '下单日期从', type: 'date' },
        { name: 'to', label: '到', type: 'date' },
        { name: 'amin', label: '金额≥', type: 'number', step: '0.01' },
        { name: 'amax', label: '金额≤', type: 'number', step: '0.01' },
        { name: 'userPhone', label: '用户手机', placeholder: '部分号码即可' },
        { name: 'userId', label: '用户ID', type: 'number' },
      ],
      initial: ctx.params,
      cond(v) {
        return andCond([
          v.status && `status=${lit(v.status)}`,
          v.from && `createTm>=${lit(v.from)}`,
          v.to && `createTm<${lit(nextDay(v.to))}`,
          num(v.amin) !== null && `amount>=${num(v.amin)}`,
          num(v.amax) !== null && `amount<=${num(v.amax)}`,
          v.userPhone && `userPhone LIKE ${lit(`%${v.userPhone}%`)}`,
          num(v.userId) !== null && `userId=${num(v.userId)}`,
        ]);
      },
      columns: [
        { field: 'id', title: '订单号', sort: true },
        { field: 'createTm', title: '下单时间', sort: true, fmt: (r) => fmtTm(r.createTm) },
        { field: 'userName', title: '用户', sort: true },
        { field: 'userPhone', title: '手机号' },
        { field: 'dscr', title: '内容', cls: 'wrap', fmt: (r) => (r.eventName ? html`${r.eventName} <span class="muted">${fmtTm(r.showTm)}</span>` : r.dscr) },
        { field: 'amount', title: '金额', sort: true, cls: 'num', fmt: (r) => fmtMoney(r.amount) },
        { field: 'status', title: '状态', sort: true, fmt: (r) => statusBadge(r.status, r.statusName) },
      ],
      exportRes: 'id 订单号,createTm 下单时间,userName 用户,userPhone 手机号,dscr 服务内容,amount 金额,statusName 状态',
      fname: '订单',
      emptyText: '没有符合条件的订单',
      onRow: (row) => showOrder(row.id, () => grid.load()),
    });
    await grid.load(1);
  },
};

/** The order detail dialog; `changed()` runs after a status change. */
export async function showOrder(id, changed) {
  const o = await callSvr('Ordr.get', { id });
  const ticket = !!(o.showingId || o.runId);
  const valid = (o.tickets || []).filter((t) => t.status === 'OK');
  const buttons = [];
  if (o.status === 'CR') buttons.push({ text: '取消订单', value: 'CA', kind: 'danger' });
  // A ticket order is paid by its buyer and completed by check-in; staff may refund its unused tickets.
  if (ticket && o.status === 'PA' && valid.length) buttons.push({ text: '退款', value: 'RF', kind: 'danger' });
  if ((o.status === 'CR' && !ticket) || o.status === 'PA') buttons.push({ text: '完成订单', value: 'RE', kind: 'primary' });
  buttons.push({ text: '关闭', value: null });
  const body = html`<div class="detail-grid">
    <div><h3>订单信息</h3><dl class="kv">
      <dt>订单号</dt><dd>${o.id}</dd>
      <dt>状态</dt><dd>${statusBadge(o.status, o.statusName)}</dd>
      <dt>用户</dt><dd>${o.userName || '-'} ${o.userPhone ? html`<span class="muted">${o.userPhone}</span>` : ''}</dd>
      ${ticket ? html`<dt>演出</dt><dd>${o.eventName || ''} <span class="muted">${fmtTm(o.showTm)} ${o.hallName || ''}</span></dd>
        <dt>联系人</dt><dd>${o.contactName || ''} ${o.contactPhone || ''}</dd>` : html`<dt>服务内容</dt><dd>${o.dscr || '-'}</dd>`}
      <dt>金额</dt><dd>${fmtMoney(o.amount)}</dd>
      <dt>下单时间</dt><dd>${fmtTm(o.createTm)}</dd>
      ${o.cmt ? html`<dt>备注</dt><dd>${o.cmt}</dd>` : ''}
    </dl>${ticket ? html`<h3 style="margin-top:16px">票</h3><table class="tbl tickets-tbl"><thead><tr><th>座位/票档</th><th class="num">票价</th><th>状态</th><th>入场</th></tr></thead>
      <tbody>${(o.tickets || []).map((t) => html`<tr><td>${t.label}</td><td class="num">${fmtMoney(t.price)}</td><td>${t.statusName || t.status}</td><td>${t.checkinTm ? fmtTm(t.checkinTm) : '—'}</td></tr>`)}</tbody></table>`
      : html`<h3 style="margin-top:16px">图片</h3>${attList(o.atts)}`}</div>
    <div><h3>订单日志</h3>${timeline(o.orderLog)}</div>
  </div>`;
  const to = await dialog({
    title: `订单 ${o.id}`,
    body,
    wide: true,
    buttons,
    async beforeClose(v) {
      if (!v) return true;
      // A status change cannot be undone: say which order, whose and how much before doing it.
      const what = { CA: '取消订单', RF: `退款(${valid.length}张)`, RE: '完成订单' }[v];
      const who = [o.userName, o.amount !== null && o.amount !== undefined ? fmtMoney(o.amount) : ''].filter(Boolean).join(', ');
      const sure = await confirmDlg(`${what} #${o.id}${who ? ` (${who})` : ''}?`, {
        title: what, okText: what, cancelText: '再想想', danger: v === 'CA',
      });
      if (!sure) return false;
      if (ticket && v === 'CA') await callSvr('Ordr.cancel', { id: o.id }, {});
      else if (v === 'RF') await callSvr('Ordr.refund', { id: o.id }, {});
      else await callSvr('Ordr.set', { id: o.id }, { status: v });
      return true;
    },
  });
  if (to) {
    toast({ RE: '订单已完成', CA: '订单已取消', RF: '已退款' }[to], 'ok');
    if (changed) changed();
  }
}
