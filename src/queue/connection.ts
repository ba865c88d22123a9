/**
 * The Redis behind the job queue: a check that it answers before any work starts, with an error that
 * says what to do (and never prints a password), and the BullMQ queue and flow producer every part of
 * the queue uses.
 */
import { FlowProducer, Queue, type RedisOptions } from 'bullmq';
import { SkelpruneError } from '../errors.js';
import { checkQueueUrl, redactUrl } from './url.js';

/** The BullMQ queue holding every sweep's jobs (several sweeps share it; each job names its sweep). */
export const QUEUE_NAME = 'skelprune';

/** ioredis options for a URL: commands wait out a lost connection (BullMQ's requirement for workers). */
export function connectionOptions(url: string): RedisOptions {
  return { url, maxRetriesPerRequest: null };
}

/** What to do about a connection error, by its cause. */
function connectionAdvice(message: string): string {
  if (/WRONGPASS|NOAUTH|invalid password|AUTH/i.test(message))
    return 'check the user name and password in the URL';
  if (/ECONNREFUSED/.test(message)) return 'start redis-server there, or check the host and port';
  if (/ENOTFOUND|EAI_AGAIN/.test(message)) return 'check the host name';
  if (/ETIMEDOUT|timed out/i.test(message)) return 'check that the host is reachable and the port open';
  if (/certificate|SSL|TLS|EPROTO/i.test(message))
    return 'check the TLS setup (a private certificate authority goes in NODE_EXTRA_CA_CERTS)';
  return 'check the URL and that Redis runs there';
}

/** A SkelpruneError naming the (redacted) URL, the cause and what to do. */
function connectionError(url: string, error: unknown): SkelpruneError {
  const message = error instanceof Error ? error.message : String(error);
  return new SkelpruneError(
    `cannot use the job queue at ${redactUrl(url)} (${message.split('\n')[0]}): ${connectionAdvice(message)}`,
  );
}

/**
 * Connects once without retrying, so an unreachable Redis or a wrong password fails at once with a
 * clear message instead of retrying forever.
 */
async function checkRedis(url: string): Promise<void> {
  checkQueueUrl(url);
  const probe = new Queue(QUEUE_NAME, {
    connection: { url, maxRetriesPerRequest: 1, retryStrategy: () => null, connectTimeout: 10_000 },
  });
  probe.on('error', () => {}); // reported by the rejection below
  try {
    await probe.waitUntilReady();
    await probe.getJobCounts('active');
  } catch (error) {
    throw connectionError(url, error);
  } finally {
    await probe.close().catch(() => {});
  }
}

/** The queue and flow producer of a checked connection, closed together. */
export interface QueueConnection {
  queue: Queue;
  flows: FlowProducer;
  close(): Promise<void>;
}

/**
 * Opens the queue after `checkRedis`. A connection lost later is retried for ever; `onLost` hears of
 * each loss once, until the connection is back.
 */
export async function openQueue(url: string, onLost: (message: string) => void): Promise<QueueConnection> {
  await checkRedis(url);
  const connection = connectionOptions(url);
  const queue = new Queue(QUEUE_NAME, { connection });
  const flows = new FlowProducer({ connection });
  let lost = false;
  const report = (error: Error) => {
    if (lost) return;
    lost = true;
    onLost(`lost the connection to the job queue at ${redactUrl(url)} (${error.message}); retrying`);
  };
  queue.on('error', report);
  flows.on('error', report);
  (await queue.client).on('ready', () => {
    lost = false;
  });
  return {
    queue,
    flows,
    close: async () => {
      await Promise.all([queue.close(), flows.close()]);
    },
  };
}
