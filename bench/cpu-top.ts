/**
 * `node dist/bench/cpu-top.js <file.cpuprofile> [n]`: the top `n` (30) functions of a V8 CPU
 * profile (`node --cpu-prof`) by self time, with their share of the sampled time and where they are.
 */
import * as fs from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const [file, n = '30'] = process.argv.slice(2);
if (!file) throw new Error('usage: cpu-top <file.cpuprofile> [n]');
const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const self = new Map<string, number>();
let total = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  const frame = byId.get(id)!.callFrame;
  const where = frame.url ? `${frame.url.replace(/^file:\/\//, '').replace(/.*node_modules\//, '~/').replace(/.*\/dist\//, '')}:${frame.lineNumber + 1}` : '';
  const key = `${frame.functionName || '(anonymous)'}  ${where}`;
  self.set(key, (self.get(key) ?? 0) + dt);
  total += dt;
});
const idle = [...self].filter(([k]) => k.startsWith('(idle)')).reduce((a, [, v]) => a + v, 0);
console.log(`sampled ${(total / 1e6).toFixed(1)} s, of which busy ${((total - idle) / 1e6).toFixed(1)} s`);
// Busy time by where the code lives: the archive's own (dist/), a package, node's internals, native/VM.
const byArea = new Map<string, number>();
profile.samples.forEach((id, i) => {
  const { functionName, url } = byId.get(id)!.callFrame;
  if (functionName === '(idle)') return;
  const area = !url ? '(native: syscalls, GC, VM)' : /node_modules\/((@[^/]+\/)?[^/]+)/.exec(url)?.[1] ?? (url.startsWith('node:') ? 'node internals' : /\/dist\/(shared|local|functions|bench)\//.test(url) ? 'ours' : url);
  byArea.set(area, (byArea.get(area) ?? 0) + (profile.timeDeltas[i] ?? 0));
});
for (const [area, us] of [...byArea].sort((a, b) => b[1] - a[1]).slice(0, 12)) {
  console.log(`${(us / 1e3).toFixed(0).padStart(8)} ms ${((100 * us) / (total - idle)).toFixed(1).padStart(5)}%  [${area}]`);
}
console.log('top functions by self time:');
for (const [key, us] of [...self].filter(([k]) => !k.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, Number(n))) {
  console.log(`${(us / 1e3).toFixed(0).padStart(8)} ms ${((100 * us) / (total - idle)).toFixed(1).padStart(5)}%  ${key}`);
}
