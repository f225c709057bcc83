/** Shaped like Fuel's `/api/v1/version`. */
export class VersionDto {
  /** True when API tokens are configured (see AUTH_* settings). Fuel's `fuel2` client reads it first. */
  auth_required: boolean;
  /** The Fuel release whose API shapes this service keeps. */
  release: string;
  /** API version. */
  api: string;
  /** Name and version of this service. */
  service: string;
  service_version: string;
  feature_groups: string[];
}
