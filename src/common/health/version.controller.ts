import { Controller, Get, Inject } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Public } from '../auth/auth.decorators';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { VersionDto } from './version.dto';

/** The project's package.json, found upwards from here (src/ under ts-jest, dist/src/ when built). */
function readPackage(dir = __dirname): { name: string; version: string } {
  for (let d = dir; ; d = dirname(d)) {
    const candidate = join(d, 'package.json');
    if (existsSync(candidate)) return JSON.parse(readFileSync(candidate, 'utf8')) as { name: string; version: string };
    if (dirname(d) === d) return { name: 'deployment-history', version: 'unknown' };
  }
}
const pkg = readPackage();

@ApiTags('version')
@Controller('version')
@Public()
export class VersionController {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  /** Service version, shaped like Fuel's `/api/v1/version`; no token needed. `auth_required`: whether the other routes need one. */
  @Get()
  version(): VersionDto {
    return {
      auth_required: this.config.auth.required,
      release: '9.0',
      api: '1',
      service: pkg.name,
      service_version: pkg.version,
      feature_groups: [],
    };
  }
}
