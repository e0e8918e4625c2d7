// harness.js: what every browser test needs: the real server on a free port with a fresh database, a plain HTTP
// client for setting up data (execSql in test mode, logins per app type), headless Chromium (Debian's
// /usr/bin/chromium driven by playwright-core) and screenshots at phone and desktop width.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import zlib from 'node:zlib';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(here, '../../..');
export const SHOTS = path.resolve(here, '../screenshots');

export const PHONE = { width: 375, height: 812 };
export const DESKTOP = { width: 1366, height: 900 };
export const ADMIN = { uname: 'admin', pwd: 'admin123' };

/** The server binary: `JDY_BIN`, else the debug build under `CARGO_TARGET_DIR` or `target/`. */
function serverBin() {
  if (process.env.JDY_BIN) return process.env.JDY_BIN;
  const targetDir = process.env.CARGO_TARGET_DIR || path.join(REPO, 'target');
  const bin = path.join(targetDir, 'debug', 'jindouyun');
  if (!existsSync(bin)) throw new Error(`server binary ${bin} not found: run \`cargo build\` (tools/browser-test does)`);
  return bin;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export function md5(s) {
  return createHash('md5').update(s).digest('hex');
}

/**
 * Starts the server with a temp database in test mode. Returns `{base, api(app), stop()}`; `api(app)` is a
 * client with its own cookie jar for that `_app`.
 */
export async function startServer() {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'jdy-browser-'));
  const env = {
    ...process.env,
    P_ADDR: `127.0.0.1:${port}`,
    P_DB: path.join(dir, 'jdy.db'),
    P_TEST_MODE: '1',
    P_ADMIN_CRED: `${ADMIN.uname}:${ADMIN.pwd}`,
    P_WEB_ROOT: REPO,
    P_DESIGN: process.env.JDY_DESIGN || path.join(REPO, 'design/DESIGN.md'),
    P_DEMO: '0',
    RUST_LOG: process.env.JDY_SERVER_LOG || 'error',
  };
  const proc = spawn(serverBin(), [], { cwd: dir, env, stdio: ['ignore', 'inherit', 'inherit'] });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`server exited with ${proc.exitCode}`);
    try {
      const r = await fetch(`${base}/api/initClient`);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('server did not start within 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  const server = {
    base,
    dir,
    api: (app) => new Client(base, app),
    async stop() {
      proc.kill('SIGTERM');
      await new Promise((r) => {
        if (proc.exitCode !== null) return r();
        const t = setTimeout(() => {
          proc.kill('SIGKILL');
          r();
        }, 5000);
        proc.on('exit', () => {
          clearTimeout(t);
          r();
        });
      });
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}

/** A protocol client for one `_app` with a cookie jar; `call` resolves with `[code, data|msg, ...]`. */
export class Client {
  constructor(base, app) {
    this.base = base;
    this.app = app;
    this.cookies = new Map();
  }

  async call(ac, params = {}, data) {
    const q = new URLSearchParams({ _app: this.app, ...params });
    const opt = { method: data ? 'POST' : 'GET', headers: {} };
    if (data) {
      opt.body = new URLSearchParams(data);
    }
    if (this.cookies.size) opt.headers.Cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const r = await fetch(`${this.base}/api/${ac}?${q}`, opt);
    for (const c of r.headers.getSetCookie()) {
      const [kv] = c.split(';');
      const i = kv.indexOf('=');
      this.cookies.set(kv.slice(0, i), kv.slice(i + 1));
    }
    return JSON.parse(await r.text());
  }

  /** A call with a JSON body (for sub-objects such as `atts: [{attId}]`); resolves with the data. */
  async json(ac, params, obj) {
    const headers = { 'Content-Type': 'application/json' };
    if (this.cookies.size) headers.Cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const r = await fetch(`${this.base}/api/${ac}?${new URLSearchParams({ _app: this.app, ...params })}`, { method: 'POST', headers, body: JSON.stringify(obj) });
    const ret = JSON.parse(await r.text());
    if (ret[0] !== 0) throw new Error(`${ac} failed: ${JSON.stringify(ret)}`);
    return ret[1];
  }

  /** Like `call` but resolves with the data and throws on an error reply. */
  async ok(ac, params, data) {
    const ret = await this.call(ac, params, data);
    if (ret[0] !== 0) throw new Error(`${ac} failed: ${JSON.stringify(ret)}`);
    return ret[1];
  }

  /** `upload(genThumb=1)` of one PNG; resolves with the first uploaded file's `{id, thumbId, ...}`. */
  async upload(png, name = 'pic.png') {
    const fd = new FormData();
    fd.append('file', new Blob([png], { type: 'image/png' }), name);
    const q = new URLSearchParams({ _app: this.app, genThumb: 1 });
    const headers = {};
    if (this.cookies.size) headers.Cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const r = await fetch(`${this.base}/api/upload?${q}`, { method: 'POST', body: fd, headers });
    const ret = JSON.parse(await r.text());
    if (ret[0] !== 0) throw new Error(`upload failed: ${JSON.stringify(ret)}`);
    return Array.isArray(ret[1]) ? ret[1][0] : ret[1];
  }

  sql(sql) {
    return this.ok('execSql', {}, { sql });
  }
}

/** Headless Chromium with a fresh profile directory. Returns a persistent context; `close()` removes the profile. */
export async function launch() {
  const profile = mkdtempSync(path.join(tmpdir(), 'jdy-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', '--lang=zh-CN',
    ],
    viewport: PHONE,
    locale: 'zh-CN',
  });
  context.setDefaultTimeout(10000);
  const close = async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  };
  return { context, close };
}

