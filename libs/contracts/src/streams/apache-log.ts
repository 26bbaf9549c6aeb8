import type { HttpRequestEvent } from './http-requests';

/**
 * Parser for Apache's *combined* log format:
 *
 *   LogFormat "%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-agent}i\"" combined
 *
 * It is a one-line grammar, so one anchored regular expression does the work; no capture
 * group can backtrack into a neighbour (quoted fields use the unrolled `[^"\\]*(?:\\.[^"\\]*)*`
 * form), so a line costs one linear scan. Only lines that fail take the slower path that
 * says why.
 *
 * Apache escapes `"` and `\` inside quoted fields as `\"` and `\\`, and bytes outside
 * printable ASCII as `\xhh` (mod_log_config, "Security Considerations"). The parser undoes
 * the first two, which are quoting, and keeps `\xhh` as logged: the bytes' encoding is not
 * recorded, so decoding them would guess.
 * See https://httpd.apache.org/docs/2.4/mod/mod_log_config.html
 */

export type ApacheLogRejectReason =
  /** The line is not `host ident user [time] "request" status bytes "referrer" "agent"`. */
  | 'not-combined-format'
  /** The request field is not `METHOD target HTTP/x.y` (e.g. `-` for a timed-out connection). */
  | 'bad-request-line'
  /** The `[dd/Mon/yyyy:HH:MM:SS +hhmm]` field is malformed or names no real instant. */
  | 'bad-timestamp'
  /** The status is not a three-digit code from 100 to 599. */
  | 'bad-status'
  /** The byte count is neither `-` nor a safe non-negative integer. */
  | 'bad-bytes';

export type ApacheLogParse =
  | { readonly ok: true; readonly event: HttpRequestEvent }
  | { readonly ok: false; readonly reason: ApacheLogRejectReason; readonly detail: string };

const QUOTED = '"([^"\\\\]*(?:\\\\.[^"\\\\]*)*)"';
const MONTH = '(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)';
const TIME = `\\[(\\d{2})/${MONTH}/(\\d{4}):(\\d{2}):(\\d{2}):(\\d{2}) ([+-])(\\d{2})(\\d{2})\\]`;
const METHOD = "([!#$%&'*+.^_`|~0-9A-Za-z-]+)";
const TARGET = '((?:[^\\s"\\\\]|\\\\\\S)+)';
const PROTOCOL = '(HTTP/\\d+(?:\\.\\d+)?)';

const COMBINED = new RegExp(
  `^(\\S+) \\S+ \\S+ ${TIME} "${METHOD} ${TARGET} ${PROTOCOL}" ([1-5]\\d\\d) (\\d+|-) ${QUOTED} ${QUOTED}\\r?$`,
);

const MONTH_INDEX: Readonly<Record<string, number>> = {
  Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11,
};

/** Parses one line (without its newline; a trailing `\r` is tolerated). Never throws. */
export function parseApacheLogLine(line: string): ApacheLogParse {
  const m = COMBINED.exec(line);
  if (m === null) return diagnose(line);
  const ts = timestampOf(m[2], m[3], m[4], m[5], m[6], m[7], m[8], m[9], m[10]);
  if (ts === null) {
    return reject('bad-timestamp', `no such instant: [${m[2]}/${m[3]}/${m[4]}:${m[5]}:${m[6]}:${m[7]} ${m[8]}${m[9]}${m[10]}]`);
  }
  const bytes = m[15] === '-' ? 0 : Number(m[15]);
  if (!Number.isSafeInteger(bytes)) return reject('bad-bytes', `byte count ${m[15]} is too large`);
  const target = unescape(m[12]);
  const q = target.indexOf('?');
  return {
    ok: true,
    event: {
      ts,
      ip: m[1],
      method: m[11],
      path: q < 0 ? target : target.slice(0, q),
      query: q < 0 ? '' : target.slice(q + 1),
      protocol: m[13],
      status: Number(m[14]),
      bytes,
      referrer: headerValue(m[16]),
      userAgent: headerValue(m[17]),
    },
  };
}

/**
 * `[17/May/2015:10:05:03 +0200]` is local time at the server; UTC is local minus the offset.
 * Date.UTC silently rolls 31 Feb over into March, so each part is range-checked first.
 */
function timestampOf(
  dd: string, mon: string, yyyy: string, hh: string, mi: string, ss: string,
  sign: string, oh: string, om: string,
): number | null {
  const year = Number(yyyy);
  const month = MONTH_INDEX[mon];
  const day = Number(dd);
  const hour = Number(hh);
  const minute = Number(mi);
  const second = Number(ss);
  const offsetMinutes = Number(oh) * 60 + Number(om);
  if (year < 1970 || day < 1 || day > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 59 || Number(om) > 59 || offsetMinutes > 14 * 60) return null;
  const local = Date.UTC(year, month, day, hour, minute, second);
  return local - (sign === '-' ? -offsetMinutes : offsetMinutes) * 60_000;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
}

/** Undoes Apache's quoting escapes (`\"`, `\\`); other escapes stay as logged. */
function unescape(field: string): string {
  return field.indexOf('\\') < 0 ? field : field.replace(/\\(["\\])/g, '$1');
}

/** Apache writes `-` for a header the client did not send. */
function headerValue(field: string): string {
  return field === '-' ? '' : unescape(field);
}

function reject(reason: ApacheLogRejectReason, detail: string): ApacheLogParse {
  return { ok: false, reason, detail };
}

// The slow path: runs only for lines the grammar rejected, to say which field is wrong.

const LOOSE = new RegExp(`^(\\S+) (\\S+) (\\S+) \\[([^\\]]*)\\] ${QUOTED} (\\S+) (\\S+) ${QUOTED} ${QUOTED}\\r?$`);
const TIME_ONLY = new RegExp(`^${TIME}$`);
const REQUEST_ONLY = new RegExp(`^${METHOD} ${TARGET} ${PROTOCOL}$`);

function diagnose(line: string): ApacheLogParse {
  const m = LOOSE.exec(line);
  if (m === null) {
    const quotes = line.replace(/\\./g, '').split('"').length - 1;
    const why = quotes % 2 === 1 ? 'a quoted field is not terminated (truncated line?)' : 'fields do not follow the combined layout';
    return reject('not-combined-format', `${why}: ${preview(line)}`);
  }
  const [, , , , time, request, status, bytes] = m;
  if (!TIME_ONLY.test(`[${time}]`)) return reject('bad-timestamp', `unreadable time [${time}]`);
  if (!REQUEST_ONLY.test(request)) return reject('bad-request-line', `request "${preview(request)}" is not METHOD target HTTP/x.y`);
  if (!/^[1-5]\d\d$/.test(status)) return reject('bad-status', `status ${preview(status)} is not 100-599`);
  if (!/^(\d+|-)$/.test(bytes)) return reject('bad-bytes', `byte count ${preview(bytes)} is not a number or -`);
  return reject('not-combined-format', `fields do not follow the combined layout: ${preview(line)}`);
}

function preview(text: string): string {
  return text.length <= 120 ? text : `${text.slice(0, 117)}...`;
}
