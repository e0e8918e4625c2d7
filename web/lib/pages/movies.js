// pages/movies.js: the platform's movie catalogue (Movie), kept by the admin; cinemas screen a movie only while
// they hold a licence for it (pages/licenses.js).

import { callSvr, html, toast, formDialog, makeUrl } from '../jdy.js';
import { Grid } from '../grid.js';
import { posterField, wirePoster } from './ticketing-parts.js';

export default {
  id: 'movies',
  title: '影片库',
  icon: '▶',
  async render(el) {
    const fields = (m = {}) => [
      { name: 'name', label: '片名', value: m.name, required: true },
      { name: 'duration', label: '片长(分钟)', type: 'number', value: m.duration, min: 1, required: true },
      { name: 'category', label: '类型', value: m.category, placeholder: '如: 科幻, 动画' },
      { name: 'cast', label: '主演', value: m.cast },
      { name: 'releaseDt', label: '上映日期', type: 'date', value: m.releaseDt },
      { name: 'dscr', label: '简介', type: 'textarea', value: m.dscr, rows: 4 },
      posterField(m.posterId),
    ];
    const clean = (v, m = {}) => Object.fromEntries(Object.entries(v).filter(([k, x]) => x !== '' || m[k]));
    const grid = new Grid(el, {
      ac: 'Movie.query',
      res: 'id,name,duration,category,cast,releaseDt,posterId',
      orderby: 'id desc',
      q: '编号/片名/主演',
      columns: [
        { field: 'posterId', title: '海报', fmt: (r) => (r.posterId ? html`<img class="thumb" src="${makeUrl('att', { id: r.posterId, thumb: 1 })}" alt="海报">` : '—') },
        { field: 'id', title: '编号', sort: true },
        { field: 'name', title: '片名', sort: true },
        { field: 'duration', title: '片长', cls: 'num', fmt: (r) => `${r.duration}分钟` },
        { field: 'category', title: '类型' },
        { field: 'cast', title: '主演', cls: 'wrap' },
        { field: 'releaseDt', title: '上映日期', sort: true },
      ],
      emptyText: '影片库是空的',
      tools: [{
        text: '+ 添加影片',
        kind: 'primary',
        id: 'btnAddMovie',
        async onClick() {
          const id = await formDialog({ title: '添加影片', fields: fields(), onOpen: wirePoster, submit: (v) => callSvr('Movie.add', {}, clean(v)) });
          if (id) {
            toast('影片已添加', 'ok');
            grid.load(1);
          }
        },
      }],
      async onRow(r) {
        const m = await callSvr('Movie.get', { id: r.id });
        const ok = await formDialog({ title: `编辑 ${m.name}`, fields: fields(m), onOpen: wirePoster, submit: (v) => callSvr('Movie.set', { id: m.id }, clean(v, m)) });
        if (ok) {
          toast('影片已保存', 'ok');
          grid.load();
        }
      },
    });
    await grid.load(1);
  },
};
