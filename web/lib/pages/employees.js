// pages/employees.js: staff accounts (Employee). Managers (perms has mgr) and the admin see and change every
// employee, add new ones and set perms; an ordinary employee sees and edits only itself.

import { callSvr, html, on, run, toast, formDialog, confirmDlg } from '../jdy.js';
import { Grid } from '../grid.js';

const PERMS = [['emp', '员工'], ['mgr', '经理']];

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
    const fields = (e = {}) => [
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
    const grid = new Grid(el, {
      ac: 'Employee.query',
      res: 'id,name,uname,phone,perms',
      orderby: 'id',
      q: mgr ? '编号/姓名/登录名/手机号' : false,
      columns: [
        { field: 'id', title: '编号', sort: true },
        { field: 'name', title: '姓名', sort: true },
        { field: 'uname', title: '登录名', sort: true },
        { field: 'phone', title: '手机号' },
        { field: 'perms', title: '权限', fmt: (r) => permBadges(r.perms) },
        ...(mgr ? [{ field: '', title: '操作', fmt: (r) => (ctx.app === 'emp' && r.id === ctx.me.id ? '' : html`<button class="btn small ghost" data-del="${r.id}">删除</button>`) }] : []),
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
          grid.load();
        }
      },
    });
    await grid.load(1);
    on(el, 'click', '[data-del]', async (ev, b) => {
      const id = b.dataset.del;
      const yes = await confirmDlg(`确定删除员工 ${id}? 被订单等数据引用的员工不应删除, 可改为禁用。`, { title: '删除员工', okText: '删除', danger: true });
      if (yes && (await run(() => callSvr('Employee.del', { id }), b)) !== undefined) {
        toast('员工已删除', 'ok');
        grid.load();
      }
    });
  },
};
