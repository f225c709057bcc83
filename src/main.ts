import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { ConsoleLogger, Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { Logger as PinoLogger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { configureApp } from './bootstrap';
import { AppConfig, ConfigError, loadConfig } from './common/config/app-config';
import { logColours, prettyLogs } from './common/logging/pretty-log';
import { applyHeapGrowth } from './common/runtime/heap-growth';

/** A stop must not hang on something that never closes: past this, the process exits 1 (not clean). */
const SHUTDOWN_DEADLINE_MS = 10_000;

async function main(): Promise<void> {
  // Settings may also come from a .env file in the working directory (see .env.example).
  if (existsSync('.env')) process.loadEnvFile('.env');
  let settings: AppConfig;
  try {
    settings = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      process.exit(2);
    }
    throw e;
  }
  applyHeapGrowth(settings.heapGrowingPercent);
  // Logs come from pino (LoggingModule) once the app is up; buffered until then. Nest's own logger, in
  // the same format (JSON lines unless pretty), writes them only if the start fails before that.
  const pretty = prettyLogs(settings.logFormat, process.stdout.isTTY, process.env);
  const early = new ConsoleLogger({ logLevels: settings.logLevels, json: !pretty, colors: pretty && logColours(process.env) });
  const app = await NestFactory.create<NestExpressApplication>(AppModule, { logger: early, bufferLogs: true });
  app.useLogger(app.get(PinoLogger));
  const config = await configureApp(app);
  await app.listen(config.port, config.host);
  new Logger('Main').log(`deployment-history listening on http://${config.host}:${config.port} (API /api/v1, docs /api/docs)`);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () =>
      setTimeout(() => {
        new Logger('Main').error(`shutdown on ${signal} did not finish within ${SHUTDOWN_DEADLINE_MS / 1000} s: exiting`);
        process.exit(1);
      }, SHUTDOWN_DEADLINE_MS).unref(),
    );
  }
}

main().catch((e) => {
  // Logs are buffered until the app is listening (bufferLogs): a start that fails before that (e.g. in
  // configureApp, at the broker) would otherwise exit without a word.
  Logger.flush();
  new Logger('Main').error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exit(1);
});
