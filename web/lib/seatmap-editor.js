// seatmap-editor.js: the hall seat-map editor of the staff console. The map is data (Hall.seatMap: one line per
// row, `A`-`Z` a seat of that price class, `_` an aisle, `x` a blocked seat); here it is a grid of cells to
// paint with a brush (click, drag, or a row number for the whole row), a size control, the text itself (kept in
// step both ways) and a preview of what a buyer will see.

import { html, render, $, $$, on } from './jdy.js';
import { seatPreview, mapLines, mapClasses, classColor } from './pages/ticketing-parts.js';

const MAX = 100;
const BRUSHES = [['A', 'A 等级'], ['B', 'B 等级'], ['C', 'C 等级'], ['D', 'D 等级'], ['_', '过道'], ['x', '不售']];

/**
 * Mounts the editor in `root` with the map `text` (or a 10 × 16 hall of B seats when empty). Returns
 * `{ value() }`, the current map text.
 */
export function seatMapEditor(root, text) {
  let grid = mapLines(text).map((l) => [...l]);
  if (!grid.length) grid = Array.from({ length: 10 }, () => Array(16).fill('B'));
  let brush = 'A';
  let painting = false;

  render(root, html`<div class="smed">
    <div class="smed-bar">
      <span class="lbl">画笔:</span>
      ${BRUSHES.map(([b, l]) => html`<button type="button" class="brush ${b === brush ? 'on' : ''}" data-brush="${b}" title="${l}" style="--c:${b >= 'A' && b <= 'Z' ? classColor(b) : '#999'}">${b === '_' ? '过道' : b === 'x' ? '不售' : b}</button>`)}
      <label class="lbl">其它等级 <input type="text" class="other" maxlength="1" size="2" placeholder="E" aria-label="其它等级字母"></label>
      <span class="grow"></span>
      <label class="lbl">排 <input type="number" class="rows" min="1" max="${MAX}" value="${grid.length}" aria-label="排数"></label>
      <label class="lbl">每排 <input type="number" class="cols" min="1" max="${MAX}" value="${grid[0].length}" aria-label="每排格数"></label>
      <button type="button" class="btn small" data-resize>调整尺寸</button>
    </div>
    <div class="smed-grid" role="grid" aria-label="座位图"></div>
    <div class="smed-sum"></div>
    <details class="smed-text"><summary>文本形式(可直接编辑或粘贴)</summary><textarea rows="6" spellcheck="false" aria-label="座位图文本"></textarea></details>
    <div class="smed-preview-title">用户看到的座位图</div><div class="smed-preview"></div>
  </div>`);
  const gridEl = $('.smed-grid', root);
  const ta = $('.smed-text textarea', root);

  const text_ = () => grid.map((r) => r.join('')).join('\n');

  function draw() {
    render(gridEl, html`${grid.map((row, r) => html`<div class="ed-row"><button type="button" class="ed-rowno" data-row="${r}" title="整排设为当前画笔">${r + 1}</button>${row.map(
      (c, i) => html`<span class="ed-cell ${c === '_' ? 'aisle' : c === 'x' ? 'blocked' : 'seat'}" data-r="${r}" data-c="${i}" style="${c >= 'A' && c <= 'Z' ? `--c:${classColor(c)}` : ''}">${c >= 'A' && c <= 'Z' ? c : ''}</span>`,
    )}</div>`)}`);
    refresh();
  }

  function refresh() {
    const t = text_();
    if (document.activeElement !== ta) ta.value = t;
    const classes = mapClasses(t);
    const seats = classes.reduce((n, [, k]) => n + k, 0);
    const blocked = (t.match(/x/g) || []).length;
    render($('.smed-sum', root), seats
      ? html`共 <b class="seat-total">${seats}</b> 个座位: ${classes.map(([c, n]) => html`<span class="cls" style="--c:${classColor(c)}">${c} ${n}</span> `)}${blocked ? html` · 不售 ${blocked}` : ''}`
      : html`<span class="field-err">还没有座位: 用字母画笔画出座位</span>`);
    render($('.smed-preview', root), seatPreview(t));
  }

  function paint(cell) {
    const r = Number(cell.dataset.r);
    const c = Number(cell.dataset.c);
    if (grid[r][c] === brush) return;
    grid[r][c] = brush;
    cell.className = `ed-cell ${brush === '_' ? 'aisle' : brush === 'x' ? 'blocked' : 'seat'}`;
    cell.style.cssText = brush >= 'A' && brush <= 'Z' ? `--c:${classColor(brush)}` : '';
    cell.textContent = brush >= 'A' && brush <= 'Z' ? brush : '';
    refresh();
  }

  on(root, 'click', '[data-brush]', (e, b) => {
    brush = b.dataset.brush;
    $$('[data-brush]', root).forEach((x) => x.classList.toggle('on', x === b));
    $('.other', root).value = '';
  });
  $('.other', root).addEventListener('input', (e) => {
    const v = e.target.value.toUpperCase();
    e.target.value = v;
    if (v >= 'A' && v <= 'Z') {
      brush = v;
      $$('[data-brush]', root).forEach((x) => x.classList.remove('on'));
    }
  });
  gridEl.addEventListener('mousedown', (e) => {
    const cell = e.target.closest('.ed-cell');
    if (!cell) return;
    e.preventDefault();
    painting = true;
    paint(cell);
  });
  gridEl.addEventListener('mouseover', (e) => {
    const cell = e.target.closest('.ed-cell');
    if (painting && cell) paint(cell);
  });
  document.addEventListener('mouseup', () => { painting = false; });
  on(root, 'click', '[data-row]', (e, b) => {
    const r = Number(b.dataset.row);
    grid[r] = grid[r].map(() => brush);
    draw();
  });
  on(root, 'click', '[data-resize]', () => {
    const rows = Math.min(MAX, Math.max(1, Number($('.rows', root).value) || 1));
    const cols = Math.min(MAX, Math.max(1, Number($('.cols', root).value) || 1));
    grid = Array.from({ length: rows }, (_, r) => Array.from({ length: cols }, (__, c) => (grid[r] && grid[r][c]) || (r < grid.length ? '_' : 'B')));
    draw();
  });
  ta.addEventListener('input', () => {
    const lines = mapLines(ta.value);
    if (!lines.length) return;
    grid = lines.map((l) => [...l]);
    $('.rows', root).value = grid.length;
    $('.cols', root).value = grid[0].length;
    draw();
  });
  draw();
  return { value: text_ };
}
