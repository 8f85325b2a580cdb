import { describe, expect, it } from '@jest/globals';
import { LocationTable, covers, type DeclaredLocation } from './location-table.js';

const handler = () => undefined;
const fallback: DeclaredLocation = { prefix: '', isPublic: false, handler };

describe('which declared location a normalised path belongs to', () => {
  it.each([
    ['/admin/', '/admin/', true],
    ['/admin/', '/admin/users', true],
    ['/admin/', '/admin', true], // the same resource to Express (non-strict routing) and to nginx (its redirect)
    ['/admin/', '/administrator', false],
    ['/admin/', '/admi', false],
    ['/admin', '/administrator', true], // no trailing slash: a plain string prefix
    ['/admin', '/admin/', true],
    ['/admin', '/admi', false],
    ['/', '/anything', true],
    ['/', '', false],
  ])('prefix %s covers %s: %s', (prefix, path, expected) => {
    expect(covers(prefix, path)).toBe(expected);
  });

  it('the longest covering prefix wins; /admin (no slash) takes the requirements of /admin/', () => {
    const table = new LocationTable(
      [
        { prefix: '/public', public: true, handler },
        { prefix: '/admin/', scopes: ['admin'], handler },
        { prefix: '/admin/reports/', scopes: ['reports'], handler },
      ],
      fallback,
    );
    expect(table.match('/admin').prefix).toBe('/admin/');
    expect(table.match('/admin/reports').prefix).toBe('/admin/reports/');
    expect(table.match('/admin/reportsx').prefix).toBe('/admin/');
    expect(table.match('/publicity').prefix).toBe('/public');
    expect(table.match('/orders')).toBe(fallback);
  });
});
