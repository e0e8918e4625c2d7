// pages/venues.js: the store's venues (Venue): where its events take place. The admin sees every store's.

import { callSvr, html, on, run, toast, formDialog, confirmDlg } from '../jdy.js';
import { Grid } from '../grid.js';
import { cityOptions } from './ticketing-parts.js';

export default {
  id: 'venues',
  title: '场馆管理',
  icon: '⌂',
  async render(el, ctx) {
    const cities = await cityOptions();
    const stores = ctx.app === 'admin'
      ? (await callSvr('Store.query', { res: 'id,name', fmt: 'array', pagesz: -1 })).map((s) => [s.id, s.name])
      : null;
    const fields = (v = {}) => [
      ...(stores && !v.id ? [{ name: 'storeId', label: '商户', type: 'select', options: [['', '请选择'], ...stores], required: true }] : []),
      { name: 'name', label: '名称', value: v.name, required: true },
      { name: 'cityId', label: '城市', type: 'select', value: v.cityId, options: [['', '请选择'], ...cities], required: true },
      { name: 'addr', label: '地址', value: v.addr },
      { name: 'tel', label: '电话', value: v.tel },
    ];
    const grid = new Grid(el, {
      ac: 'Venue.query',
      res: 'id,name,cityId,cityName,addr,tel',
      orderby: 'id desc',
      q: '编号/名称/地址',
      columns: [
        { field: 'id', title: '编号', sort: true },
        { field: 'name', title: '名称', sort: true },
        { field: 'cityName', title: '城市' },
        { field: 'addr', title: '地址', cls: 'wrap' },
        { field: 'tel', title: '电话' },
        { field: '', title: '操作', fmt: (r) => html`<a class="btn small ghost" href="#halls?venueId=${r.id}">影厅</a> <button class="btn small ghost danger" data-del="${r.id}">删除</button>` },
      ],
      emptyText: '还没有场馆, 先添加一个',
      tools: [{
        text: '+ 添加场馆',
        kind: 'primary',
        id: 'btnAddVenue',
        async onClick() {
          const id = await formDialog({ title: '添加场馆', fields: fields(), submit: (v) => callSvr('Venue.add', {}, v) });
          if (id) {
            toast('场馆已添加', 'ok');
            grid.load(1);
          }
        },
      }],
      async onRow(v) {
        const ok = await formDialog({ title: `编辑场馆 ${v.id}`, fields: fields(v), submit: (x) => callSvr('Venue.set', { id: v.id }, x) });
        if (ok) {
          toast('场馆已保存', 'ok');
          grid.load();
        }
      },
    });
    on(el, 'click', '[data-del]', async (e, b) => {
      const r = grid.rows.find((x) => String(x.id) === b.dataset.del) || {};
      if (!(await confirmDlg(`删除场馆 #${r.id} ${r.name || ''}?`, { title: '删除场馆', okText: '删除', danger: true }))) return;
      if ((await run(() => callSvr('Venue.del', { id: r.id }), b)) !== undefined) {
        toast('场馆已删除', 'ok');
        grid.load();
      }
    });
    await grid.load(1);
  },
};
