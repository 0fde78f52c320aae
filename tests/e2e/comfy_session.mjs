// A real, CPU-only ComfyUI on 127.0.0.1 with this repository linked in as a custom node pack, opened in
// Debian's chromium through playwright-core. Shared by run_e2e.mjs (the MaskHints editor test) and
// screenshots.mjs (the README's workflow pictures). See README.md beside this file.
//
// Environment: COMFY_HOME (folder with ComfyUI/ and venv/, default ../comfy beside the repository),
// CHROMIUM (default /usr/bin/chromium).
import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const PACK = "comfyui-3d-cinemagraph";
const COMFY_HOME = resolve(process.env.COMFY_HOME ?? join(REPO, "..", "comfy"));
/** ComfyUI's own python (its venv has Pillow). */
export const COMFY_PYTHON = join(COMFY_HOME, "venv", "bin", "python");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

export const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

/** GET `url` and parse the JSON answer; throws on an HTTP error. */
export async function getJson(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.json();
}

function freePort() {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

/**
 * Start ComfyUI with a private input/output/user/temp tree under `tmp` and this pack linked in; `settings`
 * are added to the user's comfy.settings.json.
 */
async function startComfy(tmp, settings, log) {
  const comfy = join(COMFY_HOME, "ComfyUI");
  for (const path of [join(comfy, "main.py"), COMFY_PYTHON]) {
    if (!existsSync(path)) {
      throw new Error(`${path} not found: install ComfyUI with ../shared/tools/install_comfyui.sh or set COMFY_HOME`);
    }
  }
  for (const d of ["input", "output", "user/default", "temp", "custom_nodes"]) mkdirSync(join(tmp, d), { recursive: true });
  // A returning user: no template gallery over the canvas.
  writeFileSync(join(tmp, "user", "default", "comfy.settings.json"),
    JSON.stringify({ "Comfy.TutorialCompleted": true, ...settings }));
  symlinkSync(REPO, join(tmp, "custom_nodes", PACK));
  cpSync(join(REPO, "workflows", "inputs"), join(tmp, "input"), { recursive: true });
  const yaml = join(tmp, "extra_paths.yaml");
  writeFileSync(yaml, `e2e:\n    custom_nodes: ${JSON.stringify(join(tmp, "custom_nodes"))}\n`);
  const port = await freePort();
  const args = ["-u", "main.py", "--cpu", "--listen", "127.0.0.1", "--port", String(port),
    "--input-directory", join(tmp, "input"), "--output-directory", join(tmp, "output"),
    "--user-directory", join(tmp, "user"), "--temp-directory", join(tmp, "temp"),
    "--database-url", `sqlite:///${join(tmp, "comfyui.db")}`, "--extra-model-paths-config", yaml,
    "--disable-auto-launch", "--disable-api-nodes"];
  const chunks = [];
  const proc = spawn(COMFY_PYTHON, args, { cwd: comfy, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  proc.stdout.on("data", (d) => chunks.push(d));
  proc.stderr.on("data", (d) => chunks.push(d));
  const url = `http://127.0.0.1:${port}`;
  const serverLog = () => Buffer.concat(chunks).toString();
  const stop = () => {
    try {
      process.kill(-proc.pid, "SIGTERM");
    } catch {
      // already gone
    }
  };
  const deadline = Date.now() + 300_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) break;
    try {
      await getJson(`${url}/system_stats`);
      log(`ComfyUI answers on ${url}`);
      return { url, stop, serverLog };
    } catch {
      await sleep(500);
    }
  }
  stop();
  throw new Error(`ComfyUI did not start:\n${serverLog().slice(-3000)}`);
}

/**
 * Start ComfyUI, open it in chromium and wait until the frontend is ready and knows this pack's nodes.
 * `settings`: frontend settings (comfy.settings.json entries) of the fresh user. Returns { url, page, errors: { page, console, http }, close(serverLogPath) }; close() ends the browser
 * and the server, writes the server log to `serverLogPath` and removes the private folders.
 */
export async function openComfy({ viewport = { width: 1600, height: 1000 }, deviceScaleFactor = 1, settings = {},
  log = console.log } = {}) {
  const tmp = mkdtempSync(join(tmpdir(), "cinemagraph-e2e-"));
  let server = null;
  let browser = null;
  const close = async (serverLogPath) => {
    if (browser) await browser.close();
    if (server) {
      server.stop();
      await sleep(1000);
      if (serverLogPath) writeFileSync(serverLogPath, server.serverLog());
    }
    rmSync(tmp, { recursive: true, force: true });
  };
  try {
    server = await startComfy(tmp, settings, log);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS, headless: true });
    const errors = { page: [], console: [], http: [] };
    const page = await browser.newPage({ viewport, deviceScaleFactor });
    page.on("console", (m) => {
      if (m.type() === "error") errors.console.push(`${m.text()} ${m.location()?.url ?? ""}`);
    });
    page.on("response", (r) => {
      if (r.status() >= 400) errors.http.push(`${r.status()} ${r.url()}`);
    });
    page.on("pageerror", (e) => errors.page.push(String(e)));
    await page.goto(server.url, { waitUntil: "load" });
    await page.waitForFunction(() => window.app?.graph && window.app.vueAppReady, null, { timeout: 120_000 });
    await page.waitForFunction(() => window.LiteGraph?.registered_node_types?.MaskHints, null, { timeout: 60_000 });
    return { url: server.url, page, errors, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** Open a workflow file as the frontend's Workflow > Open does (app.loadGraphData). */
export async function loadWorkflow(page, path) {
  const workflow = JSON.parse(readFileSync(path, "utf8"));
  await page.evaluate(async ([wf, name]) => {
    await window.app.loadGraphData(wf, true, true, name);
  }, [workflow, basename(path)]);
}

/**
 * Call `queue()` (which queues a prompt, e.g. by pressing Ctrl+Enter) and poll `/history` until that
 * prompt has finished or `timeoutS` has passed. Returns its history entry (null on a timeout).
 */
export async function runAndWait(url, queue, timeoutS) {
  const before = Object.keys(await getJson(`${url}/history`));
  await queue();
  const deadline = Date.now() + timeoutS * 1000;
  while (Date.now() < deadline) {
    const history = await getJson(`${url}/history`);
    const promptId = Object.keys(history).find((k) => !before.includes(k));
    const entry = promptId ? history[promptId] : null;
    if (entry?.status?.completed || entry?.status?.status_str === "error") return entry;
    await sleep(2000);
  }
  return null;
}
