import { describe, it } from '@jest/globals';
import { hasNginx, NGINX_INSTALL, nginxBinary } from './nginx.js';

/**
 * `describe` for suites that need a real nginx with the auth_request module. Where it is missing the suite is not
 * skipped: it fails, saying what is missing and how to install it (CI installs it in .ci/run).
 */
export function describeWithNginx(title: string, body: () => void): void {
  if (hasNginx) return describe(title, body);
  describe(title, () => {
    it('needs nginx', () => {
      throw new Error(`nginx with the auth_request module not found (${nginxBinary}). Install it (${NGINX_INSTALL}) and run the tests again.`);
    });
  });
}
