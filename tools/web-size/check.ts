/** `node dist/tools/web-size/check.js [web/dist]`: fails (exit 1) when the first-load JavaScript is over budget. */
import * as path from 'node:path';
import { measureFirstLoad } from './budget';

const dist = path.resolve(process.argv[2] ?? path.join(__dirname, '..', '..', '..', 'web', 'dist'));
const report = measureFirstLoad(dist);
const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
for (const f of report.files) process.stdout.write(`  ${f.file}  ${kb(f.gzipBytes)} gzipped\n`);
process.stdout.write(`web app first load: ${kb(report.totalGzipBytes)} gzipped JavaScript (budget ${kb(report.budgetBytes)})\n`);
if (!report.ok) {
  process.stderr.write('web app first load is over budget: move code behind import() or drop a dependency\n');
  process.exit(1);
}
