// pages/apilog.js: the call log (ApiLog) for managers and the admin: filter by call, app, errors and date;
// a row opens the request and response of that call.

import { callSvr, html, dialog, fmtTm, lit, andCond } from '../jdy.js';
import { Grid } from '../grid.js';
import { nextDay } from './orders.js';

const APPS = [['', '全部'], ['user', '用户端'], ['emp', '员工端'], ['admin', '超级管理端']];

function retBadge(v) {
  return v === 0 ? html`<span class="badge ok">0</span>` : v === null || v === undefined ? '-' : html`<span class="badge err">${v}</span>`;
}

export default {
  id: 'apilog',
  title: '调用日志',
  icon: '≣',
  mgr: true,
  async render(el, ctx) {
    const grid = new Grid(el, {
      ac: 'ApiLog.query',
      res: 'id,tm,app,ac,userId,t,retval,addr,ver',
      orderby: 'id desc',
      q: '调用名/参数/地址',
      filters: [
        { name: 'ac', label: '调用名', placeholder: '如 Ordr.query' },
        { name: 'app', label: '应用', type: 'select', options: APPS },
        { name: 'from', label: '日期从', type: 'date' },
        { name: 'to', label: '到', type: 'date' },
        { name: 'err', label: '只看出错', type: 'check' },
      ],
      initial: ctx.params,
      cond: (v) => andCond([
        v.ac && `ac LIKE ${lit(`${v.ac}%`)}`,
        v.app && `app LIKE ${lit(`${v.app}%`)}`,
        v.from && `tm>=${lit(v.from)}`,
        v.to && `tm<${lit(nextDay(v.to))}`,
        v.err && 'retval<>0',
      ]),
      columns: [
        { field: 'id', title: '编号', sort: true },
        { field: 'tm', title: '时间', sort: true, fmt: (r) => fmtTm(r.tm) },
        { field: 'app', title: '应用', sort: true },
        { field: 'ac', title: '调用', sort: true, cls: 'mono' },
        { field: 'userId', title: '调用者', sort: true },
        { field: 't', title: '耗时(ms)', sort: true, cls: 'num' },
        { field: 'retval', title: '返回码', sort: true, fmt: (r) => retBadge(r.retval) },
        { field: 'addr', title: '地址', cls: 'mono' },
        { field: 'ver', title: '客户端' },
      ],
      exportRes: 'id 编号,tm 时间,app 应用,ac 调用,userId 调用者,t 耗时,retval 返回码,addr 地址',
      fname: '调用日志',
      emptyText: '没有符合条件的调用',
      async onRow(r) {
        const l = await callSvr('ApiLog.get', { id: r.id, res: 'id,tm,app,ac,userId,t,retval,addr,ua,ver,req,res,reqsz,ressz,ses' });
        await dialog({
          title: `调用 ${l.id}: ${l.ac}`,
          wide: true,
          buttons: [{ text: '关闭', value: true, kind: 'primary' }],
          body: html`<div class="detail-grid"><dl class="kv">
              <dt>时间</dt><dd>${l.tm}</dd><dt>应用</dt><dd>${l.app}</dd><dt>调用者</dt><dd>${l.userId ?? '-'}</dd>
              <dt>耗时</dt><dd>${l.t} ms</dd><dt>返回码</dt><dd>${retBadge(l.retval)}</dd></dl>
            <dl class="kv"><dt>地址</dt><dd>${l.addr}</dd><dt>客户端</dt><dd>${l.ver}</dd><dt>大小</dt><dd>请求 ${l.reqsz ?? '-'} B, 返回 ${l.ressz ?? '-'} B</dd>
              <dt>UA</dt><dd class="muted">${l.ua}</dd></dl></div>
            <h3 style="margin:16px 0 8px;font-size:14px">请求</h3><pre class="code">${l.req}</pre>
            <h3 style="margin:16px 0 8px;font-size:14px">返回</h3><pre class="code">${l.res}</pre>`,
        });
      },
    });
    await grid.load(1);
  },
};
