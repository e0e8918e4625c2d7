// The buyer's journey end to end, from the start page: a new buyer registers by phone code, picks a city,
// searches, opens an event, chooses seats, pays on the mock provider's page and sees the QR ticket; the store's
// clerk checks it in at the gate; the buyer sees it used. Then a train ticket the same way. The stores, the
// event and the train are set up through the API as their staff would.

import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, newPage, shots, seeToast, DESKTOP, PHONE, Client } from './lib/harness.js';

const day = (n, hm = '19:30') => {
  const t = new Date(Date.now() + n * 86400000);
  const p = (x) => String(x).padStart(2, '0');
  return `${t.getFullYear()}-${p(t.getMonth() + 1)}-${p(t.getDate())} ${hm}:00`;
};

describe('the buyer journey from the start page', () => {
  let server;
  let buyer;
  let gate;
  let page;
  let adm;

  before(async () => {
    server = await startServer();
    adm = server.api('admin');
    await adm.ok('login', {}, { uname: 'admin', pwd: 'admin123' });
    const city = (await adm.ok('City.query', { cond: "code='330100'", res: 'id', fmt: 'one' })).id;
    const theatre = await adm.ok('Store.add', {}, { name: '西湖剧院', kind: 'show', cityId: city });
    const rail = await adm.ok('Store.add', {}, { name: '沪杭铁路', kind: 'rail', cityId: city });
    for (const s of [theatre, rail]) await adm.ok('Store.set', { id: s }, { status: 'OK' });
    await adm.ok('Employee.add', {}, { uname: 'xh', pwd: 'xh123', perms: 'emp,mgr', storeId: theatre });
    await adm.ok('Employee.add', {}, { uname: 'gate', pwd: 'gate123', perms: 'emp', storeId: theatre });
    await adm.ok('Employee.add', {}, { uname: 'hh', pwd: 'hh123', perms: 'emp,mgr', storeId: rail });
    const mgr = new Client(server.base, 'emp');
    await mgr.ok('login', {}, { uname: 'xh', pwd: 'xh123' });
    const venue = await mgr.ok('Venue.add', {}, { name: '西湖剧院', cityId: city });
    const hall = await mgr.ok('Hall.add', {}, { venueId: venue, name: '大厅', seatMap: 'AAAA\nBBBB\nBBBB' });
    const event = await mgr.ok('Event.add', {}, { name: '话剧《白蛇传》', category: '话剧', venueId: venue, status: 'ON' });
    await mgr.ok('Showing.add', {}, { eventId: event, hallId: hall, startTm: day(2), endTm: day(2, '21:30'), prices: 'A:280,B:120' });
    const hh = new Client(server.base, 'emp');
    await hh.ok('login', {}, { uname: 'hh', pwd: 'hh123' });
    const st = async (code) => (await hh.ok('Station.query', { cond: `code='${code}'`, res: 'id', fmt: 'one' })).id;
    const train = await hh.json('Train.add', {}, {
      code: 'G7501',
      stops: [
        { seq: 0, stationId: await st('AOH'), depTm: '09:00', km: 0 },
        { seq: 1, stationId: await st('HGH'), arrTm: '09:59', km: 169 },
      ],
      carriages: [{ no: '06', seatClass: 'ZE', seats: '01A,01B,01C' }],
    });
    await hh.ok('Train.addRuns', { id: train }, { fromDt: day(1).slice(0, 10), toDt: day(3).slice(0, 10) });
    buyer = await launch();
    gate = await launch();
    page = await newPage(buyer.context);
    await page.setViewportSize(PHONE);
  });

  after(async () => {
    await buyer?.close();
    await gate?.close();
    await server?.stop();
  });

  afterEach(() => {
    assert.deepEqual(page.problems, [], 'no script errors or unexpected alerts');
  });

  let code = '';

  it('a new buyer registers by phone code from the start page', async () => {
    await page.goto(`${server.base}/`);
    await page.locator('#toUser').click();
    await page.locator('.shows-bar').waitFor();
    await page.locator('.tabbar a[data-tab=me]').click();
    await page.locator('#fCode [name=phone]').fill('13911112222');
    await page.locator('#btnGenCode').click();
    await seeToast(page, '验证码');
    await page.locator('#fCode [type=submit]').click();
    await page.locator('#fInfo').waitFor();
    await page.locator('#fInfo [name=name]').fill('小明');
    await page.locator('#fInfo [type=submit]').click();
    await seeToast(page, '设置成功');
  });

  it('picks the city, searches, opens the event, chooses seats, pays and sees the QR ticket', async () => {
    await page.locator('.tabbar a[data-tab=shows]').click();
    await page.locator('#btnCity').click();
    await page.locator('#hot button', { hasText: '杭州市' }).click();
    await page.locator('#fSearch input').fill('白蛇');
    await page.locator('#fSearch input').press('Enter');
    await page.locator('.evlist .ev', { hasText: '白蛇传' }).click();
    await page.locator('.showing').first().click();
    await page.getByRole('button', { name: '1排1座 A区' }).click();
    await page.locator('#btnPick').click();
    await page.locator('#fCheckout').waitFor();
    assert.equal(await page.locator('#cn').inputValue(), '小明', 'the contact is the buyer');
    await page.locator('#btnSubmit').click();
    await page.locator('#btnPay').click();
    await page.locator('#btnPay', { hasText: '确认支付' }).click();
    await page.locator('.status-head.st-PA').waitFor({ timeout: 15000 });
    await page.locator('.ticket img.qr').waitFor();
    code = (await page.locator('.ticket .t-code').innerText()).trim();
    await shots(page, 'journey-ticket');
  });

  it('the clerk checks it in and the buyer sees it used', async () => {
    const g = await newPage(gate.context);
    await g.setViewportSize(DESKTOP);
    await g.goto(`${server.base}/web/store.html#checkin`);
    await g.locator('#uname').fill('gate');
    await g.locator('#pwd').fill('gate123');
    await g.locator('#fLogin [type=submit]').click();
    await g.locator('#code').fill(code);
    await g.locator('#fCheckin [type=submit]').click();
    await g.locator('.ck-result .ok .big', { hasText: '可以入场' }).waitFor();
    await page.reload();
    await page.locator('.status-head.st-RE').waitFor();
    assert.match(await page.locator('.ticket').innerText(), /已检票/);
    assert.equal(await page.locator('.ticket img.qr').count(), 0, 'a used ticket shows no QR code');
  });

  it('buys a train ticket the same way', async () => {
    await page.locator('[data-back]').click();
    await page.locator('.tabbar a[data-tab=trains]').click();
    await page.locator('#fTrain [name=from]').fill('上海虹桥');
    await page.locator('#fTrain [name=to]').fill('杭州东');
    await page.locator(`[data-dt="${day(1).slice(0, 10)}"]`).click();
    await page.locator('.train', { hasText: 'G7501' }).locator('.tr-class', { hasText: '二等座' }).click();
    await page.locator('#btnAddPax').click();
    await page.locator('.jdy-dialog [name=name]').fill('小明');
    await page.locator('.jdy-dialog [name=idNo]').fill('11010519491231002X');
    await page.locator('.jdy-dialog .jdy-dialog-btns .primary').click();
    await page.locator('.pax', { hasText: '小明' }).locator('input').check();
    await page.locator('#btnTrainSubmit').click();
    await page.locator('#btnPay').click();
    await page.locator('#btnPay', { hasText: '确认支付' }).click();
    await page.locator('.status-head.st-PA').waitFor({ timeout: 15000 });
    assert.match(await page.locator('.ticket .t-seat').innerText(), /06车01A/);
    await shots(page, 'journey-train-ticket');
  });
});