/**
 * A new tab that fails the test on any page error or console error (other than expected failed loads),
 * with `problems` listing them.
 */
export async function newPage(context) {
  const page = await context.newPage();
  page.problems = [];
  page.on('pageerror', (e) => page.problems.push(`pageerror: ${e.message}`));
  page.on('dialog', (d) => {
    page.problems.push(`unexpected ${d.type()}: ${d.message()}`);
    d.dismiss();
  });
  return page;
}

/** Saves `screenshots/{name}-phone.png` and `-desktop.png` of the current view, then restores the viewport. */
export async function shots(page, name) {
  mkdirSync(SHOTS, { recursive: true });
  const before = page.viewportSize();
  // Toasts of earlier steps would cover the page; the flows check them, the pictures need not show them.
  await page.evaluate(() => document.querySelectorAll('.jdy-toast').forEach((t) => t.remove()));
  for (const [tag, vp] of [['phone', PHONE], ['desktop', DESKTOP]]) {
    await page.setViewportSize(vp);
    await page.waitForTimeout(150);
    await page.screenshot({ path: path.join(SHOTS, `${name}-${tag}.png`), fullPage: false });
  }
  await page.setViewportSize(before);
}

/** Waits for a toast containing `text` (a string or RegExp). */
export async function seeToast(page, text) {
  await page.locator('.jdy-toast', { hasText: text }).first().waitFor({ state: 'visible' });
}

/**
 * Ends the browser's session of an app type behind the page's back, the way an expired or revoked login looks
 * to the page: the session rows are deleted (execSql, test mode) and the browser's token is revoked with a
 * `logout` made outside the browser (the server caches sessions in memory, so deleting rows alone is not seen
 * at once). Both the cookie and the token saved in localStorage stop working.
 */
/** True once the first image matching `selector` has loaded with a width over `minWidth` (false after
 *  10 s): waited for, not read once, since on a busy machine the image may still be on its way. */
export async function imageLoaded(page, selector, minWidth = 100) {
  return page
    .waitForFunction(
      ([sel, w]) => {
        const img = document.querySelector(sel);
        return !!img && img.complete && img.naturalWidth > w;
      },
      [selector, minWidth],
      { timeout: 10000 },
    )
    .then(() => true, () => false);
}

export async function expireSessions(server, context, appType) {
  const name = `${appType}id`;
  const cookie = (await context.cookies(server.base)).find((c) => c.name === name);
  if (cookie) {
    const other = server.api(appType);
    other.cookies.set(name, cookie.value);
    await other.call('logout', {}, {});
  }
  await server.api('admin').sql(`DELETE FROM Session WHERE appType='${appType}'`);
}

/** A solid-colour PNG of `w`×`h` pixels (a real image for upload tests, made without any image library). */
export function makePng(w = 64, h = 48, rgb = [47, 111, 237]) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const rows = [];
  for (let y = 0; y < h; y += 1) {
    rows.push(Buffer.from([0]));
    const row = Buffer.alloc(w * 3);
    for (let x = 0; x < w; x += 1) row.set(x < w / 2 ? rgb : [255, 255, 255], x * 3);
    rows.push(row);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
