/**
 * Dead-letter records on JetStream. Two sources land in `<PREFIX>_DEAD`:
 * 1. the server's `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.<stream>.<consumer>` advisory
 *    (`{"type":"io.nats.jetstream.advisory.v1.max_deliver","stream_seq":N,"deliveries":D,…}`),
 *    captured by the stream itself. The task stays in the work-queue stream (nats-server keeps
 *    messages that hit max_deliver), so its payload and msgId are read back by sequence;
 * 2. records published by term(): a terminated message is deleted from a work-queue stream, so the
 *    record carries the payload, with the task's id, sequence, deliveries and reason in headers.
 *    Its msgId `term-<seq>` makes a retried record a duplicate.
 */
import { headers } from '@nats-io/transport-node';
import type { JetStreamClient, JetStreamManager, StoredMsg } from '@nats-io/jetstream';
import type { Logger } from '../log/index.ts';
import type { BusNames } from './options.ts';
import type { DeadTask } from './types.ts';

const H_TASK_ID = 'Samv-Task-Id';
const H_TASK_SEQ = 'Samv-Task-Seq';
const H_DELIVERIES = 'Samv-Deliveries';
const H_DETAIL = 'Samv-Detail';

export interface TermRecord {
  id: string;
  seq: number;
  deliveryCount: number;
  payload: Uint8Array;
  detail?: string;
}

export async function publishTermRecord(js: JetStreamClient, names: BusNames, r: TermRecord): Promise<void> {
  const h = headers();
  h.set(H_TASK_ID, r.id);
  h.set(H_TASK_SEQ, String(r.seq));
  h.set(H_DELIVERIES, String(r.deliveryCount));
  // Header values are single-line.
  if (r.detail !== undefined) h.set(H_DETAIL, r.detail.replace(/[\r\n]+/g, ' ').slice(0, 1000));
  await js.publish(names.deadSubject, r.payload, { msgID: `term-${r.seq}`, headers: h });
}

async function getStored(jsm: JetStreamManager, stream: string, seq: number): Promise<StoredMsg | null> {
  try {
    return await jsm.streams.getMessage(stream, { seq });
  } catch {
    // Deleted or purged sequence.
    return null;
  }
}

interface MaxDeliverAdvisory {
  stream_seq?: unknown;
  deliveries?: unknown;
}

export async function readDeadTasks(
  jsm: JetStreamManager,
  names: BusNames,
  log: Logger,
): Promise<DeadTask[]> {
  const info = await jsm.streams.info(names.deadStream);
  const out: DeadTask[] = [];
  const seen = new Set<number>();
  if (info.state.messages === 0) return out;
  for (let q = info.state.first_seq; q <= info.state.last_seq; q++) {
    const m = await getStored(jsm, names.deadStream, q);
    if (!m) continue;
    if (m.subject === names.deadSubject) {
      const seq = Number(m.header.get(H_TASK_SEQ));
      if (seen.has(seq)) continue;
      seen.add(seq);
      const dead: DeadTask = {
        id: m.header.get(H_TASK_ID),
        seq,
        payload: m.data,
        deliveryCount: Number(m.header.get(H_DELIVERIES)),
        reason: 'terminated',
      };
      const detail = m.header.get(H_DETAIL);
      if (detail) dead.detail = detail;
      out.push(dead);
      continue;
    }
    let adv: MaxDeliverAdvisory;
    try {
      adv = m.json<MaxDeliverAdvisory>();
    } catch (e) {
      log.warn({ err: e, seq: q }, 'unreadable dead-letter advisory skipped');
      continue;
    }
    const seq = Number(adv.stream_seq);
    if (!Number.isSafeInteger(seq) || seen.has(seq)) continue;
    seen.add(seq);
    const task = await getStored(jsm, names.tasksStream, seq);
    out.push({
      id: task?.header.get('Nats-Msg-Id') || `seq-${seq}`,
      seq,
      payload: task?.data ?? new Uint8Array(0),
      deliveryCount: Number(adv.deliveries),
      reason: 'max-deliver',
    });
  }
  return out;
}
