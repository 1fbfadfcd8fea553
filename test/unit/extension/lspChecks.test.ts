/** The config language server's checks (daemon/lsp/checks.ts) and its JSON position parser, under plain Node. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkConfigText, CheckEnv, configKindOf, escapeMarkdown, generatorFixes, hoverText } from '../../../daemon/lsp/checks';
import { judgeRoute, type RouteRequest } from '../../../daemon/encoders/judge';
import type { EncoderConfig } from '../../../daemon/protocol/encoderConfig';
import { nodeAt, parseJsonTree, positionAt, toValue } from '../../../daemon/lsp/jsonTree';
import { clearShapeCache, shapeCacheSize } from '../../../daemon/lsp/modelShapes';

const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const LFW = path.resolve(ROOT, '..', 'shared', 'data', 'lfw');
const ARCFACE = JSON.parse(fs.readFileSync(path.join(ROOT, 'models', 'encoders', 'arcface512-faceplugin.json'), 'utf8')) as Record<string, unknown>;

describe('config language server: JSON tree', () => {
  it('parses with spans and pointers', () => {
    const text = '{\n  "a": { "b": [1, "x", true, null] },\n  "c": -1.5e2\n}';
    const r = parseJsonTree(text);
    assert.ok(r.ok);
    const { node } = nodeAt(r.root, '/a/b/1');
    assert.equal(text.slice(node.start, node.end), '"x"');
    assert.deepEqual(positionAt(text, node.start), { line: 1, character: 18 });
    const c = nodeAt(r.root, '/c').node;
    assert.equal(c.type === 'number' && c.value, -150);
    assert.equal(nodeAt(r.root, '/a/missing').exact, false);
  });
  it('reports syntax errors with offsets instead of throwing', () => {
    for (const [text, re] of [['{"a": }', /expected a JSON value/], ['{"a": 1,}', /trailing comma/], ['{"a" 1}', /expected ':'/], ['[1, 2', /expected ','/], ['', /end of file/], ['{"a": "x\n"}', /control character/], ['{} x', /after the end/]] as const) {
      const r = parseJsonTree(text);
      assert.equal(r.ok, false, text);
      if (!r.ok) { assert.match(r.error.message, re, text); assert.ok(r.error.offset <= text.length); }
    }
    const deep = '['.repeat(100_000);
    const r = parseJsonTree(deep);
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.error.message, /nesting deeper/);
  });
  it('agrees with JSON.parse on valid input', () => {
    const v = { s: 'é\u0001"\\/', n: [0, -0.5, 1e21], t: true, f: false, z: null, o: { __proto__x: 1 } };
    const text = JSON.stringify(v);
    const r = parseJsonTree(text);
    assert.ok(r.ok);
    if (r.ok) assert.deepEqual(toValue(r.root), JSON.parse(text));
  });
});

describe('config language server: checks', () => {
  let tmp: string;
  let env: CheckEnv;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'faceinv-lsp-'));
    env = { repoRoot: ROOT, workspaceDirs: [tmp], lfwCandidates: () => [LFW] };
    fs.mkdirSync(path.join(tmp, 'data', 'alice'), { recursive: true });
    fs.writeFileSync(path.join(tmp, 'data', 'alice', 'a.jpg'), 'not really a jpeg');
    fs.mkdirSync(path.join(tmp, 'empty'));
    // Own fixtures for the route checks, so they do not depend on what the shipped configs declare.
    const blind = { ...ARCFACE, id: 'blind-box', known: { architecture: false, weights: false, differentiable: false } };
    const open = { ...ARCFACE, id: 'open-box', known: { architecture: true, weights: true, differentiable: true } };
    fs.writeFileSync(path.join(tmp, 'blind.faceinv-encoder.json'), JSON.stringify(blind));
    fs.writeFileSync(path.join(tmp, 'open.faceinv-encoder.json'), JSON.stringify(open));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('knows config kinds by file name', () => {
    assert.equal(configKindOf('/w/x.faceinv-encoder.json'), 'encoder');
    assert.equal(configKindOf('/w/x.faceinv-run.json'), 'run');
    assert.equal(configKindOf(path.join(ROOT, 'models', 'encoders', 'a.json')), 'encoder');
    assert.equal(configKindOf('/w/models/experiments/a.json'), 'run');
    assert.equal(configKindOf('/w/package.json'), undefined);
  });

  it('a JSON syntax error is one diagnostic, no crash', async () => {
    const text = '{ "name": "x", "encoder": ';
    const d = await checkConfigText(path.join(tmp, 'a.faceinv-run.json'), text, env);
    assert.equal(d.length, 1);
    assert.equal(d[0].code, 'json-syntax');
    assert.equal(d[0].start, text.length);
  });

  it('the shipped encoder configs check clean against their real models', async function () {
    this.timeout(30_000);
    for (const f of fs.readdirSync(path.join(ROOT, 'models', 'encoders'))) {
      const file = path.join(ROOT, 'models', 'encoders', f);
      const d = await checkConfigText(file, fs.readFileSync(file, 'utf8'), { ...env, workspaceDirs: [ROOT] });
      assert.deepEqual(d, [], f);
    }
  });

  it('the shipped run configs check clean', async () => {
    for (const f of fs.readdirSync(path.join(ROOT, 'models', 'experiments'))) {
      const file = path.join(ROOT, 'models', 'experiments', f);
      const d = await checkConfigText(file, fs.readFileSync(file, 'utf8'), { ...env, workspaceDirs: [ROOT] });
      assert.deepEqual(d, [], f);
    }
  });

  it('a missing model file and a wrong shape are reported where they are', async () => {
    const missing = { ...ARCFACE, id: 'x', model: { path: 'nope/model.onnx' } };
    const text1 = JSON.stringify(missing, null, 2);
    const d1 = await checkConfigText(path.join(tmp, 'x.faceinv-encoder.json'), text1, env);
    assert.equal(d1.length, 1);
    assert.equal(d1[0].code, 'model-missing');
    assert.equal(text1.slice(d1[0].start, d1[0].end), '"nope/model.onnx"');
    const modelPath = path.join(ROOT, 'node_modules', 'faceplugin-face-recognition-js', 'model', 'fr_feature.onnx');
    const wrong = { ...ARCFACE, id: 'y', model: { path: modelPath }, inputSize: 128, embeddingDim: 256 };
    clearShapeCache();
    const d2 = await checkConfigText(path.join(tmp, 'y.faceinv-encoder.json'), JSON.stringify(wrong, null, 2), env);
    assert.deepEqual(d2.map((d) => d.code).sort(), ['shape-mismatch', 'shape-mismatch']);
    assert.ok(d2.some((d) => /\[1, 3, 112, 112\]/.test(d.message)), d2.map((d) => d.message).join('\n'));
    assert.ok(d2.some((d) => /embeddings of 512, not 256/.test(d.message)));
    const nhwc = { ...ARCFACE, id: 'z', model: { path: modelPath }, layout: 'NHWC' };
    const d3 = await checkConfigText(path.join(tmp, 'z.faceinv-encoder.json'), JSON.stringify(nhwc), env);
    assert.equal(d3.length, 1);
    assert.match(d3[0].message, /looks NCHW/);
    assert.equal(shapeCacheSize(), 1, 'the model was read once and cached by mtime');
  });

  it('an unreadable or corrupt model is reported, not thrown', async () => {
    const bad = path.join(tmp, 'bad.onnx');
    fs.writeFileSync(bad, 'this is not protobuf');
    const d = await checkConfigText(path.join(tmp, 'b.faceinv-encoder.json'), JSON.stringify({ ...ARCFACE, id: 'b', model: { path: bad } }), env);
    assert.equal(d.length, 1);
    assert.equal(d[0].code, 'model-unreadable');
  });

  it('run configs: unknown encoder, missing/empty dataset, white box on a non-differentiable encoder', async () => {
    const file = path.join(tmp, 'r.faceinv-run.json');
    const codes = async (v: object) => (await checkConfigText(file, JSON.stringify(v, null, 2), env)).map((d) => d.code).sort();
    assert.deepEqual(await codes({ name: 'r', encoder: 'arcface512-faceplugin', dataset: { path: 'data' } }), []);
    assert.deepEqual(await codes({ name: 'r', encoder: 'no-such' }), ['encoder-unknown']);
    assert.deepEqual(await codes({ name: 'r', encoder: 'arcface512-faceplugin', dataset: { path: 'missing' } }), ['dataset-missing']);
    assert.deepEqual(await codes({ name: 'r', encoder: 'arcface512-faceplugin', dataset: { path: 'empty' } }), ['dataset-empty']);
    assert.deepEqual(await codes({ name: 'r', encoder: 'blind-box', route: 'whitebox', dataset: { path: 'data' } }), ['whitebox-not-differentiable']);
    assert.deepEqual(await codes({ name: 'r', encoder: 'open-box', route: 'whitebox', dataset: { path: 'data' } }), []);
    assert.deepEqual(await codes({ name: 'r', encoder: 'blind-box', route: 'auto', dataset: { path: 'data' } }), [], 'auto falls back to black box');
    assert.deepEqual(await codes({ name: 'r', encoder: 'arcface512-faceplugin', dataset: { path: 'data' }, evaluation: { encoders: ['ghost'] } }), ['encoder-unknown']);
    // A workspace encoder config is known by its id.
    fs.writeFileSync(path.join(tmp, 'mine.faceinv-encoder.json'), JSON.stringify({ ...ARCFACE, id: 'mine' }));
    assert.deepEqual(await codes({ name: 'r', encoder: 'mine', dataset: { path: 'data' } }), []);
    // Schema problems are errors of ours too (VS Code's check follows $schema, which a copied file breaks).
    assert.deepEqual([...new Set(await codes({ name: 'bad name!', encoder: 'x' }))], ['config-schema']);
  });

  it('a copied config whose $schema path no longer resolves still gets its schema errors, as errors', async () => {
    const text = JSON.stringify({ $schema: '../schemas/run.schema.json', name: 'copied', encoder: 'arcface512-faceplugin', dataset: { path: 'data' }, search: { queries: -5 } }, null, 2);
    const d = await checkConfigText(path.join(tmp, 'elsewhere', 'copied.faceinv-run.json'), text, env);
    const q = d.find((x) => x.code === 'config-schema');
    assert.ok(q, JSON.stringify(d));
    assert.equal(q.severity, 'error');
    assert.match(q.message, /^\/search\/queries: .*>= 1/);
    assert.equal(text.slice(q.start, q.end), '-5', 'the diagnostic sits on the value');
    const enc = await checkConfigText(path.join(tmp, 'elsewhere', 'e.faceinv-encoder.json'), JSON.stringify({ ...ARCFACE, id: 'e', $schema: '../schemas/encoder.schema.json', inputSize: 0 }), env);
    assert.deepEqual(enc.map((x) => [x.code, x.severity]), [['config-schema', 'error']], JSON.stringify(enc));
    const audit = await checkConfigText(path.join(tmp, 'elsewhere', 'a.faceinv-audit.json'), JSON.stringify({ name: 'a', encoder: 'arcface512-faceplugin', templates: 't.npy', budget: 0 }), env);
    assert.ok(audit.some((x) => x.code === 'config-schema' && x.severity === 'error' && /budget/.test(x.message)), JSON.stringify(audit));
  });

  it('checks the dataset as the editor\'s daemon will: its LFW setting first, its data roots', async () => {
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'faceinv-outside-'));
    try {
      fs.mkdirSync(path.join(outside, 'bob'), { recursive: true });
      fs.writeFileSync(path.join(outside, 'bob', 'b.jpg'), 'x');
      const file = path.join(tmp, 'd.faceinv-run.json');
      const check = async (e: CheckEnv, ds: string) => (await checkConfigText(file, JSON.stringify({ name: 'd', encoder: 'arcface512-faceplugin', dataset: { path: ds } }), e)).map((d) => [d.code, d.message]);
      const noLfw = { ...env, lfwCandidates: () => [path.join(outside, 'nowhere')] };
      const missing = await check({ ...noLfw, dataset: { lfw: '', dataRoots: [] } }, 'lfw');
      assert.equal(missing[0][0], 'dataset-missing');
      assert.match(missing[0][1], /Choose Dataset Folder/);
      assert.deepEqual(await check({ ...noLfw, dataset: { lfw: outside, dataRoots: [] } }, 'lfw'), [], 'the LFW setting is looked at first');
      const refused = await check({ ...env, dataset: { lfw: '', dataRoots: [] } }, outside);
      assert.equal(refused[0]?.[0], 'dataset-outside-roots', JSON.stringify(refused));
      assert.match(refused[0][1], /faceInversion\.dataset\.dataRoots/);
      assert.deepEqual(await check({ ...env, dataset: { lfw: '', dataRoots: [outside] } }, outside), []);
      assert.deepEqual(await check(env, outside), [], 'without the editor\'s settings (a CLI user\'s daemon) no roots are assumed');
    } finally {
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });

  it('LFW default: present → fine', async function () {
    if (!fs.existsSync(LFW)) { console.log(`      (skipped: LFW not at ${LFW})`); this.skip(); }
    const d = await checkConfigText(path.join(tmp, 'l.faceinv-run.json'), JSON.stringify({ name: 'l', encoder: 'arcface512-faceplugin' }), env);
    assert.deepEqual(d, []);
  });

  it('hover on the encoder field shows the resolved encoder, shapes and route', async () => {
    const text = JSON.stringify({ name: 'r', encoder: 'blind-box', route: 'auto' }, null, 2);
    const md = await hoverText(path.join(tmp, 'h.faceinv-run.json'), text, text.indexOf('blind-box') + 2, env);
    assert.ok(md);
    assert.match(md, /fr_feature\.onnx/);
    assert.match(md, /input \[1, 3, 112, 112\]/);
    assert.match(md, /blind\.faceinv-encoder\.json/);
    assert.match(md, /route: \*\*blackbox\*\* \(auto: encoder "blind-box" declares its architecture unknown/);
    const t1 = text.replace('blind-box', 'open-box');
    assert.match((await hoverText(path.join(tmp, 'h.faceinv-run.json'), t1, t1.indexOf('open-box') + 2, env)) ?? '', /route: \*\*whitebox\*\*/);
    assert.equal(await hoverText(path.join(tmp, 'h.faceinv-run.json'), text, text.indexOf('"name"') + 1, env), undefined);
    const t2 = JSON.stringify({ name: 'r', encoder: 'x', evaluation: { encoders: ['human-faceres'] } });
    assert.match((await hoverText(path.join(tmp, 'h.faceinv-run.json'), t2, t2.indexOf('human-faceres') + 1, env)) ?? '', /global_pooling\/Mean \[1, 1024\]/);
  });
  it('an encoder file that exists but is invalid is named as invalid, with its problems, wherever its id is used', async () => {
    fs.writeFileSync(path.join(tmp, 'wonky.faceinv-encoder.json'), JSON.stringify({ ...ARCFACE, id: 'wonky', normalization: { mean: [0, 0, 0], std: [1, 0, 1] } }));
    fs.mkdirSync(path.join(tmp, 'models', 'encoders'), { recursive: true });
    fs.writeFileSync(path.join(tmp, 'models', 'encoders', 'torn.json'), '{ "id": "torn", ');
    try {
      const file = path.join(tmp, 'i.faceinv-run.json');
      const text = JSON.stringify({ name: 'i', encoder: 'wonky', dataset: { path: 'data' }, evaluation: { encoders: ['wonky', 'torn'] } }, null, 2);
      const d = await checkConfigText(file, text, env);
      assert.deepEqual(d.map((x) => x.code), ['encoder-invalid', 'encoder-invalid', 'encoder-unknown']);
      assert.equal(text.slice(d[0].start, d[0].end), '"wonky"');
      assert.match(d[0].message, /^encoder "wonky" is defined in wonky\.faceinv-encoder\.json, but that file is invalid: \/normalization\/std\/1: division by zero/);
      assert.doesNotMatch(d[0].message, /unknown encoder/);
      assert.match(d[1].message, /^evaluation encoder "wonky" is defined in wonky\.faceinv-encoder\.json, but that file is invalid/);
      // A file whose JSON does not even parse: its id is unknown, but the message names the file and why.
      assert.match(d[2].message, /unknown evaluation encoder "torn" .*this encoder file could not be read: models\/encoders\/torn\.json \(not valid JSON/);
      const md = await hoverText(file, text, text.indexOf('wonky') + 1, env);
      assert.match(md ?? '', /\*\*encoder `wonky`\*\*: is defined in wonky\.faceinv-encoder\.json, but that file is invalid: \/normalization\/std\/1: division by zero/);
    } finally {
      fs.rmSync(path.join(tmp, 'wonky.faceinv-encoder.json'));
      fs.rmSync(path.join(tmp, 'models'), { recursive: true });
    }
  });

  it('the hover\'s route is the daemon judge\'s, for every shipped encoder and the edge cases', async () => {
    const edge: Record<string, unknown>[] = [
      { ...ARCFACE, id: 'cmd-box', format: 'command', model: { command: ['node', 'enc.js'] }, known: { architecture: false, weights: false, differentiable: false } },
      { ...ARCFACE, id: 'arch-unknown', known: { architecture: false, weights: true, differentiable: false } },
      { ...ARCFACE, id: 'weights-unknown', known: { architecture: true, weights: false, differentiable: false } },
    ];
    for (const e of edge) fs.writeFileSync(path.join(tmp, `${e.id}.faceinv-encoder.json`), JSON.stringify(e));
    try {
      const shipped = fs.readdirSync(path.join(ROOT, 'models', 'encoders')).map((f) => JSON.parse(fs.readFileSync(path.join(ROOT, 'models', 'encoders', f), 'utf8')) as EncoderConfig);
      const all = [...shipped, ...(edge as unknown as EncoderConfig[])];
      assert.ok(shipped.length >= 4);
      for (const enc of all) {
        for (const route of ['auto', 'blackbox', 'whitebox'] as RouteRequest[]) {
          const text = JSON.stringify({ name: 'h', encoder: enc.id, route }, null, 2);
          const md = await hoverText(path.join(tmp, 'h.faceinv-run.json'), text, text.indexOf(`"${enc.id}"`) + 2, env) ?? '';
          let want: string;
          try {
            const d = judgeRoute(enc, route);
            want = `route: **${d.route}** (${escapeMarkdown(d.reason)})`;
          } catch (err) {
            want = `route: **cannot start** (${escapeMarkdown((err as Error).message)})`;
          }
          assert.ok(md.endsWith(want), `${enc.id} / ${route}:\n${md}\nwanted …${want}`);
        }
      }
      // The diagnostic for a refused white box is the judge's sentence too.
      const d = await checkConfigText(path.join(tmp, 'r.faceinv-run.json'), JSON.stringify({ name: 'r', encoder: 'arch-unknown', route: 'whitebox', dataset: { path: 'data' } }), env);
      assert.deepEqual(d.map((x) => x.code), ['whitebox-not-differentiable']);
      assert.match(d[0].message, /^white box requested, but encoder "arch-unknown" declares its architecture unknown/);
    } finally {
      for (const e of edge) fs.rmSync(path.join(tmp, `${e.id}.faceinv-encoder.json`));
    }
  });

  it('a borrowed decoder (faceModel.run) that cannot serve is reported, with the finished black-box runs as quick fixes', async () => {
    const meta = (encoderId: string, embeddingDim: number) => ({ kind: 'faceinv-blackbox-decoder', encoderId, embeddingDim, outputSize: 128, template: 'arcface-5pt', inputNormalization: 'l2' });
    const put = (rel: string, v: unknown) => { fs.mkdirSync(path.dirname(path.join(tmp, rel)), { recursive: true }); fs.writeFileSync(path.join(tmp, rel), JSON.stringify(v)); };
    put('runs/bb-512/model/meta.json', meta('open-box', 512));
    put('runs/bb-other/model/meta.json', meta('arcface512-faceplugin', 512));
    put('runs/bb-128/model/meta.json', meta('faceapi-resnet128', 128));
    put('runs/half/run.json', { state: 'running', kind: 'blackbox' });
    put('trainer.faceinv-run.json', { name: 'future', encoder: 'open-box', route: 'blackbox' });
    const file = path.join(tmp, 'w.faceinv-run.json');
    const cfg = (generator?: string, route = 'whitebox') => JSON.stringify({ name: 'w', encoder: 'open-box', route, dataset: { path: 'data' }, ...(generator ? { faceModel: { kind: 'decoder', run: generator } } : {}) }, null, 2);
    const check = async (text: string) => (await checkConfigText(file, text, env)).map((d) => ({ code: d.code, severity: d.severity, message: d.message, span: text.slice(d.start, d.end) }));
    try {
      assert.deepEqual(await check(cfg()), [], 'no borrowed decoder: the run trains its own');
      assert.deepEqual(await check(cfg('runs/bb-512')), []);
      const missing = await check(cfg('runs/nope'));
      assert.deepEqual(missing.map((d) => [d.code, d.severity, d.span]), [['generator-missing', 'error', '"runs/nope"']]);
      assert.match(missing[0].message, /folder .*nope does not exist; finished black-box runs for 512-d embeddings: "runs\/bb-512"$/);
      const half = await check(cfg('runs/half'));
      assert.deepEqual(half.map((d) => d.code), ['generator-not-finished']);
      assert.match(half[0].message, /not a finished black-box run: it holds no finished decoder: no model\/meta\.json \(its run\.json says "running"\)/);
      const dim = await check(cfg('runs/bb-128'));
      assert.deepEqual(dim.map((d) => [d.code, d.severity]), [['generator-mismatch', 'error']]);
      assert.match(dim[0].message, /takes 128-d embeddings \(trained on "faceapi-resnet128"\), but "open-box" produces 512-d ones/);
      const other = await check(cfg('runs/bb-other'));
      assert.deepEqual(other.map((d) => [d.code, d.severity]), [['generator-mismatch', 'error']]);
      assert.match(other[0].message, /trained on "arcface512-faceplugin" templates, but this run attacks "open-box"/);
      const future = await check(cfg('runs/future'));
      assert.deepEqual(future.map((d) => [d.code, d.severity]), [['generator-missing', 'warning']]);
      assert.match(future[0].message, /trainer\.faceinv-run\.json trains it — run that config first/);
      assert.deepEqual((await check(cfg('runs/nope', 'blackbox'))).map((d) => d.code), ['generator-missing'], 'the black box uses the borrowed decoder too');
      // Quick fixes: the runs that fit, the attacked encoder's own first; applying one checks clean.
      const text = cfg('runs/nope');
      const fixes = generatorFixes(file, text, env);
      assert.deepEqual(fixes.map((f) => f.newText), ['"runs/bb-512"']);
      assert.match(fixes[0].title, /Use the finished black-box run "runs\/bb-512" \(open-box, 512-d\) as generator/);
      const fixed = text.slice(0, fixes[0].start) + fixes[0].newText + text.slice(fixes[0].end);
      assert.deepEqual(await check(fixed), []);
      assert.deepEqual(generatorFixes(file, cfg(), env), []);
    } finally {
      fs.rmSync(path.join(tmp, 'runs'), { recursive: true, force: true });
      fs.rmSync(path.join(tmp, 'trainer.faceinv-run.json'));
    }
  });

  it('schema field descriptions show <id> literally in hovers (markdownDescription, code spans)', () => {
    for (const f of ['run.schema.json', 'encoder.schema.json']) {
      const walk = (node: unknown, where: string): void => {
        if (!node || typeof node !== 'object') return;
        const o = node as Record<string, unknown>;
        if (typeof o.description === 'string' && /<[^>]+>/.test(o.description)) {
          assert.equal(typeof o.markdownDescription, 'string', `${f} ${where}: "${o.description}" needs a markdownDescription`);
          const outsideCode = (o.markdownDescription as string).replace(/`[^`]*`/g, '');
          assert.doesNotMatch(outsideCode, /<[^>]+>/, `${f} ${where}: HTML-like text outside code spans`);
        }
        for (const [k, v] of Object.entries(o)) walk(v, `${where}/${k}`);
      };
      walk(JSON.parse(fs.readFileSync(path.join(ROOT, 'models', 'schemas', f), 'utf8')), '');
    }
    assert.equal(escapeMarkdown('models/encoders/<id>.json'), 'models/encoders/\\<id\\>.json');
  });
});
