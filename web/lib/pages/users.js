// pages/users.js: the users of the app (User), searchable and editable by staff and the admin.

import { callSvr, html, toast, formDialog, fmtTm, lit, andCond } from '../jdy.js';
import { Grid } from '../grid.js';
import { nextDay } from './orders.js';

function userFields(u = {}) {
  return [
    { name: 'name', label: '姓名', value: u.name, required: true },
    { name: 'phone', label: '手机号', type: 'tel', value: u.phone, pattern: '1\\d{10}', hint: '11位数字' },
    { name: 'uname', label: '用户名', value: u.uname, hint: '可选, 字母开头' },
  ];
}

export default {
  id: 'users',
  title: '用户管理',
  icon: '☺',
  async render(el) {
    const grid = new Grid(el, {
      ac: 'User.query',
      res: 'id,name,phone,uname,createTm,orderCnt',
      orderby: 'id desc',
      q: '编号/姓名/用户名/手机号',
      filters: [
        { name: 'from', label: '注册日期从', type: 'date' },
        { name: 'to', label: '到', type: 'date' },
      ],
      cond: (v) => andCond([v.from && `createTm>=${lit(v.from)}`, v.to && `createTm<${lit(nextDay(v.to))}`]),
      columns: [
        { field: 'id', title: '编号', sort: true },
        { field: 'name', title: '姓名', sort: true },
        { field: 'phone', title: '手机号', sort: true },
        { field: 'uname', title: '用户名' },
        { field: 'createTm', title: '注册时间', sort: true, fmt: (r) => fmtTm(r.createTm) },
        { field: 'orderCnt', title: '订单数', sort: true, cls: 'num', fmt: (r) => html`<a href="#orders?userId=${r.id}" title="查看该用户的订单">${r.orderCnt}</a>` },
      ],
      exportRes: 'id 编号,name 姓名,phone 手机号,uname 用户名,createTm 注册时间,orderCnt 订单数',
      fname: '用户',
      emptyText: '没有符合条件的用户',
      tools: [{
        text: '+ 添加用户',
        kind: 'primary',
        id: 'btnAddUser',
        async onClick() {
          const id = await formDialog({ title: '添加用户', fields: userFields(), submit: (v) => callSvr('User.add', {}, v) });
          if (id) {
            toast('用户已添加', 'ok');
            grid.load(1);
          }
        },
      }],
      async onRow(u) {
        const ok = await formDialog({
          title: `编辑用户 ${u.id}`,
          fields: userFields(u),
          submit: (v) => callSvr('User.set', { id: u.id }, v),
        });
        if (ok) {
          toast('用户已保存', 'ok');
          grid.load();
        }
      },
    });
    await grid.load(1);
  },
};
