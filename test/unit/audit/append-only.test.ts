import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const sources = (dir: string): string[] =>
  fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));

describe('the audit log has no update or delete path', () => {
  it('outside AuditLog, code that reaches the audit container only reads it', () => {
    const write = /audit\s*\.\s*(items\s*\.\s*(create|upsert|batch|bulk)|item\([^)]*\)\s*\.\s*(replace|delete|patch))\s*\(/;
    const writers = [...sources('shared'), ...sources('functions'), ...sources('local')]
      .filter((f) => f !== path.join('shared', 'adapters', 'azure', 'audit-log.ts'))
      .filter((f) => write.test(fs.readFileSync(path.join(ROOT, f), 'utf8').replace(/\s+/g, ' ')));
    expect(writers).toEqual([]);
  });

  it('AuditLog only creates in the audit container; its one replace is the head hint, kept in the tenants container', () => {
    const text = fs.readFileSync(path.join(ROOT, 'shared', 'adapters', 'azure', 'audit-log.ts'), 'utf8');
    expect(text).not.toMatch(/\.(delete|upsert|patch|bulk)\(/);
    // A round's entries go in one transactional batch, of creates only.
    expect(text.split('\n').filter((l) => /\.batch\(/.test(l))).toHaveLength(1);
    expect([...text.matchAll(/operationType: '(\w+)'/g)].map((m) => m[1])).toEqual(['Create']);
    const replaces = text.split('\n').filter((l) => /\.replace\(/.test(l));
    expect(replaces).toHaveLength(1);
    expect(replaces[0]).toMatch(/this\.heads\.item\(head\.id, tenantId\)\.replace\(head,/);
    // In Azure the app's Cosmos role on the audit container can create and read only (infra/main.bicep).
    expect(text).not.toMatch(/this\.container\.item\([^)]*\)\.replace/);
  });
});
