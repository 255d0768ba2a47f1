/**
 * The `CDN_ALLOWED_HOSTS` rule, in one place: which URLs the downloader may fetch.
 *
 * An entry is `host` (the scheme's default port only: 80 for http, 443 for https), `host:port` (exactly
 * that port), or `*.domain` / `*.domain:port` (any subdomain of domain). Hosts are compared in the form the
 * URL parser gives them, so `127.1`, `0x7f000001` and `127.0.0.1` are one host, and a port must match
 * too: listing `127.0.0.1` for one local service never lets a URL reach another service on another port.
 */
import { isIP } from 'node:net';

export interface AllowedHost {
  /** Canonical host name or IP (IPv6 without brackets); for a wildcard, the domain after `*.`. */
  host: string;
  /** The one port allowed; undefined = the URL scheme's default port. */
  port: number | undefined;
  wildcard: boolean;
}

/** How a URL matched: `exact` entries may name private addresses (a local CDN), wildcards never. */
export type HostMatch = 'exact' | 'wildcard' | 'none';

const DEFAULT_PORTS: Readonly<Record<string, number>> = { 'http:': 80, 'https:': 443 };

/** URL hostnames keep IPv6 literals in brackets and may end with a dot; entries and DNS want neither. */
export function bareHost(hostname: string): string {
  const unbracketed = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  return unbracketed.toLowerCase().replace(/\.$/, '');
}

/** The host as the URL parser normalises it (`127.1` → `127.0.0.1`), or undefined when it is not a host. */
function canonicalHost(host: string): string | undefined {
  if (host === '' || /[/?#@\s\\]/.test(host)) return undefined;
  try {
    const url = new URL(`http://${host}/`);
    return url.port === '' ? bareHost(url.hostname) : undefined;
  } catch {
    return undefined;
  }
}

/** Parses one entry, or returns why it is malformed (the config error shows the reason). */
export function parseAllowedHost(raw: string): AllowedHost | { error: string } {
  const entry = raw.trim().toLowerCase();
  if (entry.includes('://')) return { error: `"${raw}" is a URL; list the host (and :port if it is not the default), e.g. cdn.example.com:8443` };
  const wildcard = entry.startsWith('*.');
  const rest = wildcard ? entry.slice(2) : entry;
  // A bare IPv6 literal has colons of its own: only [v6]:port carries a port.
  const parts = isIP(rest) === 6 ? { host: `[${rest}]`, port: undefined } : /^(?<host>\[[^\]]*\]|[^:[\]]*)(?::(?<port>[^:]*))?$/.exec(rest)?.groups;
  if (parts === undefined) return { error: `"${raw}" is not host, host:port or *.domain` };
  const host = canonicalHost(parts.host ?? '');
  if (host === undefined) return { error: `"${raw}" does not name a host` };
  if (wildcard && isIP(host) !== 0) return { error: `"${raw}": a wildcard needs a domain name, not an address` };
  if (rest.includes('*')) return { error: `"${raw}": * is only allowed as a leading "*."` };
  let port: number | undefined;
  if (parts.port !== undefined) {
    port = /^\d{1,5}$/.test(parts.port) ? Number(parts.port) : Number.NaN;
    if (!(port >= 1 && port <= 65535)) return { error: `"${raw}": the port must be a number from 1 to 65535` };
  }
  return { host, port, wildcard };
}

/** Parses a whole list; throws on the first malformed entry (config validation reports them all first). */
export function parseAllowedHosts(entries: readonly string[]): AllowedHost[] {
  return entries.map((entry) => {
    const parsed = parseAllowedHost(entry);
    if ('error' in parsed) throw new TypeError(`CDN_ALLOWED_HOSTS: ${parsed.error}`);
    return parsed;
  });
}

/** The reasons each malformed entry is refused; empty when the list is fine. */
export function allowedHostProblems(entries: readonly string[]): string[] {
  return entries.flatMap((entry) => {
    const parsed = parseAllowedHost(entry);
    return 'error' in parsed ? [parsed.error] : [];
  });
}

/** The port a URL connects to: its explicit port or its scheme's default. */
export function effectivePort(url: URL): number | undefined {
  return url.port === '' ? DEFAULT_PORTS[url.protocol] : Number(url.port);
}

/**
 * Whether `url` (host and port) is allowed. An exact entry wins over a wildcard, because only an exact
 * entry lets the host resolve to a private address.
 */
export function matchUrl(url: URL, allowed: readonly AllowedHost[]): HostMatch {
  const host = bareHost(url.hostname);
  const port = effectivePort(url);
  if (port === undefined) return 'none';
  let match: HostMatch = 'none';
  for (const entry of allowed) {
    if ((entry.port ?? DEFAULT_PORTS[url.protocol]) !== port) continue;
    if (!entry.wildcard && entry.host === host) return 'exact';
    if (entry.wildcard && host.endsWith(`.${entry.host}`)) match = 'wildcard';
  }
  return match;
}
