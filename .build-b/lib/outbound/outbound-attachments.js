/**
 * Internal: the axios interceptors `attachOutboundToken()` put on instances, per `OutboundTokenService`, so
 * that the service's `onApplicationShutdown()` ejects them (an instance that outlives the application must
 * not keep a closed application's interceptors). Shared by both files without an import cycle. Not exported.
 */
export const attachmentsOf = new WeakMap();
/** Removes every interceptor attached with `service` (idempotent). */
export function detachAll(service) {
    const detaches = attachmentsOf.get(service);
    if (!detaches)
        return;
    for (const detach of [...detaches])
        detach();
    attachmentsOf.delete(service);
}
