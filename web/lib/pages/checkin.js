// pages/checkin.js: the gate: type, paste or scan a ticket code and get a big answer. Ticket.checkin lets a
// ticket of this store in once; a second scan is refused with the time of the first.

import { callSvr, html, render, $, fmtTm } from '../jdy.js';

export default {
  id: 'checkin',
  title: '检票',
  icon: '✔',
  async render(el) {
    render(el, html`<div class="checkin">
      <form id="fCheckin" autocomplete="off"><label for="code">票码</label>
        <div class="row"><input id="code" name="code" placeholder="扫码或输入26位票码" autofocus spellcheck="false"><button class="btn primary" type="submit">检票</button></div></form>
      <div id="result" class="ck-result" aria-live="assertive"></div>
      <h3>本次检票记录</h3><ol id="history" class="ck-history"></ol></div>`);
    const f = $('#fCheckin', el);
    const history = [];
    f.addEventListener('submit', async (e) => {
      e.preventDefault();
      const code = f.code.value.trim();
      if (!code) return;
      f.code.value = '';
      f.code.focus();
      let ok;
      let text;
      try {
        const t = await callSvr('Ticket.checkin', { code }, {}, { silent: true });
        ok = true;
        text = html`<div class="big">可以入场</div><div>${t.eventName || ''} · ${t.label}</div><div class="muted">${fmtTm(t.startTm)} ${t.hallName || ''}</div>`;
      } catch (err) {
        ok = false;
        text = html`<div class="big">不能入场</div><div>${err.msg || err.message}</div>`;
      }
      render($('#result', el), html`<div class="${ok ? 'ok' : 'no'}">${text}</div>`);
      history.unshift(html`<li class="${ok ? 'ok' : 'no'}">${new Date().toTimeString().slice(0, 8)} · ${code.slice(0, 6)}… · ${ok ? '入场' : '拒绝'}</li>`);
      render($('#history', el), history.slice(0, 20));
    });
  },
};
