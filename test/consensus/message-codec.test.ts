import { describe, expect, it } from '@jest/globals';
import { PROTOCOL_VERSION, type InstallSnapshot, type Message } from '../../src/consensus/core/messages.js';
import {
  decodeBatch,
  decodeSnapshotChunk,
  encodeBatch,
  encodedMessageBytes,
  encodeSnapshotChunk,
  MessageDecodeError,
  ProtocolVersionError,
} from '../../src/consensus/transport/message-codec.js';
import { MIXED_ROUTE, routeAccepts, routeForBatch } from '../../src/consensus/transport/peer-routes.js';

const v = PROTOCOL_VERSION;
const bytes = (...xs: number[]) => Uint8Array.from(xs);

/** One of every message type, with every optional field both present and absent somewhere. */
const EVERY_MESSAGE: Message[] = [
  { version: v, type: 'RequestVote', from: 'n1', to: 'n2', term: 7, preVote: true, transfer: false, lastLogIndex: 41, lastLogTerm: 6 },
  { version: v, type: 'RequestVote', from: 'n1', to: 'n3', term: 8, preVote: false, transfer: true, lastLogIndex: 0, lastLogTerm: 0 },
  { version: v, type: 'RequestVoteResponse', from: 'n2', to: 'n1', term: 7, preVote: true, granted: true },
  { version: v, type: 'RequestVoteResponse', from: 'n3', to: 'n1', term: 9, preVote: false, granted: false },
  {
    version: v,
    type: 'AppendEntries',
    from: 'leader-ä',
    to: 'n2',
    term: 2 ** 40,
    prevLogIndex: 2 ** 52,
    prevLogTerm: 3,
    commit: 99,
    entries: [
      { index: 2 ** 52 + 1, term: 2 ** 40, type: 'noop', data: new Uint8Array(0) },
      { index: 2 ** 52 + 2, term: 2 ** 40, type: 'command', data: bytes(0, 1, 2, 255) },
    ],
  },
  { version: v, type: 'AppendEntries', from: 'n1', to: 'n2', term: 1, prevLogIndex: 0, prevLogTerm: 0, commit: 0, entries: [] },
  { version: v, type: 'AppendEntriesResponse', from: 'n2', to: 'n1', term: 4, success: true, matchIndex: 17 },
  {
    version: v,
    type: 'AppendEntriesResponse',
    from: 'n2',
    to: 'n1',
    term: 4,
    success: false,
    matchIndex: 0,
    rejectedIndex: 30,
    rejectHint: { conflictIndex: 12, conflictTerm: 2 },
  },
  { version: v, type: 'AppendEntriesResponse', from: 'n2', to: 'n1', term: 5, success: false, matchIndex: 0 },
  { version: v, type: 'AppendEntriesResponse', from: 'n2', to: 'n1', term: 5, success: false, matchIndex: 0, rejectedIndex: 3 },
  { version: v, type: 'Heartbeat', from: 'n1', to: 'n2', term: 3, commit: 12, context: 5 },
  { version: v, type: 'HeartbeatResponse', from: 'n2', to: 'n1', term: 3, context: 5 },
  { version: v, type: 'InstallSnapshot', from: 'n1', to: 'n2', term: 3, snapshot: { index: 1000, term: 2, config: { voters: ['n1', 'n2', 'n3'] } } },
  { version: v, type: 'TimeoutNow', from: 'n1', to: 'n2', term: 3 },
];

