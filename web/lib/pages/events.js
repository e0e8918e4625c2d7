// pages/events.js: the store's events (Event): shows of a theatre, or the movies a cinema screens (picked from
// the platform catalogue it holds licences for), with poster, status (草稿/在售/停售) and the order limit.

import { callSvr, html, toast, formDialog, fmtTm, fmtMoney, lit, andCond } from '../jdy.js';
import { Grid } from '../grid.js';
import { venueOptions, posterField, wirePoster, EVENT_STATUS, stateBadge } from './ticketing-parts.js';

export default {
  id: 'events',
  title: '演出管理',
  icon: '✦',
  async render(el, ctx) {
    const venues = await venueOptions();
    const store = ctx.app === 'emp' ? (await callSvr('Store.query', { res: 'id,kind', fmt: 'one' })) : null;
    const cinema = store && store.kind === 'cinema';
    const movies = cinema || ctx.app === 'admin'
      ? (await callSvr('Movie.query', { res: 'id,name,duration', fmt: 'array', pagesz: -1 })).map((m) => [m.id, `${m.name} (${m.duration}分钟)`])
      : [];
    const fields = (e = {}) => [
      ...(e.id ? [] : [{ name: 'venueId', label: '场馆', type: 'select', value: e.venueId, options: [['', '请选择'], ...venues], required: true }]),
      ...(cinema && !e.id ? [{ name: 'movieId', label: '影片', type: 'select', options: [['', '请选择'], ...movies], required: true, hint: '名称, 演员, 类型, 海报取自影片库; 排场须在放映许可期内' }] : []),
      { name: 'name', label: '名称', value: e.name, required: !cinema || !!e.id },
      { name: 'category', label: '类型', value: e.category, placeholder: '如: 话剧, 音乐会, 科幻' },
      { name: 'cast', label: cinema ? '主演' : '演出者', value: e.cast },
      { name: 'status', label: '状态', type: 'select', value: e.status || 'DR', options: EVENT_STATUS },
      { name: 'maxPerOrder', label: '每单限购', type: 'number', value: e.maxPerOrder || 5, min: 1, hint: '1-20张' },
      { name: 'dscr', label: '简介', type: 'textarea', value: e.dscr, rows: 4 },
      posterField(e.posterId),
    ];
    const clean = (v, e = {}) => {
      const out = { ...v };
      for (const k of Object.keys(out)) if (out[k] === '' && !e[k]) delete out[k];
      return out;
    };
    const grid = new Grid(el, {
      ac: 'Event.query',
      res: 'id,name,kind,kindName,category,venueName,status,statusName,nextTm,minPrice,heat',
      orderby: 'id desc',
      q: '名称/演员/场馆',
      filters: [
        { name: 'status', label: '状态', type: 'select', options: [['', '全部'], ...EVENT_STATUS] },
      ],
      cond: (v) => andCond([v.status && `status=${lit(v.status)}`]),
      columns: [
        { field: 'id', title: '编号', sort: true },
        { field: 'name', title: '名称', sort: true, cls: 'wrap' },
        { field: 'kindName', title: '种类' },
        { field: 'category', title: '类型' },
        { field: 'venueName', title: '场馆' },
        { field: 'status', title: '状态', fmt: (r) => stateBadge(r.status, r.statusName) },
        { field: 'nextTm', title: '最近场次', fmt: (r) => (r.nextTm ? fmtTm(r.nextTm) : '—') },
        { field: 'minPrice', title: '最低价', cls: 'num', fmt: (r) => (r.minPrice ? fmtMoney(r.minPrice) : '—') },
        { field: 'heat', title: '热度', cls: 'num' },
        { field: '', title: '操作', fmt: (r) => html`<a class="btn small ghost" href="#showings?eventId=${r.id}">场次</a>` },
      ],
      emptyText: '还没有演出',
      tools: [{
        text: cinema ? '+ 上映影片' : '+ 添加演出',
        kind: 'primary',
        id: 'btnAddEvent',
        async onClick() {
          const id = await formDialog({ title: cinema ? '上映影片' : '添加演出', fields: fields(), onOpen: wirePoster, submit: (v) => callSvr('Event.add', {}, clean(v)) });
          if (id) {
            toast('已添加, 下一步添加场次', 'ok');
            grid.load(1);
          }
        },
      }],
      async onRow(r) {
        const e = await callSvr('Event.get', { id: r.id, res: 'id,name,category,cast,status,maxPerOrder,dscr,posterId' });
        const ok = await formDialog({ title: `编辑 ${e.name}`, fields: fields(e), onOpen: wirePoster, submit: (v) => callSvr('Event.set', { id: e.id }, clean(v, e)) });
        if (ok) {
          toast('已保存', 'ok');
          grid.load();
        }
      },
    });
    await grid.load(1);
  },
};
