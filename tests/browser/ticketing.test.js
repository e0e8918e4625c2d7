// The ticketing pages end to end, as their users would work them: the admin adds a theatre (pending), approves it
// and gives it a first manager, adds a movie with a poster and grants a cinema a licence; the theatre's manager
// adds a venue, draws a hall in the seat-map editor, adds an event with a poster and a showing with a price per
// class, and looks at the seats; a guest on the phone chooses the city, searches, sorts and opens the event with
// its showings and what is left.

import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, launch, newPage, shots, seeToast, makePng, imageLoaded, DESKTOP, PHONE } from './lib/harness.js';

describe('ticketing: stores, catalogue, halls, showings and the buyer catalogue', () => {
  let server;
  let browser;
  let page;
  let adm;
  const pngFile = path.join(mkdtempSync(path.join(tmpdir(), 'jdy-poster-')), 'poster.png');

  before(async () => {
    server = await startServer();
    adm = server.api('admin');
    await adm.ok('login', {}, { uname: 'admin', pwd: 'admin123' });
    writeFileSync(pngFile, makePng(60, 80, [200, 60, 60]));
    browser = await launch();
    page = await newPage(browser.context);
    await page.setViewportSize(DESKTOP);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  afterEach(() => {
    assert.deepEqual(page.problems, [], 'no script errors or unexpected alerts');
  });

  const one = async (sql) => (await adm.sql(sql))[0];
  const dialog = () => page.locator('.jdy-dialog');
  const save = () => dialog().locator('.jdy-dialog-btns .primary').click();
  const inDays = (d, hh) => {
    const t = new Date(Date.now() + d * 86400000);
    const p = (n) => String(n).padStart(2, '0');
    return `${t.getFullYear()}-${p(t.getMonth() + 1)}-${p(t.getDate())}T${p(hh)}:00`;
  };

  async function consoleLogin(url, uname, pwd) {
    await page.goto(url);
    await page.locator('#fLogin').waitFor();
    await page.locator('#uname').fill(uname);
    await page.locator('#pwd').fill(pwd);
    await page.locator('#fLogin [type=submit]').click();
    await page.locator('#nav').waitFor();
  }

  async function openPage(id) {
    await page.locator(`#nav a[data-page=${id}]`).click();
    await page.locator(`.page-${id} .pager .info`).waitFor();
  }

  it('the admin adds a store, which is pending until approved', async () => {
    await consoleLogin(`${server.base}/web/adm.html`, 'admin', 'admin123');
    await openPage('stores');
    await page.locator('#btnAddStore').click();
    await dialog().locator('[name=name]').fill('长安大戏院');
    await dialog().locator('[name=kind]').selectOption('show');
    await dialog().locator('[name=cityId]').selectOption({ label: '北京市' });
    await dialog().locator('[name=tel]').fill('010-88886666');
    await save();
    await seeToast(page, '商户已添加, 待审核');
    const row = page.locator('.page-stores tbody tr', { hasText: '长安大戏院' });
    await row.waitFor();
    assert.match(await row.innerText(), /待审核/);
    await shots(page, 'adm-stores');
    await row.locator('[data-to=OK]').click();
    await dialog().locator('.jdy-dialog-btns .primary').click();
    await seeToast(page, '商户已通过');
    await page.locator('.page-stores tbody tr', { hasText: '长安大戏院' }).filter({ hasText: '已通过' }).waitFor();
    assert.equal((await one("SELECT status FROM Store WHERE name='长安大戏院'")).status, 'OK');
  });

  it('the admin gives the store its first manager', async () => {
    await page.locator('.page-stores tbody tr', { hasText: '长安大戏院' }).locator('[data-mgr]').click();
    await dialog().locator('[name=name]').fill('王经理');
    await dialog().locator('[name=uname]').fill('wangjl');
    await dialog().locator('[name=pwd]').fill('wang123');
    await save();
    await seeToast(page, '经理已添加');
    const e = await one("SELECT e.perms, s.name FROM Employee e JOIN Store s ON s.id=e.storeId WHERE e.uname='wangjl'");
    assert.deepEqual(e, { perms: 'emp,mgr', name: '长安大戏院' });
  });

  it('the admin adds a movie with a poster and grants a cinema a licence', async () => {
    await adm.ok('Store.add', {}, { name: '外滩影城', kind: 'cinema' });
    await openPage('movies');
    await page.locator('#btnAddMovie').click();
    await dialog().locator('[name=name]').fill('星河彼岸');
    await dialog().locator('[name=duration]').fill('128');
    await dialog().locator('[name=category]').fill('科幻');
    await dialog().locator('#posterFile').setInputFiles(pngFile);
    await seeToast(page, '海报已上传');
    await save();
    await seeToast(page, '影片已添加');
    await page.locator('.page-movies tbody tr', { hasText: '星河彼岸' }).locator('img.thumb').waitFor();
    assert.ok((await one("SELECT posterId FROM Movie WHERE name='星河彼岸'")).posterId > 0);

    await openPage('licenses');
    await page.locator('#btnAddLicense').click();
    await dialog().locator('[name=storeId]').selectOption({ label: '外滩影城' });
    await dialog().locator('[name=movieId]').selectOption({ label: '星河彼岸' });
    await save();
    await seeToast(page, '许可已授予');
    const row = page.locator('.page-licenses tbody tr', { hasText: '外滩影城' });
    await row.waitFor();
    assert.match(await row.innerText(), /星河彼岸[\s\S]*有效/);
  });

  it('the new manager adds a venue and draws a hall in the seat-map editor', async () => {
    await page.locator('#btnLogout').click();
    await consoleLogin(`${server.base}/web/store.html`, 'wangjl', 'wang123');
    await openPage('venues');
    await page.locator('#btnAddVenue').click();
    await dialog().locator('[name=name]').fill('长安大戏院');
    await dialog().locator('[name=cityId]').selectOption({ label: '北京市' });
    await dialog().locator('[name=addr]').fill('东长安街7号');
    await save();
    await seeToast(page, '场馆已添加');
    await page.locator('.page-venues tbody tr', { hasText: '东长安街7号' }).locator('a', { hasText: '影厅' }).click();
    await page.locator('.page-halls .pager .info').waitFor();

    await page.locator('#btnAddHall').click();
    await dialog().locator('[name=name]').fill('主厅');
    // Start from 4 rows of 6, then paint: row 1 becomes VIP (A), one seat of row 2 blocked, column 4 an aisle.
    await dialog().locator('.smed .rows').fill('4');
    await dialog().locator('.smed .cols').fill('6');
    await dialog().locator('[data-resize]').click();
    await dialog().locator('[data-brush=A]').click();
    await dialog().locator('[data-row="0"]').click();
    await dialog().locator('[data-brush=x]').click();
    await dialog().locator('.ed-cell[data-r="1"][data-c="0"]').click();
    await dialog().locator('[data-brush=_]').click();
    for (let r = 0; r < 4; r += 1) await dialog().locator(`.ed-cell[data-r="${r}"][data-c="3"]`).click();
    assert.equal(await dialog().locator('.seat-total').innerText(), '19');
    assert.equal(await dialog().locator('.smed-text textarea').inputValue(), 'AAA_AA\nxBB_BB\nBBB_BB\nBBB_BB');
    // The preview numbers seats as the buyer will read them: the blocked seat keeps its number.
    assert.equal(await dialog().locator('.smed-preview .seat-row').nth(1).locator('.cell.seat').first().getAttribute('title'), '2排2座 · B区');
    await shots(page, 'store-hall-editor');
    await save();
    await seeToast(page, '影厅已添加');
    const h = await one("SELECT rows, cols, seatCnt, seatMap FROM Hall WHERE name='主厅'");
    assert.deepEqual(h, { rows: 4, cols: 6, seatCnt: 19, seatMap: 'AAA_AA\nxBB_BB\nBBB_BB\nBBB_BB' });
  });

  it('a bad map typed as text is refused with the line and column, and nothing is saved', async () => {
    await page.locator('#btnAddHall').click();
    await dialog().locator('[name=name]').fill('坏厅');
    await dialog().locator('.smed-text summary').click();
    await dialog().locator('.smed-text textarea').fill('AAA\nA?A');
    await save();
    await seeToast(page, '座位图第2行第2列');
    assert.ok(await dialog().isVisible(), 'the dialog stays open to fix it');
    await dialog().locator('.jdy-x').click();
    assert.equal((await one("SELECT COUNT(*) n FROM Hall WHERE name='坏厅'")).n, 0);
  });

  it('the manager adds an event with a poster and a showing priced per class', async () => {
    await openPage('events');
    await page.locator('#btnAddEvent').click();
    await dialog().locator('[name=venueId]').selectOption({ index: 1 });
    await dialog().locator('[name=name]').fill('京剧《霸王别姬》');
    await dialog().locator('[name=category]').fill('戏曲');
    await dialog().locator('[name=cast]').fill('梅派传人');
    await dialog().locator('[name=status]').selectOption('ON');
    await dialog().locator('#posterFile').setInputFiles(pngFile);
    await seeToast(page, '海报已上传');
    await save();
    await seeToast(page, '已添加, 下一步添加场次');
    const row = page.locator('.page-events tbody tr', { hasText: '霸王别姬' });
    await row.waitFor();
    assert.match(await row.innerText(), /在售/);
    await row.locator('a', { hasText: '场次' }).click();
    await page.locator('.page-showings .pager .info').waitFor();

    await page.locator('#btnAddShowing').click();
    await dialog().locator('[name=hallId] option', { hasText: '主厅' }).waitFor({ state: 'attached' });
    await dialog().locator('[name=hallId]').selectOption({ label: '主厅 (19座)' });
    await dialog().locator('[name=price_A]').waitFor();
    await dialog().locator('[name=startTm]').fill(inDays(3, 19));
    await dialog().locator('[name=endTm]').fill(inDays(3, 22));
    await dialog().locator('[name=price_A]').fill('380');
    await dialog().locator('[name=price_B]').fill('180');
    await dialog().locator('[name=cname_B]').fill('普通');
    await save();
    await seeToast(page, '场次已添加');
    const s = page.locator('.page-showings tbody tr', { hasText: '霸王别姬' });
    await s.waitFor();
    assert.match(await s.innerText(), /VIP ¥380\.00 余5[\s\S]*普通 ¥180\.00 余14/);
    assert.equal((await one('SELECT COUNT(*) n FROM Seat')).n, 19);
  });

  it('a second showing that overlaps the first is refused naming it', async () => {
    await page.locator('#btnAddShowing').click();
    await dialog().locator('[name=hallId] option', { hasText: '主厅' }).waitFor({ state: 'attached' });
    await dialog().locator('[name=hallId]').selectOption({ label: '主厅 (19座)' });
    await dialog().locator('[name=price_A]').waitFor();
    await dialog().locator('[name=startTm]').fill(inDays(3, 20));
    await dialog().locator('[name=endTm]').fill(inDays(3, 23));
    await dialog().locator('[name=price_A]').fill('1');
    await dialog().locator('[name=price_B]').fill('1');
    await save();
    await seeToast(page, '时间冲突');
    await dialog().locator('.jdy-x').click();
    assert.equal((await one('SELECT COUNT(*) n FROM Showing')).n, 1);
  });

  it('the seats dialog shows sold and held seats as the buyer sees them', async () => {
    await adm.sql("UPDATE Seat SET status='SO' WHERE label='1排1座'");
    await adm.sql("UPDATE Seat SET status='HD', expireTm='2099-01-01 00:00:00' WHERE label='1排2座'");
    await page.locator('.page-showings tbody tr [data-seats]').click();
    await dialog().locator('.seat-preview').waitFor();
    assert.match(await dialog().locator('p.muted').innerText(), /共 19 座, 已售 1, 锁定中 1, 可售 17/);
    assert.equal(await dialog().locator('.cell.seat.sold').count(), 1);
    assert.equal(await dialog().locator('.cell.seat.held').count(), 1);
    await shots(page, 'store-showing-seats');
    await dialog().locator('.jdy-x').click();
  });

  it('a guest on the phone finds the event in the chosen city, sorts, and opens it with its showings', async () => {
    await page.setViewportSize(PHONE);
    await page.goto(`${server.base}/m2/`);
    await page.locator('.evlist li').first().waitFor();
    assert.equal(await page.locator('#btnCity').innerText(), '全国 ▾');
    await shots(page, 'm2-shows');
    await page.locator('#btnCity').click();
    await page.locator('#hot [data-city]').nth(1).waitFor();
    // Cities with events come first; searching the full list works by province too.
    await page.locator('#fCity input').fill('浙江');
    await page.locator('#all .prov-name', { hasText: '浙江省' }).waitFor();
    assert.ok(await page.locator('#all button', { hasText: '杭州市' }).isVisible());
    await page.locator('#hot button', { hasText: '北京市' }).click();
    await page.locator('.evlist li').first().waitFor();
    assert.equal(await page.locator('#btnCity').innerText(), '北京市 ▾');
    const card = page.locator('.evlist .ev', { hasText: '霸王别姬' });
    assert.match(await card.innerText(), /戏曲[\s\S]*北京市 · 长安大戏院[\s\S]*¥180起/);
    assert.ok(await card.locator('img.poster').isVisible(), 'the poster is shown to a guest');

    await page.locator('#fSearch input').fill('梅派');
    await page.locator('#fSearch input').press('Enter');
    await page.locator('.evlist .ev', { hasText: '霸王别姬' }).waitFor();
    await page.locator('#fSearch input').fill('没有这个');
    await page.locator('#fSearch input').press('Enter');
    await page.locator('#more .empty-text', { hasText: '没有找到与「没有这个」相关的演出' }).waitFor();
    await page.locator('#fSearch input').fill('');
    await page.locator('#fSearch input').press('Enter');
    await page.locator('#selSort').selectOption('3');
    await page.locator('.evlist .ev').first().waitFor();
    await page.locator('.evlist .ev', { hasText: '霸王别姬' }).click();

    await page.locator('#evName').waitFor();
    assert.equal(await page.locator('#evName').innerText(), '京剧《霸王别姬》');
    // The two seats sold and held above are both VIP.
    const sh = page.locator(".showing").first();
    assert.match(await sh.innerText(), /19:00[\s\S]*主厅/);
    assert.match(await sh.locator('.classes').innerText(), /VIP\s*¥380\.00\s*余3[\s\S]*普通\s*¥180\.00\s*余14/);
    await shots(page, 'm2-event');
  });

  let ticketCode = '';

  it('the buyer picks seats, logs in on the way, submits, pays on the provider page and gets tickets with QR codes', async () => {
    await page.goto(`${server.base}/m2/#shows`);
    await page.locator('.evlist .ev', { hasText: '霸王别姬' }).click();
    await page.locator('.showing').first().click();
    await page.locator('#seatmap .seat').first().waitFor();
    // Seats sold or held by others cannot be chosen.
    assert.equal(await page.locator('#seatmap .seat:disabled').count(), 2);
    await page.getByRole('button', { name: '3排1座 普通' }).click();
    await page.getByRole('button', { name: '3排2座 普通' }).click();
    assert.equal(await page.locator('#total').innerText(), '2张 ¥360.00');
    await shots(page, 'm2-seats');
    await page.locator('#btnPick').click();
    // A guest logs in here and comes back to the checkout with the same seats.
    await page.locator('.login').waitFor();
    await page.locator('#fCode [name=phone]').fill('13812345678');
    await page.locator('#btnGenCode').click();
    await seeToast(page, '验证码');
    await page.locator('#fCode [type=submit]').click();
    // A new buyer may set a nickname first, or skip it; either way the purchase goes on.
    await page.locator('#fInfo').waitFor();
    await page.locator('#skip').click();
    await page.locator('#fCheckout').waitFor();
    assert.equal(await page.locator('#sum').innerText(), '¥360.00');
    await page.locator('#cn').fill('李雷');
    await page.locator('#btnSubmit').click();
    await page.locator('#countdown').waitFor();
    assert.match(await page.locator('#countdown').innerText(), /请在 1\d:\d\d 内付款|请在 \d\d:\d\d 内付款/);
    const id = Number(await page.locator('#oid').innerText());
    assert.deepEqual(await one(`SELECT status, amount FROM Ordr WHERE id=${id}`), { status: 'CR', amount: 360 });
    await shots(page, 'm2-order-new');

    await page.locator('#btnPay').click();
    await page.locator('#btnPay', { hasText: '确认支付' }).waitFor();
    assert.match(await page.locator('.amt').innerText(), /¥360\.00/);
    await shots(page, 'paymock');
    await page.locator('#btnPay').click();
    await page.locator('.status-head.st-PA').waitFor({ timeout: 15000 });
    await page.locator('.ticket img.qr').first().waitFor();
    assert.equal(await page.locator('.ticket img.qr').count(), 2);
    // The QR images are real PNGs the server drew.
    assert.ok(await imageLoaded(page, '.ticket img.qr'), 'the QR image loaded');
    ticketCode = (await page.locator('.ticket .t-code').first().innerText()).trim();
    assert.equal(ticketCode.length, 26);
    await shots(page, 'm2-order-paid');
    await page.locator('a', { hasText: '查看我的票' }).click();
    await page.locator('.tickets .ticket').first().waitFor();
    assert.equal(await page.locator('.tickets .ticket').count(), 2);
  });

  it('the store checks the ticket in once and refuses the second scan with the time of the first', async () => {
    await page.setViewportSize(DESKTOP);
    await page.goto(`${server.base}/web/store.html#checkin`);
    await page.locator('#fCheckin').waitFor();
    await page.locator('#code').fill(ticketCode);
    await page.locator('#fCheckin [type=submit]').click();
    await page.locator('.ck-result .ok .big', { hasText: '可以入场' }).waitFor();
    assert.match(await page.locator('.ck-result .ok').innerText(), /3排1座/);
    await shots(page, 'store-checkin-ok');
    await page.locator('#code').fill(ticketCode);
    await page.locator('#fCheckin [type=submit]').click();
    await page.locator('.ck-result .no .big', { hasText: '不能入场' }).waitFor();
    const first = (await one(`SELECT checkinTm FROM Ticket WHERE code='${ticketCode}'`)).checkinTm;
    assert.match(await page.locator('.ck-result .no').innerText(), new RegExp(`该票已于${first}检票`));
    await shots(page, 'store-checkin-refused');
    // The order shows the used ticket in the store's order list.
    await page.locator('#nav a[data-page=orders]').click();
    await page.locator('.page-orders tbody tr', { hasText: '霸王别姬' }).first().click();
    await page.locator('.jdy-dialog .tickets-tbl').waitFor();
    assert.match(await page.locator('.jdy-dialog .tickets-tbl').innerText(), /3排1座[\s\S]*已检票/);
    await page.locator('.jdy-dialog .jdy-x').click();
    // The store's box office counts the two paid tickets.
    await page.locator('#nav a[data-page=boxoffice]').click();
    await page.locator('[data-card="票房"]').waitFor();
    assert.equal(await page.locator('[data-card="票房"]').innerText(), '¥360.00');
    assert.equal(await page.locator('[data-card="售出票数"]').innerText(), '2');
    assert.match(await page.locator('#tblBox').innerText(), /霸王别姬[\s\S]*2[\s\S]*¥360\.00/);
    await page.waitForFunction(() => window.Chart && Chart.getChart(document.querySelector('#chBox')));
    await shots(page, 'store-boxoffice');
  });

  it('a missing event says so and offers the catalogue', async () => {
    await page.setViewportSize(PHONE);
    await page.goto(`${server.base}/m2/#event/99999`);
    await page.locator('.empty-text', { hasText: '演出不存在或已下架' }).waitFor();
    assert.ok(await page.getByRole('link', { name: '看看其它演出' }).isVisible());
  });
});
