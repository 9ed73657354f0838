/**
 * Runs one parsed kvctl command against the cluster and prints its outcome: plain text for
 * people (a bare value for get, tables for list and status), the server's answer as JSON with
 * --json. Returns the exit code; a KvError becomes exit 3 (a node answered with an error),
 * 4 (no node answered) or 2 (refused before sending, e.g. an unsendable key).
 */
import type { ClusterAnswer, ClusterMember } from '../client/admin-answers.js';
import type { KvClient } from '../client/kv-client.js';
import { KvError } from '../client/kv-error.js';
import type { Command } from './command-line.js';
import { EXIT_NOT_FOUND, EXIT_OK, EXIT_SERVER_ERROR, EXIT_UNREACHABLE, EXIT_USAGE, type ExitCode } from './exit-codes.js';
import { formatTable, printable } from './format.js';

export interface Output {
  write(text: string): unknown;
}

export interface ExecuteContext {
  readonly client: KvClient;
  readonly stdout: Output;
  readonly stderr: Output;
  readonly json: boolean;
}

type RunnableCommand = Exclude<Command, { name: 'repl' | 'exit' | 'help' | 'drill' }>;

export async function execute(command: RunnableCommand, ctx: ExecuteContext): Promise<ExitCode> {
  try {
    return await executeOrThrow(command, ctx);
  } catch (error) {
    if (error instanceof KvError) return reportKvError(error, ctx);
    throw error;
  }
}

async function executeOrThrow(command: RunnableCommand, ctx: ExecuteContext): Promise<ExitCode> {
  const { client } = ctx;
  const out = (text: string) => ctx.stdout.write(`${text}\n`);
  const json = (value: unknown) => out(JSON.stringify(value, null, 2));
  switch (command.name) {
    case 'put': {
      const answer = await client.put(command.key, command.value);
      if (ctx.json) json(answer);
      else out('OK');
      return EXIT_OK;
    }
    case 'append': {
      const answer = await client.append(command.key, command.value);
      if (ctx.json) json(answer);
      else out(answer.value);
      return EXIT_OK;
    }
    case 'get': {
      const answer = await client.get(command.key, command.stale ? { consistency: 'stale' } : {});
      if (answer === null) {
        ctx.stderr.write(`kvctl: key ${JSON.stringify(command.key)} not found\n`);
        return EXIT_NOT_FOUND;
      }
      if (ctx.json) json(answer);
      else out(answer.value);
      return EXIT_OK;
    }
    case 'delete': {
      const answer = await client.delete(command.key);
      if (ctx.json) json(answer);
      else out(answer.deleted ? 'deleted' : 'not found, nothing deleted');
      return EXIT_OK;
    }
    case 'cas': {
      const answer = await client.cas(command.key, command.expected, command.value);
      if (ctx.json) json(answer);
      else if (answer.succeeded) out('OK');
      else out(answer.value === null ? 'FAILED: the key is absent' : `FAILED: the current value is ${JSON.stringify(answer.value)}`);
      return answer.succeeded ? EXIT_OK : EXIT_NOT_FOUND;
    }
    case 'list': {
      const answer = await client.list(command.prefix, command.limit, command.stale ? { consistency: 'stale' } : {});
      if (ctx.json) json(answer);
      else if (answer.items.length === 0) out('(no keys)');
      else out(formatTable(['KEY', 'VALUE'], answer.items.map((item) => [item.key, item.value])));
      return EXIT_OK;
    }
    case 'status': {
      const view = await client.cluster();
      if (ctx.json) json(view);
      else out(formatClusterTable(view));
      return EXIT_OK;
    }
    case 'leader': {
      const leader = await client.leader();
      if (ctx.json) json(leader);
      if (leader === null) {
        ctx.stderr.write('kvctl: no leader is known (an election may be under way, or there is no quorum)\n');
        return EXIT_SERVER_ERROR;
      }
      if (!ctx.json) out(leader.endpoint === null ? leader.leaderId : `${leader.leaderId} ${leader.endpoint}`);
      return EXIT_OK;
    }
    case 'snapshot': {
      let endpoint: string | undefined;
      if (command.node !== undefined) {
        await client.leader().catch(() => null); // learns which endpoint is which node
        endpoint = client.endpointOf(command.node) ?? undefined;
        if (endpoint === undefined) {
          ctx.stderr.write(`kvctl: usage error: node ${JSON.stringify(command.node)} is not one of the endpoints (or did not answer)\n`);
          return EXIT_USAGE;
        }
      }
      const answer = await client.snapshot(endpoint);
      if (ctx.json) json(answer);
      else out(`snapshot at index ${answer.index}, term ${answer.term}, ${answer.bytes} bytes`);
      return EXIT_OK;
    }
    case 'transfer': {
      const answer = await client.transferLeadership(command.to);
      if (ctx.json) json(answer);
      else out(`leadership transferred: ${answer.from} -> ${answer.to}`);
      return EXIT_OK;
    }
  }
}

/** The table of `kvctl status`: one row per member, unreachable ones with the reason. */
export function formatClusterTable(view: ClusterAnswer): string {
  const rows = view.members.map((member: ClusterMember) =>
    member.reachable
      ? [member.id, member.role, String(member.term), String(member.commitIndex), String(member.lastApplied), member.leaderId ?? '-', 'yes']
      : [member.id, '-', '-', '-', '-', '-', `no (${member.error})`],
  );
  return formatTable(['ID', 'ROLE', 'TERM', 'COMMIT', 'APPLIED', 'LEADER', 'REACHABLE'], rows);
}

function reportKvError(error: KvError, ctx: ExecuteContext): ExitCode {
  if (error.attempts === 0 && error.status === 400) {
    // Refused by the client before sending: the command line asked for something unsendable.
    ctx.stderr.write(`kvctl: usage error: ${printable(error.message)}\n`);
    return EXIT_USAGE;
  }
  const where = error.unreachable ? 'no answer' : `HTTP ${error.status}`;
  const unknown = error.outcomeUnknown ? '; the write may or may not have been applied' : '';
  const leader = error.leaderId ? ` (leader: ${error.leaderId})` : '';
  if (ctx.json) {
    ctx.stderr.write(`${JSON.stringify({ status: error.status, error: error.error, message: error.message, leaderId: error.leaderId, outcomeUnknown: error.outcomeUnknown })}\n`);
  } else {
    ctx.stderr.write(`kvctl: ${error.error} (${where}): ${printable(error.message)}${leader}${unknown}\n`);
  }
  return error.unreachable ? EXIT_UNREACHABLE : EXIT_SERVER_ERROR;
}
