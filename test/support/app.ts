import { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import { Client } from 'pg';
import request from 'supertest';
import { AppModule } from '../../src/app.module';
import { configureApp } from '../../src/bootstrap';
import { PlanMaterializer } from '../../src/history/plans-materialized';
import { AppConfig } from '../../src/common/config/app-config';
import type { CastResultDto } from '../../src/receiver/dto/cast-result.dto';
import { useBroker } from './broker-lock';
import { createTestDatabase } from './database';
import { AMQP_URL, uniqueName } from './services';

export interface TestApp {
  app: NestExpressApplication;
  config: AppConfig;
  http: () => ReturnType<typeof request>;
  /** A pg client on the app's database, for checks behind the API's back. */
  sql: Client;
  /**
   * What every read of the REST API does first (PlansMaterialized): the runs' tasks not yet reported stored
   * as pending rows. For a check by SQL (`sql`) of rows a run has not reported on.
   */
  materialize: () => Promise<void>;
  databaseUrl: string;
  close: () => Promise<void>;
}

/**
 * The real app, built from AppModule and configured as main.ts does, on a fresh database (the real
 * migrations run at boot) and, with `amqp`, consuming from a fresh exchange and queue on the real broker.
 */
export async function startApp(opts: { amqp?: boolean; env?: Record<string, string | undefined> } = {}): Promise<TestApp> {
  if (opts.amqp) await useBroker();
  const db = await createTestDatabase();
  const saved = { ...process.env };
  process.env.DATABASE_URL = db.url;
  process.env.PORT = '0';
  process.env.LOG_LEVEL = process.env.TEST_LOG_LEVEL || 'error';
  if (opts.amqp) {
    const names = uniqueName('dh_test');
    process.env.AMQP_URL = AMQP_URL;
    process.env.AMQP_EXCHANGE = names;
    process.env.AMQP_QUEUE = names;
    process.env.AMQP_ROUTING_KEY = 'nailgun';
  } else {
    delete process.env.AMQP_URL;
  }
  // An undefined value unsets the variable (e.g. NODE_ENV, which jest sets to 'test').
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  let app: NestExpressApplication | undefined;
  try {
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    app = moduleRef.createNestApplication<NestExpressApplication>({ logger: [process.env.LOG_LEVEL as 'error'] });
    const config = await configureApp(app);
    await app.init();
    const sql = new Client({ connectionString: db.url });
    await sql.connect();
    const server = app.getHttpServer();
    return {
      app,
      config,
      http: () => request(server),
      sql,
      materialize: () => app!.get(PlanMaterializer).materializeAll(),
      databaseUrl: db.url,
      close: async () => {
        await sql.end();
        await app!.close();
        await db.drop();
      },
    };
  } catch (e) {
    await app?.close().catch(() => undefined);
    await db.drop().catch(() => undefined);
    throw e;
  } finally {
    process.env = saved;
  }
}

/** Posts casts (one or a list) to /api/v1/casts, expecting 200: what happened to each. */
export async function postCasts(t: TestApp, casts: object): Promise<CastResultDto[]> {
  const res = await t.http().post('/api/v1/casts').send(casts);
  // The answer's reason in the failure, not only its status.
  if (res.status !== 200) throw new Error(`POST /casts answered ${res.status}: ${JSON.stringify(res.body).slice(0, 500)}`);
  return res.body as CastResultDto[];
}

/** Posts casts as postCasts does: the id of the run the first cast is about. */
export async function castRunId(t: TestApp, casts: object): Promise<number> {
  return (await postCasts(t, casts))[0].transaction_id!;
}
