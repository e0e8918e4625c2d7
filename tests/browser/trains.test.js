// A train journey across the front ends: a rail store's manager adds a train with its stops and carriages in
// store.html and generates its run dates; a buyer on the phone searches 北京南 → 上海虹桥, picks second class,
// logs in on the way, adds a passenger, submits and pays, and gets a ticket with carriage and seat; the store
// sees the sold segments of that run.

import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, newPage, shots, seeToast, imageLoaded, DESKTOP, PHONE } from './lib/harness.js';

describe('trains: a rail store and a buyer', () => {
  let server;
  let browser;
  let page;
  let adm;

  before(async () => {
    server = await startServer();
    adm = server.api('admin');
    await adm.ok('login', {}, { uname: 'admin', pwd: 'admin123' });
    const store = await adm.ok('Store.add', {}, { name: '京沪高铁', kind: 'rail' });
    await adm.ok('Store.set', { id: store }, { status: 'OK' });
    await adm.ok('Employee.add', {}, { uname: 'rail', pwd: 'rail123', perms: 'emp,mgr', storeId: store });
    browser = await launch();
    page = await newPage(browser.context);
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
  const tomorrow = () => {
    const t = new Date(Date.now() + 86400000);
    const p = (n) => String(n).padStart(2, '0');
    return `${t.getFullYear()}-${p(t.getMonth() + 1)}-${p(t.getDate())}`;
  };

  it('the manager adds a train with stops and carriages as text and generates its runs', async () => {
    await page.setViewportSize(DESKTOP);
    await page.goto(`${server.base}/web/store.html#trains`);
    await page.locator('#uname').fill('rail');
    await page.locator('#pwd').fill('rail123');
    await page.locator('#fLogin [type=submit]').click();
    await page.locator('.page-trains .pager .info').waitFor();
    await page.locator('#btnAddTrain').click();
    await dialog().locator('[name=code]').fill('G7');
    await dialog().locator('[name=name]').fill('北京南-上海虹桥');
    await dialog().locator('[name=stops]').fill('北京南,,08:00,0,0\n济南西,09:32,09:34,0,406\n南京南,11:46,11:48,0,1023\n上海虹桥,12:48,,0,1318');
    await dialog().locator('[name=carriages]').fill('05 ZE 01A,01B,01C,01D,01F\n02 ZY 01A,01C');
    await dialog().locator('.jdy-dialog-btns .primary').click();
    await seeToast(page, '车次已添加');
    const row = page.locator('.page-trains tbody tr', { hasText: 'G7' });
    await row.waitFor();
    await row.locator('[data-runs]').click();
    await dialog().locator('.jdy-dialog-btns .primary').click();
    await seeToast(page, '已生成14个运行日期');
    assert.equal((await one("SELECT COUNT(*) n FROM TrainRun r JOIN Train t ON t.id=r.trainId WHERE t.code='G7'")).n, 14);
    assert.equal((await one(`SELECT COUNT(*) n FROM RunSeat s JOIN TrainRun r ON r.id=s.runId WHERE r.dt='${tomorrow()}'`)).n, 7);
  });

  it('a bad station name is refused with its line, in the page', async () => {
    await page.locator('#btnAddTrain').click();
    await dialog().locator('[name=code]').fill('G8');
    await dialog().locator('[name=stops]').fill('北京南,,08:00,0,0\n火星站,09:00,,0,100');
    await dialog().locator('[name=carriages]').fill('05 ZE 01A');
    await dialog().locator('.jdy-dialog-btns .primary').click();
    await seeToast(page, '第2行: 没有车站「火星站」');
    await dialog().locator('.jdy-x').click();
  });

  let code = '';

  it('a buyer searches, picks a class, logs in, adds a passenger, pays and gets a seat ticket', async () => {
    await page.setViewportSize(PHONE);
    await page.goto(`${server.base}/m2/#trains`);
    await page.locator('#fTrain').waitFor();
    await page.locator('#fTrain [name=from]').fill('北京南');
    await page.locator('#fTrain [name=to]').fill('上海虹桥');
    await page.locator(`[data-dt="${tomorrow()}"]`).click();
    await page.locator('.train').first().waitFor();
    const t = page.locator('.train').first();
    assert.match(await t.innerText(), /08:00[\s\S]*北京南[\s\S]*G7[\s\S]*4小时48分[\s\S]*12:48[\s\S]*上海虹桥/);
    assert.match(await t.locator('.tr-class').nth(1).innerText(), /二等座\s*¥606\.50\s*余5/);
    await shots(page, 'm2-trains');
    await t.locator('.tr-class', { hasText: '二等座' }).click();
    await page.locator('.login').waitFor();
    await page.locator('#fCode [name=phone]').fill('13812340000');
    await page.locator('#btnGenCode').click();
    await seeToast(page, '验证码');
    await page.locator('#fCode [type=submit]').click();
    await page.locator('#fInfo').waitFor();
    await page.locator('#skip').click();
    await page.locator('#fTrainBuy').waitFor();
    await page.locator('#btnAddPax').click();
    await dialog().locator('[name=name]').fill('韩梅梅');
    await dialog().locator('[name=idNo]').fill('110105194912310021');
    await dialog().locator('.jdy-dialog-btns .primary').click();
    await seeToast(page, '身份证号须是18位, 且校验码正确');
    await dialog().locator('[name=idNo]').fill('11010519491231002X');
    await dialog().locator('.jdy-dialog-btns .primary').click();
    await page.locator('.pax', { hasText: '韩梅梅' }).locator('input').check();
    await page.locator('#tcn').fill('韩梅梅');
    await page.locator('#btnTrainSubmit').click();
    await page.locator('#btnPay').waitFor();
    await page.locator('#btnPay').click();
    await page.locator('#btnPay', { hasText: '确认支付' }).click();
    await page.locator('.status-head.st-PA').waitFor({ timeout: 15000 });
    assert.match(await page.locator('.ticket .t-seat').first().innerText(), /05车01A/);
    code = (await page.locator('.ticket .t-code').first().innerText()).trim();
    assert.equal(code.length, 26);
    await shots(page, 'm2-train-ticket');
  });

  it('the store sees the sold segments of that run, and checks the ticket in', async () => {
    await page.setViewportSize(DESKTOP);
    await page.goto(`${server.base}/web/store.html#trains`);
    await page.locator('.page-trains tbody tr', { hasText: 'G7' }).locator('[data-sales]').click();
    await dialog().locator('#selRun').selectOption({ label: tomorrow() });
    await dialog().locator('.occ-row .seg.sold').first().waitFor();
    assert.equal(await dialog().locator('.occ-row .seg.sold').count(), 3, 'one seat, three segments');
    await shots(page, 'store-train-sales');
    await dialog().locator('.jdy-x').click();
    await page.locator('#nav a[data-page=checkin]').click();
    await page.locator('#code').fill(code);
    await page.locator('#fCheckin [type=submit]').click();
    await page.locator('.ck-result .ok .big', { hasText: '可以入场' }).waitFor();
  });
});

describe('QR login: the phone confirms, the desktop gets its own session', () => {
  let server;
  let desktop;
  let phone;

  before(async () => {
    server = await startServer();
    desktop = await launch();
    phone = await launch();
  });

  after(async () => {
    await desktop?.close();
    await phone?.close();
    await server?.stop();
  });

  it('logs the desktop in once the logged-in phone confirms the scanned request', async () => {
    const d = await newPage(desktop.context);
    await d.setViewportSize(DESKTOP);
    await d.goto(`${server.base}/`);
    await d.locator('#toQrLogin').click();
    await d.locator('#qrImg[data-qr]').waitFor({ state: 'attached' });
    await d.locator('#qrState', { hasText: '等待手机确认' }).waitFor();
    assert.ok(await imageLoaded(d, '#qrImg'), 'a real QR image');
    const qr = await d.locator('#qrImg').getAttribute('data-qr');
    await shots(d, 'qr-login');
    // The phone "scans" the code: it opens the confirm page, logs in on the way, confirms.
    const p = await newPage(phone.context);
    await p.setViewportSize(PHONE);
    await p.goto(`${server.base}/m2/#qr/${qr}`);
    await p.locator('.login').waitFor();
    await p.locator('#fCode [name=phone]').fill('13855556666');
    await p.locator('#btnGenCode').click();
    await seeToast(p, '验证码');
    await p.locator('#fCode [type=submit]').click();
    await p.locator('#fInfo').waitFor();
    await p.locator('#skip').click();
    await p.locator('#btnQrOk').click();
    await p.locator('#qrDone').waitFor();
    // The desktop continues to the user app, logged in as that buyer.
    await d.waitForURL(/\/m2\/#home/, { timeout: 10000 });
    await d.locator('.hero .hi').waitFor();
    assert.match(await d.locator('.hero .hi').innerText(), /6666/);
    assert.deepEqual(d.problems, []);
    assert.deepEqual(p.problems, []);
  });
});
