/**
 * RFC 9728 protected-resource metadata (`resourceMetadata` option): the published fields, the metadata URL of a
 * resource identifier, and `@ProtectedResource(resource)` for APIs that serve several resources.
 * The public names of the metadata capability; the root entry point re-exports them.
 */
export type { ProtectedResourceMetadataOptions } from './resource-metadata-options.interface.js';
export { protectedResourceMetadataUrl } from './resource-metadata.js';
export { ProtectedResource } from '../decorators/protected-resource.decorator.js';
export type { MetadataModuleOptions } from './resource-metadata-options.interface.js';
