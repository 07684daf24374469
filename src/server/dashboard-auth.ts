import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { KeyRecord } from '../store/interfaces.js';

/** One logged-in dashboard browser. */
export interface DashboardSession {
  keyId: string;
  canWrite: boolean;
  /** Sent back with every POST (form field or `x-csrf-token`). */
  csrf: string;
  expiresAt: number;
}

const SESSION_COOKIE = 'bw_dashboard';
const LOGIN_COOKIE = 'bw_login';
const SESSION_MS = 8 * 3600_000;
const MAX_SESSIONS = 1000;
/** Failed logins allowed per client address per window, before answers turn 429. */
const MAX_FAILURES = 5;
const FAILURE_WINDOW_MS = 60_000;

const token = () => randomBytes(24).toString('base64url');

/** Constant-time string comparison (tokens). */
export function sameToken(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** `name=value` pairs of the Cookie header. */
export function cookies(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

function cookie(name: string, value: string, maxAgeS: number, secure: boolean): string {
  return `${name}=${value}; Path=/dashboard; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}${secure ? '; Secure' : ''}`;
}

/**
 * Dashboard sessions (SPEC OBS-7): an admin key, checked once at login, becomes a random session
 * token in an HttpOnly SameSite=Strict cookie; the key itself is never stored in the browser.
 * Each session has a CSRF token for its POSTs. The login form is protected by a double-submit
 * token, and failed logins are throttled per client address so the form cannot be used to guess keys.
 */
export class DashboardSessions {
  private readonly sessions = new Map<string, DashboardSession>();
  private readonly failures = new Map<string, { count: number; since: number }>();

  constructor(
    private readonly now: () => number,
    /** Adds `Secure` to cookies (when served over TLS). */
    private readonly secure = false,
  ) {}

  /** The session a request's cookie names, if live. */
  session(req: IncomingMessage): DashboardSession | undefined {
    const id = cookies(req)[SESSION_COOKIE];
    const session = id === undefined ? undefined : this.sessions.get(id);
    if (!session) return undefined;
    if (session.expiresAt <= this.now()) {
      this.sessions.delete(id!);
      return undefined;
    }
    return session;
  }

  /** A login form token and the cookie that pairs with it. */
  loginToken(): { csrf: string; setCookie: string } {
    const csrf = token();
    return { csrf, setCookie: cookie(LOGIN_COOKIE, csrf, 600, this.secure) };
  }

  /** True when the login form's token matches its cookie. */
  loginTokenValid(req: IncomingMessage, formToken: string | undefined): boolean {
    return sameToken(cookies(req)[LOGIN_COOKIE], formToken);
  }

  /** Seconds until `address` may try again, or 0 when it may now. */
  throttledFor(address: string): number {
    const entry = this.failures.get(address);
    if (!entry) return 0;
    const left = entry.since + FAILURE_WINDOW_MS - this.now();
    if (left <= 0) {
      this.failures.delete(address);
      return 0;
    }
    return entry.count >= MAX_FAILURES ? Math.ceil(left / 1000) : 0;
  }

  recordFailure(address: string): void {
    const entry = this.failures.get(address);
    if (!entry || entry.since + FAILURE_WINDOW_MS <= this.now()) this.failures.set(address, { count: 1, since: this.now() });
    else entry.count++;
  }

  /** Starts a session for an admin key; returns its Set-Cookie header value. */
  open(key: KeyRecord): string {
    if (this.sessions.size >= MAX_SESSIONS) this.evictExpired();
    const id = token();
    this.sessions.set(id, { keyId: key.id, canWrite: key.scopes.includes('admin'), csrf: token(), expiresAt: this.now() + SESSION_MS });
    return cookie(SESSION_COOKIE, id, SESSION_MS / 1000, this.secure);
  }

  /** Ends the request's session; returns the Set-Cookie header that clears it. */
  close(req: IncomingMessage): string {
    const id = cookies(req)[SESSION_COOKIE];
    if (id !== undefined) this.sessions.delete(id);
    return cookie(SESSION_COOKIE, '', 0, this.secure);
  }

  private evictExpired(): void {
    const now = this.now();
    for (const [id, session] of this.sessions) if (session.expiresAt <= now) this.sessions.delete(id);
    // Still full: the oldest session goes (Map order is insertion order).
    if (this.sessions.size >= MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
  }
}
