// pages/stores.js: the platform's stores (Store), for the admin: add (always pending review), approve, block and
// unblock, and give a store its first manager (Employee.add with storeId and perms emp,mgr).

import { callSvr, html, on, run, toast, formDialog, confirmDlg, fmtTm, lit, andCond } from '../jdy.js';
import { Grid } from '../grid.js';
import { cityOptions, STORE_KINDS, STORE_STATUS, stateBadge } from './ticketing-parts.js';

/** The review actions a store in `status` offers: [to, button text, confirm text]. */
export function reviewActions(status) {
  return {
    PE: [['OK', '通过', '审核通过后, 该商户的演出可以对用户上架售票。'], ['BL', '驳回并封禁', '封禁后该商户的内容对用户不可见。']],
    OK: [['BL', '封禁', '封禁后该商户的场馆, 演出, 场次对用户不可见, 员工仍可登录处理已有订单。']],
    BL: [['OK', '解封', '解封后该商户的在售演出重新对用户可见。']],
  }[status] || [];
}

export default {
  id: 'stores',
  title: '商户管理',
  icon: '♖',
  async render(el) {
    const cities = await cityOptions();
    const fields = (s = {}) => [
      { name: 'name', label: '名称', value: s.name, required: true },
      ...(s.id ? [] : [{ name: 'kind', label: '类型', type: 'select', options: STORE_KINDS, required: true }]),
      { name: 'cityId', label: '城市', type: 'select', value: s.cityId, options: [['', '请选择'], ...cities] },
      { name: 'tel', label: '电话', value: s.tel },
      { name: 'addr', label: '地址', value: s.addr },
      { name: 'dscr', label: '简介', type: 'textarea', value: s.dscr },
    ];
    const grid = new Grid(el, {
      ac: 'Store.query',
      res: 'id,name,kind,kindName,cityId,cityName,status,statusName,tel,addr,createTm',
      orderby: 'id desc',
      q: '编号/名称/城市',
      filters: [
        { name: 'status', label: '状态', type: 'select', options: [['', '全部'], ...STORE_STATUS] },
        { name: 'kind', label: '类型', type: 'select', options: [['', '全部'], ...STORE_KINDS] },
      ],
      cond: (v) => andCond([v.status && `status=${lit(v.status)}`, v.kind && `kind=${lit(v.kind)}`]),
      columns: [
        { field: 'id', title: '编号', sort: true },
        { field: 'name', title: '名称', sort: true },
        { field: 'kindName', title: '类型' },
        { field: 'cityName', title: '城市' },
        { field: 'status', title: '状态', fmt: (r) => stateBadge(r.status, r.statusName) },
        { field: 'tel', title: '电话' },
        { field: 'createTm', title: '入驻时间', sort: true, fmt: (r) => fmtTm(r.createTm) },
        { field: '', title: '操作', fmt: (r) => html`${reviewActions(r.status).map(([to, text]) => html`<button class="btn small ${to === 'OK' ? 'primary' : 'ghost danger'}" data-review="${r.id}" data-to="${to}">${text}</button> `)}<button class="btn small ghost" data-mgr="${r.id}">添加经理</button>` },
      ],
      exportRes: 'id 编号,name 名称,kindName 类型,cityName 城市,statusName 状态,tel 电话,createTm 入驻时间',
      fname: '商户',
      emptyText: '没有符合条件的商户',
      tools: [{
        text: '+ 添加商户',
        kind: 'primary',
        id: 'btnAddStore',
        async onClick() {
          const id = await formDialog({ title: '添加商户', fields: fields(), submit: (v) => callSvr('Store.add', {}, v) });
          if (id) {
            toast('商户已添加, 待审核', 'ok');
            grid.load(1);
          }
        },
      }],
      async onRow(s) {
        const ok = await formDialog({ title: `编辑商户 ${s.id}`, fields: fields(s), submit: (v) => callSvr('Store.set', { id: s.id }, v) });
        if (ok) {
          toast('商户已保存', 'ok');
          grid.load();
        }
      },
    });
    const rowOf = (id) => grid.rows.find((r) => String(r.id) === String(id)) || { id };
    on(el, 'click', '[data-review]', async (e, b) => {
      const s = rowOf(b.dataset.review);
      const [to, text, note] = reviewActions(s.status).find(([t]) => t === b.dataset.to);
      if (!(await confirmDlg(`${text}商户 #${s.id} ${s.name}? ${note}`, { title: `${text}商户`, okText: text, danger: to === 'BL' }))) return;
      if ((await run(() => callSvr('Store.set', { id: s.id }, { status: to }), b)) !== undefined) {
        toast(`商户已${text}`, 'ok');
        grid.load();
      }
    });
    on(el, 'click', '[data-mgr]', async (e, b) => {
      const s = rowOf(b.dataset.mgr);
      const id = await formDialog({
        title: `为 ${s.name} 添加经理`,
        fields: [
          { name: 'name', label: '姓名', required: true },
          { name: 'uname', label: '登录名', hint: '登录名与手机号至少填一个' },
          { name: 'phone', label: '手机号', type: 'tel' },
          { name: 'pwd', label: '初始密码', type: 'password', required: true, autocomplete: 'new-password' },
        ],
        submit(v) {
          if (!v.uname && !v.phone) throw new Error('登录名与手机号至少填一个');
          const data = { ...v, storeId: s.id, perms: 'emp,mgr' };
          for (const k of ['uname', 'phone']) if (!data[k]) delete data[k];
          return callSvr('Employee.add', {}, data);
        },
      });
      if (id) toast('经理已添加, 可用其登录名登录商户管理端', 'ok');
    });
    await grid.load(1);
  },
};
