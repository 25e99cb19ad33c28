import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { claim, recoverClaims, restore, scanXmlFiles } from '../../../src/modules/patriot/import/claims.js';
import { tempDir } from '../../helpers/app.js';
import { writeClient } from './helpers/clients.js';

describe('claim hand-over', () => {
  it('scans *.xml recursively, oldest first, ignoring dot files, temp files and claimed copies', async () => {
    const dir = tempDir();
    writeClient(dir, 'B', 2, 'P2', { ageS: 10 });
    writeClient(dir, 'A', 1, 'P1', { ageS: 20 });
    writeClient(dir, 'A', 3, 'P1', { ageS: 5 });
    writeFileSync(path.join(dir, 'A', '.4.xml.claimed-x'), 'x');
    writeFileSync(path.join(dir, 'A', '5.xml.tmp123'), 'x');
    writeFileSync(path.join(dir, 'A', 'notes.txt'), 'x');
    mkdirSync(path.join(dir, '.hidden'));
    writeFileSync(path.join(dir, '.hidden', '9.xml'), 'x');
    const files = await scanXmlFiles(dir);
    expect(files.map((f) => [f.rel, f.keyName, f.clientId])).toEqual([
      ['A/1.xml', 'A', 1],
      ['B/2.xml', 'B', 2],
      ['A/3.xml', 'A', 3],
    ]);
    expect(await scanXmlFiles(path.join(dir, 'missing'))).toEqual([]);
  });

  it('a claimed file is invisible to the scanner; restore puts it back; a newer file written meanwhile wins', async () => {
    const dir = tempDir();
    writeClient(dir, 'A', 1, 'P1', { name: 'old one' });
    writeClient(dir, 'A', 2, 'P1', { name: 'old two' });
    const [f1, f2] = await scanXmlFiles(dir);
    const c1 = (await claim(f1!, 'run1'))!;
    const c2 = (await claim(f2!, 'run1'))!;
    expect(await scanXmlFiles(dir)).toEqual([]);
    writeClient(dir, 'A', 2, 'P1', { name: 'new two' }); // the API writes during the run
    expect(await restore(c1.claimed, c1.file)).toBe('restored');
    expect(await restore(c2.claimed, c2.file)).toBe('superseded');
    expect(readFileSync(path.join(dir, 'A', '1.xml'), 'utf8')).toMatch(/old one/);
    expect(readFileSync(path.join(dir, 'A', '2.xml'), 'utf8')).toMatch(/new two/);
    expect(readdirSync(path.join(dir, 'A')).sort()).toEqual(['1.xml', '2.xml']);
  });

  it('claiming a file the API just deleted is not an error', async () => {
    const dir = tempDir();
    const file = writeClient(dir, 'A', 1, 'P1');
    const [f] = await scanXmlFiles(dir);
    writeFileSync(file, '');
    (await import('node:fs')).unlinkSync(file);
    expect(await claim(f!, 'r')).toBeNull();
  });

  it('start-up recovery restores leftovers of a crashed run without overwriting newer files', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'x'), '');
    mkdirSync(path.join(dir, 'A'));
    writeFileSync(path.join(dir, 'A', '.1.xml.claimed-20250101_120000-abc'), 'claimed one');
    writeFileSync(path.join(dir, 'A', '.2.xml.claimed-20250101_120000-abc'), 'claimed two');
    writeFileSync(path.join(dir, 'A', '2.xml'), 'newer two');
    expect(await recoverClaims(dir)).toBe(2);
    expect(readFileSync(path.join(dir, 'A', '1.xml'), 'utf8')).toBe('claimed one');
    expect(readFileSync(path.join(dir, 'A', '2.xml'), 'utf8')).toBe('newer two');
    expect(readdirSync(path.join(dir, 'A')).sort()).toEqual(['1.xml', '2.xml']);
    expect(existsSync(path.join(dir, 'x'))).toBe(true);
  });
});
