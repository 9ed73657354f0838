/**
 * Reads one setting from flags, else from its environment variable, and parses it strictly.
 * Every failure is a ConfigError whose message is one line naming the flag (and the variable
 * when the value came from there): `--port: must be an integer 1-65535, got "abc"`.
 */
import { isIP } from 'node:net';
import type { PeerConfig } from './raft-config.js';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** The environment variable of a flag: `--data-dir` -> `RAFT_DATA_DIR`. */
export function envName(flag: string): string {
  return `RAFT_${flag.toUpperCase().replaceAll('-', '_')}`;
}

const NODE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const NODE_ID_RULE = "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit";
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const BYTE_UNITS: Readonly<Record<string, number>> = { '': 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };

interface Found {
  readonly raw: string;
  /** `--port` or `--port (RAFT_PORT)`: how error messages name the setting. */
  readonly label: string;
}

export class FlagValues {
  constructor(
    private readonly flags: Readonly<Record<string, string | boolean | undefined>>,
    private readonly env: Readonly<Record<string, string | undefined>>,
  ) {}

  /** The flag's value, else its variable's (an empty variable counts as unset). */
  private find(flag: string): Found | undefined {
    const fromFlag = this.flags[flag];
    if (typeof fromFlag === 'string') return { raw: fromFlag, label: `--${flag}` };
    const fromEnv = this.env[envName(flag)];
    if (fromEnv !== undefined && fromEnv !== '') return { raw: fromEnv, label: `--${flag} (${envName(flag)})` };
    return undefined;
  }

  fail(flag: string, message: string): never {
    const found = this.find(flag);
    throw new ConfigError(`${found?.label ?? `--${flag}`}: ${message}`);
  }

  required(flag: string): Found {
    const found = this.find(flag);
    if (found === undefined) throw new ConfigError(`--${flag}: is required (or set ${envName(flag)})`);
    return found;
  }

  optionalString(flag: string): Found | undefined {
    return this.find(flag);
  }

  nodeId(flag: string): string {
    const { raw, label } = this.required(flag);
    if (!NODE_ID.test(raw)) throw new ConfigError(`${label}: must be ${NODE_ID_RULE}, got ${JSON.stringify(raw)}`);
    return raw;
  }

  port(flag: string): number {
    return parseIntIn(this.required(flag), 1, 65535, 'an integer 1-65535');
  }

  optionalPort(flag: string): number | null {
    const found = this.find(flag);
    return found === undefined ? null : parseIntIn(found, 1, 65535, 'an integer 1-65535');
  }

  host(flag: string, fallback: string): string {
    const found = this.find(flag);
    if (found === undefined) return fallback;
    if (isIP(found.raw) === 0 && !HOSTNAME.test(found.raw)) {
      throw new ConfigError(`${found.label}: must be an IP address or a host name, got ${JSON.stringify(found.raw)}`);
    }
    return found.raw;
  }

  /** A whole number of ms (or entries, ...) in [min, max]. */
  int(flag: string, fallback: number, min: number, max: number): number {
    const found = this.find(flag);
    if (found === undefined) return fallback;
    return parseIntIn(found, min, max, `an integer ${min}-${max}`);
  }

  /** A byte size: an integer, optionally with KiB, MiB or GiB (`64MiB`). */
  bytes(flag: string, fallback: number, min: number, max: number): number {
    const found = this.find(flag);
    if (found === undefined) return fallback;
    const match = /^(\d+)(KiB|MiB|GiB)?$/.exec(found.raw);
    const value = match === null ? NaN : Number(match[1]) * (BYTE_UNITS[match[2] ?? ''] as number);
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      throw new ConfigError(
        `${found.label}: must be a byte size ${min}-${max} (an integer, optionally with KiB, MiB or GiB), got ${JSON.stringify(found.raw)}`,
      );
    }
    return value;
  }

  /** A switch: present as a flag, or its variable set to true/false/1/0/yes/no. */
  bool(flag: string): boolean {
    if (this.flags[flag] === true) return true;
    const raw = this.env[envName(flag)];
    if (raw === undefined || raw === '') return false;
    const lower = raw.toLowerCase();
    if (lower === 'true' || lower === '1' || lower === 'yes') return true;
    if (lower === 'false' || lower === '0' || lower === 'no') return false;
    throw new ConfigError(`--${flag} (${envName(flag)}): must be true or false, got ${JSON.stringify(raw)}`);
  }

  /** `id=url,id=url`; ids valid and unique, urls http(s) and unique, own id absent. */
  peers(flag: string, ownId: string): PeerConfig[] {
    const found = this.find(flag);
    if (found === undefined || found.raw.trim() === '') return [];
    const { label } = found;
    const peers: PeerConfig[] = [];
    for (const part of found.raw.split(',')) {
      const entry = part.trim();
      const eq = entry.indexOf('=');
      if (eq < 0) throw new ConfigError(`${label}: each entry must be id=url, got ${JSON.stringify(entry)}`);
      const id = entry.slice(0, eq).trim();
      const url = entry.slice(eq + 1).trim();
      if (!NODE_ID.test(id)) throw new ConfigError(`${label}: peer id must be ${NODE_ID_RULE}, got ${JSON.stringify(id)}`);
      if (id === ownId) throw new ConfigError(`${label}: lists this node's own id ${JSON.stringify(id)}; list only the other members`);
      if (peers.some((p) => p.id === id)) throw new ConfigError(`${label}: peer id ${JSON.stringify(id)} appears twice`);
      const normalized = peerUrl(url);
      if (normalized === null) {
        throw new ConfigError(`${label}: peer ${id} url must be an http:// or https:// URL with a host and no query, got ${JSON.stringify(url)}`);
      }
      const twin = peers.find((p) => p.url === normalized);
      if (twin !== undefined) throw new ConfigError(`${label}: peers ${twin.id} and ${id} have the same url ${normalized}`);
      peers.push({ id, url: normalized });
    }
    return peers;
  }
}

function parseIntIn(found: Found, min: number, max: number, rule: string): number {
  const value = /^\d+$/.test(found.raw) ? Number(found.raw) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(`${found.label}: must be ${rule}, got ${JSON.stringify(found.raw)}`);
  }
  return value;
}

/** The url as peers will dial it (no trailing slash), or null if unusable. */
function peerUrl(raw: string): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  if (url.hostname === '' || url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') return null;
  return url.href.replace(/\/+$/, '');
}
