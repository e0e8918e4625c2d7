// pages/licenses.js: screening licences (License): which cinema may screen which movie between which dates.
// The admin grants them; a cinema's staff read their own here too.

import { callSvr, html, on, run, toast, formDialog, confirmDlg, ymd } from '../jdy.js';
import { Grid } from '../grid.js';

export default {
  id: 'licenses',
  title: '放映许可',
  icon: '✎',
  async render(el, ctx) {
    const admin = ctx.app === 'admin';
    const [cinemas, movies] = admin
      ? await Promise.all([
        callSvr('Store.query', { cond: "kind='cinema'", res: 'id,name', fmt: 'array', pagesz: -1 }),
        callSvr('Movie.query', { res: 'id,name', fmt: 'array', pagesz: -1 }),
      ])
      : [[], []];
    const today = ymd();
    const grid = new Grid(el, {
      ac: 'License.query',
      res: 'id,storeName,movieName,fromDt,toDt',
      orderby: 'id desc',
      q: false,
      columns: [
        { field: 'id', title: '编号', sort: true },
        { field: 'storeName', title: '影院' },
        { field: 'movieName', title: '影片' },
        { field: 'fromDt', title: '开始日期', sort: true },
        { field: 'toDt', title: '结束日期', sort: true },
        { field: '', title: '状态', fmt: (r) => (r.toDt < today ? html`<span class="badge off">已过期</span>` : r.fromDt > today ? html`<span class="badge warn">未开始</span>` : html`<span class="badge ok">有效</span>`) },
        ...(admin ? [{ field: '', title: '操作', fmt: (r) => html`<button class="btn small ghost danger" data-del="${r.id}">撤销</button>` }] : []),
      ],
      emptyText: '没有放映许可',
      tools: admin ? [{
        text: '+ 授予许可',
        kind: 'primary',
        id: 'btnAddLicense',
        async onClick() {
          const id = await formDialog({
            title: '授予放映许可',
            fields: [
              { name: 'storeId', label: '影院', type: 'select', options: [['', '请选择'], ...cinemas.map((s) => [s.id, s.name])], required: true },
              { name: 'movieId', label: '影片', type: 'select', options: [['', '请选择'], ...movies.map((m) => [m.id, m.name])], required: true },
              { name: 'fromDt', label: '开始日期', type: 'date', value: today, required: true },
              { name: 'toDt', label: '结束日期', type: 'date', value: ymd(60), required: true },
            ],
            submit: (v) => callSvr('License.add', {}, v),
          });
          if (id) {
            toast('许可已授予', 'ok');
            grid.load(1);
          }
        },
      }] : [],
    });
    on(el, 'click', '[data-del]', async (e, b) => {
      const r = grid.rows.find((x) => String(x.id) === b.dataset.del) || {};
      if (!(await confirmDlg(`撤销 ${r.storeName} 的《${r.movieName}》放映许可? 已排的场次不受影响, 不能再排新场次。`, { title: '撤销许可', okText: '撤销', danger: true }))) return;
      if ((await run(() => callSvr('License.del', { id: r.id }), b)) !== undefined) {
        toast('许可已撤销', 'ok');
        grid.load();
      }
    });
    await grid.load(1);
  },
};
