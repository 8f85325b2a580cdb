// The nginx configuration printed in docs/forward-auth.md is the file the nginx suites and the sample run.
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FORWARD_AUTH_NGINX_CONF } from '../support/nginx.js';

describe('the documented nginx configuration', () => {
  it('docs/forward-auth.md shows sample/forward-auth/forward-auth.nginx.conf verbatim, the file the nginx suites run', () => {
    const page = readFileSync(join(FORWARD_AUTH_NGINX_CONF, '..', '..', '..', 'docs', 'forward-auth.md'), 'utf8');
    const block = /## nginx\n[\s\S]*?```nginx\n([\s\S]*?)```/.exec(page)?.[1];
    expect(block).toBe(readFileSync(FORWARD_AUTH_NGINX_CONF, 'utf8'));
  });
});
