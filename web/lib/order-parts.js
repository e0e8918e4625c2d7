// order-parts.js: pieces of an order shown by both the user app (m2) and the consoles: the OrderLog timeline
// and the attachment thumbnails.

import { html, makeUrl, fmtTm, emptyState } from './jdy.js';

/** The OrderLog timeline, oldest first. */
export function timeline(logs) {
  if (!logs || !logs.length) return emptyState('暂无记录');
  return html`<ol class="timeline">${logs.map((l) => html`<li><div class="t-act">${l.actionName || l.action}${l.dscr ? html` · ${l.dscr}` : ''}</div>
    <div class="t-meta">${fmtTm(l.tm)}${l.empName ? html` · 处理人 ${l.empName}` : ''}</div></li>`)}</ol>`;
}

/** Thumbnails of the order's attachments (`atts` = [{id, attId}]); each opens the full picture. */
export function attList(atts) {
  if (!atts || !atts.length) return html`<div class="muted">没有图片</div>`;
  return html`<div class="atts">${atts.map((a) => html`<a href="${makeUrl('att', { id: a.attId })}" target="_blank" rel="noopener">
    <img src="${makeUrl('att', { id: a.attId, thumb: 1 })}" alt="订单图片 ${a.attId}" loading="lazy"></a>`)}</div>`;
}
