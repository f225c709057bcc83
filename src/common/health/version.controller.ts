import { Controller, Get } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { VersionDto } from './version.dto';


/** The project's package.json, found upwards from here (src/ under ts-jest, dist/src/ when built). */
function readPackage(dir = __dirname): { name: string; version: string } {
  for (let d = dir; ; d = dirname(d)) {
    const candidate = join(d, 'package.json');
    if (existsSync(candidate)) return JSON.parse(readFileSync(candidate, 'utf8'));
    if (dirname(d) === d) return { name: 'deployment-history', version: 'unknown' };
  }
}
const pkg = readPackage();

@ApiTags('version')
@Controller('version')
export class VersionController {
  /** Service version, shaped like Fuel's `/api/v1/version`. */
  @Get()
  version(): VersionDto {
    return { auth_required: false, release: '9.0', api: '1', service: pkg.name, service_version: pkg.version, feature_groups: [] };
  }
}