describe('message codec', () => {
  it.each(EVERY_MESSAGE.map((m) => [m.type, m] as const))('round-trips %s alone', (_type, message) => {
    const body = encodeBatch([message]);
    expect(body.length).toBe(5 + encodedMessageBytes(message));
    expect(decodeBatch(body)).toEqual([message]);
  });

  it('round-trips a batch of every type in order, entries data intact', () => {
    const decoded = decodeBatch(encodeBatch(EVERY_MESSAGE));
    expect(decoded).toEqual(EVERY_MESSAGE);
    const append = decoded[4];
    if (append?.type !== 'AppendEntries') throw new Error('expected AppendEntries');
    expect(Array.from(append.entries[1]?.data ?? [])).toEqual([0, 1, 2, 255]);
  });

  it('round-trips an empty batch', () => {
    expect(decodeBatch(encodeBatch([]))).toEqual([]);
  });

  it('round-trips a snapshot chunk with its data, offset and done flag', () => {
    const message = EVERY_MESSAGE.find((m): m is InstallSnapshot => m.type === 'InstallSnapshot') as InstallSnapshot;
    const data = Uint8Array.from({ length: 3000 }, (_, k) => k % 251);
    const chunk = decodeSnapshotChunk(encodeSnapshotChunk({ message, offset: 4096, done: false, data }));
    expect(chunk.message).toEqual(message);
    expect(chunk.offset).toBe(4096);
    expect(chunk.done).toBe(false);
    expect(Buffer.from(chunk.data).equals(Buffer.from(data))).toBe(true);
    const last = decodeSnapshotChunk(encodeSnapshotChunk({ message, offset: 7096, done: true, data: new Uint8Array(0) }));
    expect(last.done).toBe(true);
    expect(last.data.byteLength).toBe(0);
  });

  it('refuses a batch of another protocol version, naming it', () => {
    const body = encodeBatch([EVERY_MESSAGE[0] as Message]);
    body[0] = PROTOCOL_VERSION + 1;
    expect(() => decodeBatch(body)).toThrow(ProtocolVersionError);
  });

  it('refuses a message of another version inside a current batch', () => {
    const body = encodeBatch([EVERY_MESSAGE[0] as Message]);
    body[5] = PROTOCOL_VERSION + 1; // the message's own version byte
    expect(() => decodeBatch(body)).toThrow(ProtocolVersionError);
  });

  it('refuses truncated, padded or nonsensical bodies', () => {
    const body = encodeBatch(EVERY_MESSAGE);
    for (const cut of [0, 1, 5, 20, body.length - 1]) {
      expect(() => decodeBatch(body.subarray(0, cut))).toThrow(MessageDecodeError);
    }
    expect(() => decodeBatch(Buffer.concat([body, Buffer.from([0])]))).toThrow(MessageDecodeError);
    const badType = encodeBatch([EVERY_MESSAGE[0] as Message]);
    badType[6] = 200;
    expect(() => decodeBatch(badType)).toThrow(MessageDecodeError);
    const badNumber = encodeBatch([EVERY_MESSAGE[0] as Message]);
    // The term (float64 after version, type, flags and two 2-byte strings) made negative.
    badNumber.writeDoubleLE(-1, 5 + 3 + 3 + 3);
    expect(() => decodeBatch(badNumber)).toThrow(MessageDecodeError);
  });

  it('refuses to encode what the wire cannot carry exactly', () => {
    const huge = { ...(EVERY_MESSAGE[10] as Message), term: 2 ** 53 } as Message;
    expect(() => encodeBatch([huge])).toThrow(RangeError);
  });
});

describe('peer routes', () => {
  it('sends a one-family batch to its endpoint and a mixed one to /raft/messages', () => {
    const [vote, voteReply, , , append, , appendReply, , , , heartbeat, heartbeatReply, , timeoutNow] = EVERY_MESSAGE as Message[];
    expect(routeForBatch([append as Message, appendReply as Message])).toBe('append-entries');
    expect(routeForBatch([vote as Message, voteReply as Message])).toBe('request-vote');
    expect(routeForBatch([heartbeat as Message, heartbeatReply as Message])).toBe('heartbeat');
    expect(routeForBatch([timeoutNow as Message])).toBe('timeout-now');
    expect(routeForBatch([append as Message, heartbeat as Message])).toBe(MIXED_ROUTE);
  });

  it('lets an endpoint take only its family, and /raft/messages anything but snapshots', () => {
    expect(routeAccepts('append-entries', 'AppendEntriesResponse')).toBe(true);
    expect(routeAccepts('append-entries', 'RequestVote')).toBe(false);
    expect(routeAccepts(MIXED_ROUTE, 'TimeoutNow')).toBe(true);
    expect(routeAccepts(MIXED_ROUTE, 'InstallSnapshot')).toBe(false);
  });
});
