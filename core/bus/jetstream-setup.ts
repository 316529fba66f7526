/**
 * Idempotent creation of the JetStream resources behind the bus (any process may connect first):
 * - `<PREFIX>_TASKS`: work-queue retention, msgId de-dup window; durable pull consumer `actors`
 *   (explicit ack, ack_wait, max_deliver, optional backoff).
 * - `<PREFIX>_GROUPS`: limits retention (optional max_age), msgId de-dup window; durable pull
 *   consumer `learner` (explicit ack, unlimited deliveries).
 * - `<PREFIX>_DEAD`: captures the server's MAX_DELIVERIES advisory for the tasks consumer (so a task
 *   that exhausted its deliveries is recorded even when no client is listening) and the records
 *   that term() publishes.
 * Only nats-server 2.9 features are used (single filter subject, no metadata/compression). On 2.9
 * re-adding a consumer with other settings silently updates it; 2.10+ rejects it, so settings that
 * differ are applied with an explicit update, and a stream whose settings differ is updated too.
 */
import { nanos } from '@nats-io/transport-node';
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type ConsumerConfig,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import type { Logger } from '../log/index.ts';
import type { BusNames, ResolvedBusOptions } from './options.ts';

function isNotFound(e: unknown, code: number): boolean {
  return e instanceof JetStreamApiError && (e.code === code || e.status === 404);
}

function sameSet(a: readonly string[] | undefined, b: readonly string[]): boolean {
  return (a ?? []).length === b.length && b.every((s) => (a ?? []).includes(s));
}

async function ensureStream(
  jsm: JetStreamManager,
  want: Partial<StreamConfig> & { name: string; subjects: string[] },
  log: Logger,
): Promise<void> {
  try {
    const info = await jsm.streams.info(want.name);
    const c = info.config;
    const differs =
      !sameSet(c.subjects, want.subjects) ||
      (want.duplicate_window !== undefined && c.duplicate_window !== want.duplicate_window) ||
      (want.max_age !== undefined && c.max_age !== want.max_age);
    if (differs) {
      await jsm.streams.update(want.name, { ...want });
      log.info({ stream: want.name }, 'stream settings updated');
    }
  } catch (e) {
    if (!isNotFound(e, JetStreamApiCodes.StreamNotFound)) throw e;
    await jsm.streams.add(want);
    log.debug({ stream: want.name }, 'stream created');
  }
}

async function ensureConsumer(
  jsm: JetStreamManager,
  stream: string,
  want: Partial<ConsumerConfig> & { durable_name: string },
  log: Logger,
): Promise<void> {
  try {
    const info = await jsm.consumers.info(stream, want.durable_name);
    const c = info.config;
    const backoffDiffers = JSON.stringify(c.backoff ?? []) !== JSON.stringify(want.backoff ?? []);
    if (c.ack_wait !== want.ack_wait || c.max_deliver !== want.max_deliver || backoffDiffers) {
      const upd: Partial<ConsumerConfig> = {
        ack_wait: want.ack_wait ?? 0,
        max_deliver: want.max_deliver ?? -1,
      };
      // An empty backoff list clears a previous schedule.
      upd.backoff = want.backoff ?? [];
      await jsm.consumers.update(stream, want.durable_name, upd);
      log.info({ stream, consumer: want.durable_name }, 'consumer settings updated');
    }
  } catch (e) {
    if (!isNotFound(e, JetStreamApiCodes.ConsumerNotFound)) throw e;
    await jsm.consumers.add(stream, want);
    log.debug({ stream, consumer: want.durable_name }, 'consumer created');
  }
}

export async function setupJetStream(
  jsm: JetStreamManager,
  names: BusNames,
  o: ResolvedBusOptions,
  log: Logger,
): Promise<void> {
  await ensureStream(
    jsm,
    {
      name: names.tasksStream,
      subjects: [names.tasksSubject],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      duplicate_window: nanos(o.tasks.dedupeWindowMs),
    },
    log,
  );
  await ensureStream(
    jsm,
    {
      name: names.groupsStream,
      subjects: [names.groupsSubject],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      duplicate_window: nanos(o.groups.dedupeWindowMs),
      max_age: nanos(o.groups.maxAgeMs),
    },
    log,
  );
  await ensureStream(
    jsm,
    {
      name: names.deadStream,
      subjects: [names.deadSubject, names.maxDeliveriesAdvisory],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
    },
    log,
  );
  const tasksConsumer: Partial<ConsumerConfig> & { durable_name: string } = {
    durable_name: names.tasksConsumer,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(o.tasks.backoffMs[0] ?? o.tasks.ackWaitMs),
    max_deliver: o.tasks.maxDeliver,
  };
  if (o.tasks.backoffMs.length > 0) tasksConsumer.backoff = o.tasks.backoffMs.map((ms) => nanos(ms));
  await ensureConsumer(jsm, names.tasksStream, tasksConsumer, log);
  await ensureConsumer(
    jsm,
    names.groupsStream,
    {
      durable_name: names.groupsConsumer,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(o.groups.ackWaitMs),
      max_deliver: -1,
    },
    log,
  );
}
