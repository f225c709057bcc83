import { Logger } from '@nestjs/common';
import { MicroserviceOptions } from '@nestjs/microservices';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { NextFunction, Request, Response } from 'express';
import { Access, AUTH_ACCESS, BEARER_SCHEME, X_AUTH_TOKEN_SCHEME } from './common/auth/auth.decorators';
import { KEYSTONE_TOKENS_PATH } from './common/auth/keystone';
import { APP_CONFIG, AppConfig } from './common/config/app-config';
import { BusConsumer, PausableRmqServer } from './receiver/rmq/bus-consumer';
import { DeadLetterer } from './receiver/rmq/dead-letterer.service';
import { declareDeadLetterTopology } from './receiver/rmq/dead-letter-topology';
import { deadLetterQueue, rmqOptions } from './receiver/rmq/rmq-options';
import { serveUi } from './ui/ui-static';
import { CastsController } from './receiver/casts.controller';
import { castsFastPath, mountInFront } from './receiver/casts-fast-path';
import { CastsService } from './receiver/casts.service';
import { compressAnswers } from './common/http/compression';
import { lingeringClose } from './common/http/lingering-close';
import { httpMetrics } from './common/metrics/http-metrics.middleware';
import { Metrics } from './common/metrics/metrics.service';

export const API_PREFIX = 'api/v1';

/**
 * Everything an app built from AppModule needs besides its modules: the `/api/` alias of `/api/v1/`,
 * the global prefix, Swagger UI and, when AMQP_URL is set, the RabbitMQ consumer.
 * Used by main.ts and by the tests, so both serve the same routes.
 */
export async function configureApp(app: NestExpressApplication): Promise<AppConfig> {
  const config = app.get<AppConfig>(APP_CONFIG);
  // No need to tell every client what serves it. (Errors are answered as JSON by common/errors, which also
  // puts the last Express error handler after the routes when the app is initialized.)
  app.disable('x-powered-by');
  // Request bodies are read after authentication, within each route's limit (common/http/request-body.ts).
  // Nest's default JSON and urlencoded parsers, which app.init() would add here, read every body before the
  // guards run, for anyone: none is registered.
  app.getHttpAdapter().registerParserMiddleware = () => undefined;
  // A client that asks before it sends its body (`Expect: 100-continue`, as curl does for large ones) is told to
  // go on only when the body is about to be read: a refused request never sends it. (Node would say 100 at once.)
  const server = app.getHttpServer();
  server.on('checkContinue', (req: Request, res: Response) => server.emit('request', req, res));
  // POST /casts of one plain JSON body with a token the gate takes is served in front of Express and Nest
  // (receiver/casts-fast-path.ts: ~1.4 ms of CPU a request through them, issue #17); every other request,
  // and any such one the fast path does not take, goes on to Express untouched.
  const needs = Reflect.getMetadata(
    AUTH_ACCESS,
    Object.getOwnPropertyDescriptor(CastsController.prototype, 'post')!.value as object,
  ) as Access;
  const fast = castsFastPath({ casts: app.get(CastsService), config, metrics: app.get(Metrics), needs, route: `/${API_PREFIX}/casts` });
  mountInFront(server, fast);
  // Fuel served both /api/ and /api/v1/; the routes live under /api/v1/.
  app.use(lingeringClose); // an answer before the body was read reaches the client (lingering-close.ts)
  app.use((req: Request, _res: Response, next: NextFunction) => {
    if (/^\/api(\/|$)/.test(req.url) && !/^\/api\/(v1|docs)(\/|$|\?|-)/.test(req.url)) req.url = `/api/v1${req.url.slice(4) || '/'}`;
    next();
  });
  // Keystone's login lives where fuel2 looks for it, beside the API (common/auth/keystone.ts).
  app.setGlobalPrefix(API_PREFIX, { exclude: ['health', 'health/ready', 'metrics', KEYSTONE_TOKENS_PATH] });
  // Before every route and the page's files: JSON, CSV and assets compressed as the client accepts (live streams never).
  app.use(compressAnswers());
  app.use(serveUi()); // the web page at /ui/ (built into dist/web/), / redirects there; public, like /api/docs
  // On a signal, the shutdown hooks run (streams ended, consumer stopped, database closed), then the
  // process exits 0; by default Nest would raise the signal again and die of it (exit status 143).
  app.enableShutdownHooks([], { useProcessExit: true });

  const doc = new DocumentBuilder()
    .setTitle('deployment-history')
    .setDescription(
      'History of every deployment task run against an environment, per run, per node and per task. ' +
        'Every route is also served under /api/ (Fuel compatibility); a trailing slash is optional. ' +
        'When tokens are configured (GET /api/v1/version says auth_required: true), every route but version, health ' +
        'and these docs needs a token, as `Authorization: Bearer <token>` or `X-Auth-Token: <token>`: reads take a ' +
        'read or admin token, writes an admin token (401 without a valid token, 403 for a read token on a write). ' +
        'Keystone clients such as fuel2 log in at POST /keystone/v2.0/tokens with an API token as their password.',
    )
    .setVersion('1')
    .addBearerAuth(
      { type: 'http', scheme: 'bearer', description: 'A read or admin token (AUTH_READ_TOKENS, AUTH_ADMIN_TOKENS, AUTH_TOKENS_FILE)' },
      BEARER_SCHEME,
    )
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-Auth-Token', description: "The same token, in Fuel's header" }, X_AUTH_TOKEN_SCHEME)
    .build();
  SwaggerModule.setup('api/docs', app, () => SwaggerModule.createDocument(app, doc), {
    jsonDocumentUrl: 'api/docs-json',
    swaggerOptions: { persistAuthorization: true },
  });
  // Every request past the page and the docs is timed (common/metrics): one layer, where Nest would have put it.
  app.use(httpMetrics(app.get(Metrics)));

  if (config.amqpUrl) {
    // Before the consumer: the dead-letter exchange, and the queue's declaration as it exists (a
    // different one would be refused with 406 at every connection of the consumer).
    const topology = await declareDeadLetterTopology(config);
    app.get(DeadLetterer).use(topology);
    // Nest's RMQ transport, able to pause while the database is away (receiver/rmq/bus-consumer.ts).
    const server = new PausableRmqServer(rmqOptions(config, topology).options!);
    app.get(BusConsumer).attach(server);
    app.connectMicroservice<MicroserviceOptions>({ strategy: server }, { inheritAppConfig: true });
    await app.startAllMicroservices();
    new Logger('Receiver').log(
      `consuming queue '${config.amqpQueue}' bound to exchange '${config.amqpExchange}' with key '${config.amqpRoutingKey}'; ` +
        `rejected casts go to '${deadLetterQueue(config)}'` +
        (topology.exchange ? ` (the queue's dead-letter exchange: '${topology.exchange}')` : ''),
    );
  } else {
    new Logger('Receiver').log('AMQP_URL is not set: the RabbitMQ consumer is off; casts are accepted at POST /api/v1/casts');
  }
  return config;
}
