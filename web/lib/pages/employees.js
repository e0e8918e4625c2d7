// pages/employees.js: staff accounts (Employee). Managers (perms has mgr) and the admin see and change every
// employee, add new ones and set perms; an ordinary employee sees and edits only itself.

import { callSvr, html, on, run, toast, formDialog, confirmDlg } from '../jdy.js';
import { Grid } from '../grid.js';

// The permission words and labels come from the server (`initClient().perms`, declared by the product);
// these are what a server that declares none is shown with.
let PERMS = [['emp', '员工'], ['mgr', '经理']];

const isMgrRow = (r) => /(^|,)\s*mgr\s*(,|$)/.test(r.perms || '');
const isActive = (r) => !Number(r.disableFlag || 0);

function permBadges(perms) {
  const list = String(perms || 'emp').split(',').map((s) => s.trim()).filter(Boolean);
  return list.map((p) => html`<span class="badge ${p === 'mgr' ? 'mgr' : ''}">${(PERMS.find(([k]) => k === p) || [p, p])[1]}</span> `);
}

export default {
  id: 'employees',
  title: '员工管理',
  icon: '♜',
  async render(el, ctx) {
    const mgr = ctx.isMgr;
    const admin = ctx.app === 'admin';
    const init = await callSvr('initClient');
    if (Array.isArray(init.perms) && init.perms.length) PERMS = init.perms;
    // The admin places every new employee in a store; a manager's hires join its own.
    const stores = admin ? (await callSvr('Store.query', { res: 'id,name', fmt: 'array', pagesz: -1 })).map((x) => [x.id, x.name]) : [];
    const fields = (e = {}) => [
      ...(admin && !e.id ? [{ name: 'storeId', label: '所属商户', type: 'select', options: [['', '请选择'], ...stores], required: true }] : []),
      { name: 'name', label: '姓名', value: e.name, required: true },
      { name: 'uname', label: '登录名', value: e.uname, readonly: !mgr, hint: mgr ? '登录名与手机号至少填一个' : '' },
      { name: 'phone', label: '手机号', type: 'tel', value: e.phone, readonly: !mgr },
      ...(mgr ? [{ name: 'perms', label: '权限', type: 'checks', value: e.perms || 'emp', options: PERMS }] : []),
      ...(mgr ? [{ name: 'pwd', label: e.id ? '重置密码' : '初始密码', type: 'password', hint: e.id ? '不修改请留空' : '不填则为1234', autocomplete: 'new-password' }] : []),
    ];
    const clean = (v, e = {}) => {
      const out = { ...v };
      if (!out.pwd) delete out.pwd;
      if (!mgr) {
        delete out.uname;
        delete out.phone;
      }
      if (out.perms === '') out.perms = 'emp';
      for (const k of Object.keys(out)) if (out[k] === '' && !e[k]) delete out[k];
      return out;
    };
    // The server keeps at least one active manager per store; the page does not offer what it would refuse.
    let activeMgrs = {};
    const countMgrs = async () => {
      if (!mgr) return;
      const rows = await callSvr('Employee.query', { gres: 'storeId', res: 'count(*) n', cond: "perms LIKE '%mgr%' AND (disableFlag IS NULL OR disableFlag=0)", fmt: 'array' });
      activeMgrs = Object.fromEntries(rows.map((r) => [r.storeId, r.n]));
    };
    const lastMgr = (r) => isMgrRow(r) && isActive(r) && (activeMgrs[r.storeId] || 0) <= 1;
    const self = (r) => ctx.app === 'emp' && r.id === ctx.me.id;
    const actions = (r) => {
      if (self(r) || lastMgr(r)) return html`<span class="muted" title="${self(r) ? '不能删除或禁用自己' : '至少要保留一名经理'}">—</span>`;
      return html`<button class="btn small ghost" data-toggle="${r.id}">${isActive(r) ? '禁用' : '启用'}</button>
        <button class="btn small ghost danger" data-del="${r.id}">删除</button>`;
    };
    const grid = new Grid(el, {
      ac: 'Employee.query',
      res: `id,name,uname,phone,perms,disableFlag,storeId${admin ? ',storeName' : ''}`,
      orderby: 'id',
      q: mgr ? '编号/姓名/登录名/手机号' : false,
      columns: [
        { field: 'id', title: '编号', sort: true },
        { field: 'name', title: '姓名', sort: true },
        { field: 'uname', title: '登录名', sort: true },
        { field: 'phone', title: '手机号' },
        ...(admin ? [{ field: 'storeName', title: '商户' }] : []),
        { field: 'perms', title: '权限', fmt: (r) => permBadges(r.perms) },
        { field: 'disableFlag', title: '状态', fmt: (r) => (isActive(r) ? html`<span class="badge">正常</span>` : html`<span class="badge off">已禁用</span>`) },
        ...(mgr ? [{ field: '', title: '操作', fmt: actions }] : []),
      ],
      emptyText: '没有员工',
      tools: mgr ? [{
        text: '+ 添加员工',
        kind: 'primary',
        id: 'btnAddEmp',
        async onClick() {
          const id = await formDialog({ title: '添加员工', fields: fields(), submit: (v) => callSvr('Employee.add', {}, clean(v)) });
          if (id) {
            toast('员工已添加', 'ok');
            await countMgrs();
            grid.load(1);
          }
        },
      }] : [],
      async onRow(e) {
        const ok = await formDialog({
          title: `编辑员工 ${e.id}`,
          fields: fields(e),
          submit: (v) => callSvr('Employee.set', { id: e.id }, clean(v, e)),
        });
        if (ok) {
          toast('员工信息已保存', 'ok');
          reload();
        }
      },
    });
    const reload = async () => {
      await countMgrs();
      await grid.load();
    };
    await countMgrs();
    await grid.load(1);
    const rowOf = (id) => grid.rows.find((r) => String(r.id) === String(id)) || { id };
    const label = (r) => `#${r.id} (${r.name || r.uname || r.phone || ''})`;
    on(el, 'click', '[data-del]', async (ev, b) => {
      const r = rowOf(b.dataset.del);
      const yes = await confirmDlg(`删除员工 ${label(r)}? 删除后不可恢复; 已离职的员工可以改为禁用, 保留其操作记录。`, { title: '删除员工', okText: '删除', danger: true });
      if (yes && (await run(() => callSvr('Employee.del', { id: r.id }), b)) !== undefined) {
        toast('员工已删除', 'ok');
        reload();
      }
    });
    on(el, 'click', '[data-toggle]', async (ev, b) => {
      const r = rowOf(b.dataset.toggle);
      const disable = isActive(r);
      if (disable && !(await confirmDlg(`禁用员工 ${label(r)}? 禁用后不能登录, 已登录的会话立即失效。`, { title: '禁用员工', okText: '禁用', danger: true }))) return;
      if ((await run(() => callSvr('Employee.set', { id: r.id }, { disableFlag: disable ? 1 : 0 }), b)) !== undefined) {
        toast(disable ? '员工已禁用' : '员工已启用', 'ok');
        reload();
      }
    });
  },
};
