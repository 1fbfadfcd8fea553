/**
 * Quiet, honest output: `faceinv <command>` prints at most one engine line before its own
 * output, never a third-party build path (Dawn's "Couldn't load Vulkan … BackendVk.cpp:368" from the
 * machine the npm `webgpu` package was built on); the probe trail comes with --verbose only.
 */
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { takeVerbose } from '../../../daemon/cli/main';
import { cleanNativeMessages, probeWebgpu } from '../../../daemon/tfjs/backend';

const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const CLI = path.join(ROOT, 'bin', 'faceinv.js');
const DAWN = `Warning: Couldn't load Vulkan: libvulkan.so.1: cannot open shared object file: No such file or directory
    at operator() (/home/runner/work/node-webgpu/node-webgpu/third_party/dawn/src/dawn/native/vulkan/BackendVk.cpp:368)

`;
const BUILD_PATH = /\/home\/runner|BackendVk\.cpp|third_party\/dawn/;

function faceinv(args: string[], cwd: string): { stdout: string; stderr: string; status: number | null } {
  const env = { ...process.env };
  delete env.FACEINV_VERBOSE;
  delete env.FACEINV_BACKEND;
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, env, encoding: 'utf8', timeout: 120_000 });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

describe('CLI output: one engine line, no third-party build paths', function () {
  this.timeout(180_000);
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'faceinv-quiet-'));
    fs.writeFileSync(path.join(tmp, 'bad.faceinv-run.json'), JSON.stringify({ name: 'bad', encoder: 'arcface512-faceplugin', route: 'blackbox', dataset: { path: 'nope' } }));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('reduces a native library\'s stderr to its message', () => {
    assert.deepEqual(cleanNativeMessages(DAWN), ["Couldn't load Vulkan: libvulkan.so.1: cannot open shared object file: No such file or directory"]);
    assert.deepEqual(cleanNativeMessages('Error: bad thing at C:\\\\build\\\\x\\\\y.cc:12\nError: bad thing at C:\\\\build\\\\x\\\\y.cc:12\n'), ['bad thing at']);
  });

  it('the WebGPU probe answers from a child process: its Dawn output is captured, without build paths', async () => {
    const probe = await probeWebgpu();
    assert.doesNotMatch(probe.detail, BUILD_PATH);
    if (!probe.ok) assert.match(probe.detail, /adapter|Dawn|webgpu/);
  });

  it('a computing command prints exactly one engine line and then its own output (and error, once)', () => {
    const r = faceinv(['train', 'bad.faceinv-run.json'], tmp);
    assert.equal(r.status, 1);
    const lines = r.stderr.split('\n').filter(Boolean);
    assert.equal(lines.filter((l) => /^engine:/.test(l)).length, 1, r.stderr);
    assert.match(lines[0], /^engine: (wasm|webgpu|tensorflow|tensorflow-gpu) \(.+; auto\) — --verbose shows the probe$/);
    assert.doesNotMatch(r.stderr, BUILD_PATH);
    assert.doesNotMatch(r.stderr, /Couldn't load Vulkan/);
    assert.equal(lines.filter((l) => /dataset folder .* does not exist/.test(l)).length, 1, 'the failure once');
  });

  it('--verbose shows the probe trail, still without build paths', () => {
    const r = faceinv(['train', '--verbose', 'bad.faceinv-run.json'], tmp);
    const engine = r.stderr.split('\n').filter((l) => /^engine:/.test(l));
    assert.ok(engine.length >= 3, r.stderr);
    assert.ok(engine.some((l) => /^engine: webgpu: /.test(l)), r.stderr);
    assert.doesNotMatch(r.stderr, BUILD_PATH);
  });

  it('commands that do not compute print no engine line', () => {
    for (const args of [['help'], ['help', 'train'], ['status', '--connection-file', path.join(tmp, 'none.json')]]) {
      const r = faceinv(args, tmp);
      assert.doesNotMatch(r.stdout + r.stderr, /^engine:/m, args.join(' '));
    }
  });

  it('the daemon log names the engine in one line; the probe trail only with --verbose', async () => {
    const start = (extra: string[]) => new Promise<string>((resolve, reject) => {
      const env = { ...process.env };
      delete env.FACEINV_VERBOSE;
      const child = spawn(process.execPath, [CLI, 'daemon', '--workspace', tmp, '--connection-file', path.join(tmp, `d${extra.length}.json`), ...extra], { cwd: tmp, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      child.stderr.on('data', (d) => { err += String(d); });
      child.stdout.on('data', (d) => { if (String(d).includes('FACEINV_READY')) child.kill('SIGTERM'); });
      child.on('error', reject);
      child.on('close', () => resolve(err));
    });
    const plain = await start([]);
    const engine = plain.split('\n').filter((l) => /\] (info|debug): engine:/.test(l));
    assert.equal(engine.length, 1, plain);
    assert.match(engine[0], /info: engine: \w+ \(/);
    assert.doesNotMatch(plain, BUILD_PATH);
    const verbose = await start(['--verbose']);
    assert.ok(verbose.split('\n').filter((l) => /debug: engine: /.test(l)).length >= 3, verbose);
    assert.doesNotMatch(verbose, BUILD_PATH);
  });

  it('takes --verbose off the command line anywhere before "--"', () => {
    assert.deepEqual(takeVerbose(['train', '--verbose', 'a.json']), { verbose: true, rest: ['train', 'a.json'] });
    assert.deepEqual(takeVerbose(['-v', 'status']), { verbose: true, rest: ['status'] });
    assert.deepEqual(takeVerbose(['run', 'x', '--', '--verbose']), { verbose: false, rest: ['run', 'x', '--', '--verbose'] });
  });
});
