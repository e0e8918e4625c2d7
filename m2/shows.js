// shows.js: the catalogue of the user app, open to guests: choose a city, search events with filters and the
// five sort modes of Event.query, and an event's detail with its upcoming showings and what is left of each
// class. Views: #shows  #city  #event/{id}. m2.js registers them and gives the shared view helpers.

import { callSvr, html, render, $, on, emptyState, fmtTm, makeUrl, Pager, infiniteScroll, isAborted } from '/web/lib/jdy.js';

const CITY_KEY = 'jdy.city';
const SORTS = [['0', '综合'], ['1', '推荐'], ['2', '时间'], ['3', '价格↑'], ['4', '价格↓']];
const KINDS = [['', '全部'], ['show', '演出'], ['movie', '电影']];
const WHEN = [['', '全部时间'], ['today', '今天'], ['weekend', '本周末'], ['week', '一周内'], ['month', '一月内']];

/** The city the buyer chose ({id, name}), or null for 全国. */
export function chosenCity() {
  try {
    return JSON.parse(localStorage.getItem(CITY_KEY) || 'null');
  } catch {
    return null;
  }
}

function ymd(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/** fromDt/toDt of a date chip. */
export function dateRange(when, now = new Date()) {
  const day = (n) => new Date(now.getFullYear(), now.getMonth(), now.getDate() + n);
  switch (when) {
    case 'today': return [ymd(now), ymd(now)];
    case 'weekend': {
      // The coming Saturday and Sunday; on a Sunday, just today.
      const dow = now.getDay();
      if (dow === 0) return [ymd(now), ymd(now)];
      return [ymd(day(6 - dow)), ymd(day(7 - dow))];
    }
    case 'week': return [ymd(now), ymd(day(6))];
    case 'month': return [ymd(now), ymd(day(29))];
    default: return [undefined, undefined];
  }
}

/** "¥80起" from a min price; 暂无场次 without one. */
function fromPrice(p) {
  if (p === null || p === undefined || p === '') return html`<span class="muted">暂无场次</span>`;
  return html`<b class="price">¥${Number(p).toFixed(Number(p) % 1 ? 2 : 0)}</b><span class="muted">起</span>`;
}

function poster(e, big) {
  if (e.posterId) return html`<img class="poster${big ? ' big' : ''}" src="${makeUrl('att', { id: e.posterId, thumb: big ? undefined : 1 })}" alt="${e.name} 海报" loading="lazy">`;
  return html`<div class="poster${big ? ' big' : ''} none" aria-hidden="true">${e.kind === 'movie' ? '影' : '演'}</div>`;
}

function eventCard(e) {
  return html`<li><a class="ev" href="#event/${e.id}" data-event="${e.id}">${poster(e)}
    <div class="ev-body"><div class="ev-name">${e.name}</div>
      <div class="ev-meta">${e.category ? html`<span class="tag">${e.category}</span>` : ''}${e.cityName || ''} · ${e.venueName || ''}</div>
      <div class="ev-meta">${e.nextTm ? `最近场次 ${fmtTm(e.nextTm)}` : '暂无可售场次'}</div>
      <div class="ev-price">${fromPrice(e.minPrice)}</div></div></a></li>`;
}

/** The views, given m2's helpers: {mount, bar, go, setStop}. */
export function catalogueViews({ mount, bar, go, setStop }) {
  const state = { q: '', kind: '', when: '', sort: '0', category: '' };

  async function viewShows() {
    const city = chosenCity();
    const view = mount(html`<header class="bar plain shows-bar">
        <a class="city" href="#city" id="btnCity" aria-label="选择城市">${city ? city.name : '全国'} ▾</a>
        <form class="search" id="fSearch" role="search"><input type="search" name="q" placeholder="搜索演出、影片、演员、场馆" aria-label="搜索" value="${state.q}"></form>
      </header>
      <div class="chips" id="kinds">${KINDS.map(([k, l]) => html`<button data-kind="${k}" class="${k === state.kind ? 'on' : ''}">${l}</button>`)}</div>
      <div class="filters">
        <select id="selWhen" aria-label="时间">${WHEN.map(([k, l]) => html`<option value="${k}" ${k === state.when ? 'selected' : ''}>${l}</option>`)}</select>
        <select id="selCat" aria-label="类型"><option value="">全部类型</option></select>
        <select id="selSort" aria-label="排序">${SORTS.map(([k, l]) => html`<option value="${k}" ${k === state.sort ? 'selected' : ''}>${l}</option>`)}</select>
      </div>
      <div class="page"><ul class="evlist" id="evlist"></ul><div class="more" id="more">加载中…</div></div>`);
    const reload = () => viewShows();
    $('#fSearch', view).addEventListener('submit', (e) => {
      e.preventDefault();
      state.q = e.target.q.value.trim();
      // A keyword search ranks by relevance unless the buyer chose another order.
      reload();
    });
    on(view, 'click', '[data-kind]', (e, b) => {
      state.kind = b.dataset.kind;
      state.category = '';
      reload();
    });
    $('#selWhen', view).addEventListener('change', (e) => { state.when = e.target.value; reload(); });
    $('#selSort', view).addEventListener('change', (e) => { state.sort = e.target.value; reload(); });
    $('#selCat', view).addEventListener('change', (e) => { state.category = e.target.value; reload(); });

    const [fromDt, toDt] = dateRange(state.when);
    const filter = { cityId: city ? city.id : undefined, kind: state.kind || undefined, fromDt, toDt };
    // Categories on offer for this city and kind, for the type filter.
    callSvr('Event.query', { ...filter, gres: 'category', res: 'count(*) cnt', fmt: 'array' }, undefined, { quiet: true })
      .then((rows) => {
        const sel = $('#selCat', view);
        if (!sel) return;
        render(sel, html`<option value="">全部类型</option>${rows.filter((r) => r.category).map((r) => html`<option value="${r.category}" ${r.category === state.category ? 'selected' : ''}>${r.category} (${r.cnt})</option>`)}`);
      })
      .catch(() => {});
    const list = $('#evlist', view);
    const more = $('#more', view);
    const pager = new Pager('Event.query', {
      ...filter,
      category: state.category || undefined,
      q: state.q || undefined,
      sort: state.sort,
      pagesz: 10,
      res: 'id,name,kind,category,cityName,venueName,minPrice,nextTm,posterId',
    });
    setStop(infiniteScroll(more, async () => {
      let rows;
      try {
        rows = await pager.next();
      } catch (e) {
        if (isAborted(e)) return false;
        render(more, html`加载失败, <button class="link" data-retry>点此重试</button>`);
        throw e;
      }
      list.insertAdjacentHTML('beforeend', String(html`${rows.map(eventCard)}`));
      if (pager.done) {
        const none = state.q ? `没有找到与「${state.q}」相关的演出` : '这里暂时没有演出';
        render(more, pager.count ? html`— 共 ${pager.count} 个 —` : emptyState(none, city ? html`<a href="#city">换个城市看看</a>` : '换个条件试试'));
        return false;
      }
      return true;
    }));
  }

  async function viewCity() {
    const view = mount(html`${bar('选择城市', '#shows')}
      <div class="page">
        <form id="fCity" role="search"><input type="search" name="q" placeholder="输入城市名或省份" aria-label="搜索城市" autocomplete="off"></form>
        <section class="card"><h2>有演出的城市</h2><div class="city-hot" id="hot">…</div></section>
        <section class="card"><h2>全部城市</h2><div id="all">…</div></section>
      </div>`);
    const choose = (c) => {
      if (c) localStorage.setItem(CITY_KEY, JSON.stringify(c));
      else localStorage.removeItem(CITY_KEY);
      go('#shows');
    };
    on(view, 'click', '[data-city]', (e, b) => {
      const id = Number(b.dataset.city);
      choose(id ? { id, name: b.dataset.name } : null);
    });
    const [hot, cities] = await Promise.all([
      callSvr('Event.query', { gres: 'cityId,cityName', res: 'count(*) cnt', orderby: 'cnt desc', fmt: 'array' }),
      callSvr('City.query', { res: 'id,name,province', orderby: 'code', fmt: 'array', pagesz: -1 }),
    ]);
    const btn = (c) => html`<button data-city="${c.id}" data-name="${c.name}">${c.name}</button>`;
    render($('#hot', view), html`<button data-city="0" data-name="全国">全国</button>${hot.filter((r) => r.cityId).map((r) => btn({ id: r.cityId, name: r.cityName }))}`);
    const renderAll = (q) => {
      const hit = q ? cities.filter((c) => c.name.includes(q) || c.province.includes(q)) : cities;
      const byProvince = new Map();
      for (const c of hit) {
        if (!byProvince.has(c.province)) byProvince.set(c.province, []);
        byProvince.get(c.province).push(c);
      }
      render($('#all', view), hit.length
        ? html`${[...byProvince].map(([p, cs]) => html`<div class="prov"><div class="prov-name">${p}</div><div class="city-hot">${cs.map(btn)}</div></div>`)}`
        : emptyState(`没有找到「${q}」`, '请输入城市或省份的名称'));
    };
    renderAll('');
    $('#fCity', view).addEventListener('input', (e) => renderAll(e.target.value.trim()));
    $('#fCity', view).addEventListener('submit', (e) => e.preventDefault());
  }

  async function viewEvent(id) {
    const e = await callSvr('Event.get', { id }, undefined, { quiet: true });
    const byDay = new Map();
    for (const s of e.showings || []) {
      const d = (s.startTm || '').slice(0, 10);
      if (!byDay.has(d)) byDay.set(d, []);
      byDay.get(d).push(s);
    }
    mount(html`${bar(e.kind === 'movie' ? '影片详情' : '演出详情', '#shows')}
      <div class="page">
        <section class="card ev-head">${poster(e, true)}
          <div><h2 class="ev-title" id="evName">${e.name}</h2>
            <div class="ev-meta">${e.category ? html`<span class="tag">${e.category}</span>` : ''}${e.kindName || ''}</div>
            ${e.cast ? html`<div class="ev-meta">${e.kind === 'movie' ? '主演' : '演出'}: ${e.cast}</div>` : ''}
            <div class="ev-meta">${e.cityName || ''} · ${e.venueName || ''}</div>
            <div class="ev-price">${fromPrice(e.minPrice)}</div></div></section>
        <section class="card"><h2>场次</h2>
          ${byDay.size ? html`<div class="showings">${[...byDay].map(([d, list]) => html`<div class="day"><div class="day-name">${dayName(d)}</div>
            ${list.map((s) => html`<a class="showing" data-showing="${s.id}" href="#${s.hallId ? 'seats' : 'buy'}/${s.id}">
              <div class="sh-time"><b>${(s.startTm || '').slice(11, 16)}</b><span class="muted">${s.hallName || '不对号入座'}${s.endTm ? ` · 约${minutes(s.startTm, s.endTm)}分钟` : ''}</span></div>
              <ul class="classes">${(s.classes || []).map((c) => html`<li class="${c.left > 0 ? '' : 'soldout'}"><span>${c.name}</span><b>¥${c.price}</b><span class="left">${c.left > 0 ? `余${c.left}` : '售罄'}</span></li>`)}</ul>
              <span class="buy">${s.hallId ? '选座购票 ›' : '购票 ›'}</span>
            </a>`)}</div>`)}</div>`
            : emptyState('暂无可售场次', '过些天再来看看')}</section>
        ${e.dscr ? html`<section class="card"><h2>简介</h2><p class="dscr">${e.dscr}</p></section>` : ''}
      </div>`);
  }

  return { shows: viewShows, city: viewCity, event: viewEvent };
}

function minutes(a, b) {
  const t = (s) => new Date(s.replace(' ', 'T')).getTime();
  return Math.round((t(b) - t(a)) / 60000);
}

/** `2026-12-05` → `12月5日 周六` (今天/明天 for the next two days). */
export function dayName(d, now = new Date()) {
  const [y, m, day] = d.split('-').map(Number);
  const date = new Date(y, m - 1, day);
  const today = new Date(now.getFullYear(), now.getMonth(), now.getDate());
  const diff = Math.round((date - today) / 86400000);
  const week = '日一二三四五六'[date.getDay()];
  const rel = diff === 0 ? '今天 ' : diff === 1 ? '明天 ' : '';
  return `${rel}${m}月${day}日 周${week}`;
}
