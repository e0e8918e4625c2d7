// pages/halls.js: the halls of the store's venues (Hall) with their seat maps, drawn in the seat-map editor.
// A hall's map becomes each new showing's seats; changing it later leaves existing showings alone.

import { callSvr, html, on, run, toast, formDialog, confirmDlg, dialog, lit } from '../jdy.js';
import { Grid } from '../grid.js';
import { seatMapEditor } from '../seatmap-editor.js';
import { venueOptions, seatPreview } from './ticketing-parts.js';

export default {
  id: 'halls',
  title: '影厅座位',
  icon: '▦',
  async render(el, ctx) {
    const venues = await venueOptions();
    let editor = null;
    const edit = async (h = {}) => {
      const full = h.id ? await callSvr('Hall.get', { id: h.id, res: 'id,venueId,name,seatMap' }) : { venueId: ctx.params.venueId };
      return formDialog({
        title: h.id ? `编辑影厅 ${h.id}` : '添加影厅',
        wide: true,
        fields: [
          ...(h.id ? [] : [{ name: 'venueId', label: '场馆', type: 'select', value: full.venueId, options: [['', '请选择'], ...venues], required: true }]),
          { name: 'name', label: '名称', value: full.name, required: true, placeholder: '如: 1号厅' },
          { name: 'seatMap', label: '座位图', value: full.seatMap || '', render: () => html`<div class="smed-host"></div>` },
        ],
        onOpen(box) {
          editor = seatMapEditor(box.querySelector('.smed-host'), full.seatMap || '');
        },
        submit: (v) => {
          const data = { ...v, seatMap: editor.value() };
          return h.id ? callSvr('Hall.set', { id: h.id }, data) : callSvr('Hall.add', {}, data);
        },
      });
    };
    const grid = new Grid(el, {
      ac: 'Hall.query',
      res: 'id,name,venueName,rows,cols,seatCnt',
      orderby: 'id desc',
      q: '编号/名称/场馆',
      filters: [{ name: 'venueId', label: '场馆', type: 'select', options: [['', '全部'], ...venues] }],
      initial: { venueId: ctx.params.venueId || '' },
      cond: (v) => (v.venueId ? `venueId=${lit(v.venueId)}` : ''),
      columns: [
        { field: 'id', title: '编号', sort: true },
        { field: 'name', title: '名称', sort: true },
        { field: 'venueName', title: '场馆' },
        { field: 'rows', title: '排', cls: 'num' },
        { field: 'cols', title: '每排', cls: 'num' },
        { field: 'seatCnt', title: '座位数', sort: true, cls: 'num' },
        { field: '', title: '操作', fmt: (r) => html`<button class="btn small ghost" data-preview="${r.id}">预览</button> <button class="btn small ghost danger" data-del="${r.id}">删除</button>` },
      ],
      emptyText: '还没有影厅',
      tools: [{
        text: '+ 添加影厅',
        kind: 'primary',
        id: 'btnAddHall',
        async onClick() {
          if (await edit()) {
            toast('影厅已添加', 'ok');
            grid.load(1);
          }
        },
      }],
      async onRow(h) {
        if (await edit(h)) {
          toast('影厅已保存', 'ok');
          grid.load();
        }
      },
    });
    on(el, 'click', '[data-preview]', async (e, b) => {
      const h = await callSvr('Hall.get', { id: b.dataset.preview, res: 'name,seatMap,seatCnt' });
      await dialog({ title: `${h.name} · ${h.seatCnt}座`, wide: true, body: seatPreview(h.seatMap) });
    });
    on(el, 'click', '[data-del]', async (e, b) => {
      const r = grid.rows.find((x) => String(x.id) === b.dataset.del) || {};
      if (!(await confirmDlg(`删除影厅 #${r.id} ${r.name || ''}?`, { title: '删除影厅', okText: '删除', danger: true }))) return;
      if ((await run(() => callSvr('Hall.del', { id: r.id }), b)) !== undefined) {
        toast('影厅已删除', 'ok');
        grid.load();
      }
    });
    await grid.load(1);
  },
};
