// pages/ticketing-parts.js: what the ticketing pages of both consoles share: choices loaded from the server
// (cities, venues, stores), poster upload, the status badges, and the seat map drawn as a buyer sees it.

import { callSvr, html, raw, makeUrl, $, toast } from '../jdy.js';

export const STORE_KINDS = [['show', '演出'], ['cinema', '影院'], ['rail', '铁路']];
export const STORE_STATUS = [['PE', '待审核'], ['OK', '已通过'], ['BL', '已封禁']];
export const EVENT_STATUS = [['DR', '草稿'], ['ON', '在售'], ['OF', '停售']];

const cache = {};

/** Cities as select options (`浙江省 · 杭州市`), loaded once per page load. */
export async function cityOptions() {
  if (!cache.cities) {
    const rows = await callSvr('City.query', { res: 'id,name,province', orderby: 'code', fmt: 'array', pagesz: -1 });
    cache.cities = rows.map((c) => [c.id, c.name === c.province ? c.name : `${c.province} · ${c.name}`]);
  }
  return cache.cities;
}

/** The caller's venues (or every venue, for the admin) as options. */
export async function venueOptions() {
  const rows = await callSvr('Venue.query', { res: 'id,name,cityName', orderby: 'id', fmt: 'array', pagesz: -1 });
  return rows.map((v) => [v.id, `${v.name} (${v.cityName || ''})`]);
}

/** Label of a code from a [code, label] list. */
export function labelOf(list, code) {
  return (list.find(([k]) => k === code) || [code, code || ''])[1];
}

/** A badge for a store or event state. */
export function stateBadge(code, label) {
  const cls = { OK: 'ok', ON: 'ok', PE: 'warn', DR: 'warn', BL: 'off', OF: 'off' }[code] || '';
  return html`<span class="badge ${cls}">${label || code}</span>`;
}

/**
 * A poster field for a form dialog: shows the current picture and uploads a chosen file at once; the
 * uploaded attachment id goes into the hidden input `posterId`.
 */
export function posterField(posterId) {
  return {
    name: 'posterId',
    label: '海报',
    type: 'hidden',
    value: posterId || '',
    render: () => html`<div class="poster-field"><img id="posterImg" alt="海报" ${posterId ? html`src="${makeUrl('att', { id: posterId, thumb: 1 })}"` : raw('hidden')}>
      <label class="btn small">选择图片<input type="file" accept="image/*" id="posterFile" hidden></label></div>`,
  };
}

/** Wires the poster field of an open dialog: upload on choose, preview, fill `posterId`. */
export function wirePoster(box) {
  const file = $('#posterFile', box);
  if (!file) return;
  file.addEventListener('change', async () => {
    const f = file.files[0];
    if (!f) return;
    const fd = new FormData();
    fd.append('file', f, f.name);
    try {
      const ups = await callSvr('upload', { genThumb: 1, category: 'poster' }, fd);
      const up = Array.isArray(ups) ? ups[0] : ups;
      box.querySelector('[name=posterId]').value = up.id;
      const img = $('#posterImg', box);
      img.src = makeUrl('att', { id: up.id, thumb: 1 });
      img.hidden = false;
      toast('海报已上传', 'ok');
    } catch {
      // shown by callSvr
    }
  });
}

/** Row and seat numbers of a map, by the server's rule (seatmap.rs): rows with a seat or a blocked cell are
 * numbered, and so are seats and blocked cells from the left; aisles are not. */
export function numberMap(lines) {
  let rowNo = 0;
  return lines.map((line) => {
    const numbered = [...line].some((c) => c !== '_');
    if (numbered) rowNo += 1;
    let seatNo = 0;
    return [...line].map((c) => {
      if (c === '_') return { c, label: '' };
      seatNo += 1;
      return { c, label: `${rowNo}排${seatNo}座`, rowNo };
    });
  });
}

/** The cells of a seat map text, padded to a rectangle. */
export function mapLines(text) {
  const lines = String(text || '').split('\n').map((l) => l.trim()).filter((l) => l.length);
  const cols = Math.max(0, ...lines.map((l) => [...l].length));
  return lines.map((l) => l + '_'.repeat(cols - [...l].length));
}

const CLASS_COLORS = ['#e5484d', '#2f6fed', '#12a150', '#f59e0b', '#8e4ec6', '#0ea5e9', '#db2777', '#65a30d'];

/** A stable colour per class code. */
export function classColor(code) {
  const i = code.charCodeAt(0) - 65;
  return CLASS_COLORS[((i % CLASS_COLORS.length) + CLASS_COLORS.length) % CLASS_COLORS.length];
}

/**
 * The seat map as a buyer sees it: a screen/stage bar, row numbers, one square per seat coloured by class
 * (or by state when `states` is given: sold and held are grey), aisles as gaps.
 */
export function seatPreview(text, { states, classNames = {}, stage = '舞台 / 银幕' } = {}) {
  const lines = mapLines(text);
  const numbered = numberMap(lines);
  const legend = [...new Set(lines.join('').replace(/[_x]/g, ''))].sort();
  return html`<div class="seat-preview"><div class="stage">${stage}</div>
    <div class="seat-rows">${numbered.map((row) => {
      const rowNo = (row.find((c) => c.rowNo) || {}).rowNo;
      return html`<div class="seat-row"><span class="row-no">${rowNo || ''}</span>${row.map((cell, i) => {
        if (cell.c === '_') return html`<span class="cell aisle"></span>`;
        if (cell.c === 'x') return html`<span class="cell blocked" title="${cell.label} 不售"></span>`;
        const st = states ? states[cell.label] || 'free' : 'free';
        return html`<span class="cell seat ${st}" data-col="${i + 1}" style="--c:${classColor(cell.c)}" title="${cell.label} · ${classNames[cell.c] || `${cell.c}区`}${st === 'free' ? '' : st === 'sold' ? ' · 已售' : ' · 已锁定'}"></span>`;
      })}</div>`;
    })}</div>
    <div class="seat-legend">${legend.map((c) => html`<span><i style="--c:${classColor(c)}"></i>${classNames[c] || `${c}区`}</span>`)}
      ${states ? html`<span><i class="sold"></i>已售</span><span><i class="held"></i>已锁定</span>` : ''}<span><i class="blocked"></i>不售</span></div></div>`;
}

/** Class codes of a map with their seat counts: [['A', 12], ...]. */
export function mapClasses(text) {
  const counts = {};
  for (const c of mapLines(text).join('')) if (c >= 'A' && c <= 'Z') counts[c] = (counts[c] || 0) + 1;
  return Object.entries(counts).sort();
}
