import { isIP } from 'node:net';

/**
 * The client address for the audit log from `X-Forwarded-For`, as the Functions front end passes
 * it. The front end appends the address it accepted the connection from, so only the last element
 * is the platform's: earlier ones are whatever the client sent (`X-Forwarded-For: 10.0.0.5` must not
 * put 10.0.0.5 in every entry). The front end writes `ip:port` (`[v6]:port` for IPv6); the port
 * goes, a bare IPv6 address stays whole, and anything that is not an address is null.
 */
export function clientIpFromForwarded(header: string | null): string | null {
  const last = header?.split(',').pop()?.trim();
  if (!last) return null;
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(last);
  const candidate = bracketed ? bracketed[1]! : isIP(last) ? last : last.replace(/^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/, '$1');
  return isIP(candidate) ? candidate : null;
}
