import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseApacheLogLine, type ApacheLogParse } from './apache-log';
import { httpRequests, type HttpRequestEvent } from './http-requests';

// elastic/examples "Common Data Formats/apache_logs": 10,000 lines, 17-20 May 2015.
const DATASET = path.resolve(__dirname, '../../../../data/apache-access-log/apache_logs');

const eventOf = (line: string): HttpRequestEvent => {
  const result = parseApacheLogLine(line);
  if (!result.ok) throw new Error(`expected a parse, got ${result.reason}: ${result.detail}`);
  return result.event;
};

describe('parseApacheLogLine on the whole sample dataset', () => {
  const lines = readFileSync(DATASET, 'utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const results: ApacheLogParse[] = lines.map(parseApacheLogLine);
  const events = results.flatMap((r) => (r.ok ? [r.event] : []));
  const rejects = results.flatMap((r, i) => (r.ok ? [] : [{ line: i + 1, reason: r.reason, detail: r.detail }]));

  it('parses 9,999 of the 10,000 lines', () => {
    expect(lines).toHaveLength(10_000);
    expect(events).toHaveLength(9_999);
  });

  it('rejects exactly one line: 8899, whose user agent was cut off before its closing quote', () => {
    expect(rejects).toEqual([
      {
        line: 8899,
        reason: 'not-combined-format',
        detail: expect.stringMatching(/^a quoted field is not terminated \(truncated line\?\): 46\.118\.127\.106 /),
      },
    ]);
    expect(lines[8898].endsWith('"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html')).toBe(true);
  });

  it('produces only events that pass the http_requests contract', () => {
    const invalid = events.map((e) => httpRequests.validate(e)).filter((v) => !v.ok);
    expect(invalid).toEqual([]);
  });

  // Figures counted independently with awk over the same 9,999 lines.
  it('agrees with an independent count of methods, statuses, bytes and clients', () => {
    const count = (f: (e: HttpRequestEvent) => string | number) =>
      events.reduce<Record<string, number>>((acc, e) => ((acc[f(e)] = (acc[f(e)] ?? 0) + 1), acc), {});
    expect(count((e) => e.method)).toEqual({ GET: 9951, HEAD: 42, POST: 5, OPTIONS: 1 });
    expect(count((e) => e.status)).toEqual({ 200: 9125, 206: 45, 301: 164, 304: 445, 403: 2, 404: 213, 416: 2, 500: 3 });
    expect(events.reduce((sum, e) => sum + e.bytes, 0)).toBe(2_747_282_505);
    expect(events.filter((e) => e.bytes === 0)).toHaveLength(669);
    expect(new Set(events.map((e) => e.ip)).size).toBe(1753);
    expect(events.filter((e) => e.protocol === 'HTTP/1.1' || e.protocol === 'HTTP/1.0')).toHaveLength(9999);
  });

  it('spans 17 May 2015 10:05 to 20 May 2015 21:05 UTC', () => {
    const ts = events.map((e) => e.ts);
    expect(new Date(Math.min(...ts)).toISOString()).toBe('2015-05-17T10:05:00.000Z');
    expect(new Date(Math.max(...ts)).toISOString()).toBe('2015-05-20T21:05:59.000Z');
  });

  it('reads line 1 field by field', () => {
    expect(events[0]).toEqual({
      ts: Date.UTC(2015, 4, 17, 10, 5, 3),
      ip: '83.149.9.216',
      method: 'GET',
      path: '/presentations/logstash-monitorama-2013/images/kibana-search.png',
      query: '',
      protocol: 'HTTP/1.1',
      status: 200,
      bytes: 203023,
      referrer: 'http://semicomplete.com/presentations/logstash-monitorama-2013/',
      userAgent:
        'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/32.0.1700.77 Safari/537.36',
    });
  });

  it('reads a HEAD with "-" bytes and no referrer (line 688)', () => {
    expect(eventOf(lines[687])).toEqual({
      ts: Date.parse('2015-05-17T16:05:27Z'),
      ip: '89.170.74.95',
      method: 'HEAD',
      path: '/projects/xdotool/',
      query: '',
      protocol: 'HTTP/1.1',
      status: 200,
      bytes: 0,
      referrer: '',
      userAgent: 'Mozilla/5.0 (Windows NT 6.1; WOW64; rv:24.0) Gecko/20100101 Firefox/24.0',
    });
  });

  it('reads a POST over HTTP/1.0 (line 5009)', () => {
    const e = eventOf(lines[5008]);
    expect([e.ip, e.method, e.path, e.protocol, e.status, e.bytes]).toEqual([
      '37.115.186.244', 'POST', '/blog/geekery/xvfb-firefox', 'HTTP/1.0', 200, 10975,
    ]);
    expect(e.referrer).toBe('http://zoomq.qiniudn.com/ZQScrapBook/ZqFLOSS/data/20110811235550/');
  });

  it('reads the one OPTIONS request and its 500 (line 9158)', () => {
    const e = eventOf(lines[9157]);
    expect([e.method, e.path, e.status, e.bytes, e.referrer, e.userAgent]).toEqual([
      'OPTIONS', '/projects/xdotool/', 500, 626, '', 'Microsoft Office Protocol Discovery',
    ]);
  });

  it('keeps \\xhh escapes of a non-ASCII referrer as logged (line 5851)', () => {
    expect(eventOf(lines[5850]).referrer).toBe(
      'http://\\xe4\\xe5\\xe3\\xf2\\xff\\xf0\\xed\\xee\\xe5-\\xec\\xfb\\xeb\\xee.\\xf0\\xf4/',
    );
  });

  it('splits the query string at the first "?" (lines 10000, 5373, 8605)', () => {
    expect([eventOf(lines[9999]).path, eventOf(lines[9999]).query]).toEqual(['/blog/tags/puppet', 'flav=rss20']);
    expect([eventOf(lines[5372]).path, eventOf(lines[5372]).query]).toEqual(['/blog/geekery/2!', '']);
    expect([eventOf(lines[8604]).path, eventOf(lines[8604]).query]).toEqual(['/articles/ssh-', '??????????????????/']);
    expect(events.filter((e) => e.query !== '')).toHaveLength(1258);
  });
});

describe('parseApacheLogLine edge cases', () => {
  const line = (parts: { host?: string; time?: string; request?: string; status?: string; bytes?: string; referrer?: string; agent?: string }) =>
    `${parts.host ?? '10.0.0.1'} - - [${parts.time ?? '17/May/2015:10:05:03 +0000'}] "${parts.request ?? 'GET / HTTP/1.1'}" ` +
    `${parts.status ?? '200'} ${parts.bytes ?? '512'} "${parts.referrer ?? '-'}" "${parts.agent ?? 'curl/8.0'}"`;

  it('unescapes quotes and backslashes in the user agent and referrer', () => {
    const e = eventOf(line({ agent: 'Mozilla/5.0 \\"Evil\\" \\\\ agent', referrer: 'http://x/?q=\\"a\\"' }));
    expect(e.userAgent).toBe('Mozilla/5.0 "Evil" \\ agent');
    expect(e.referrer).toBe('http://x/?q="a"');
  });

  it('does not let an escaped quote end a field early', () => {
    const e = eventOf(line({ agent: 'a\\" 200 512 \\"b' }));
    expect(e.userAgent).toBe('a" 200 512 "b');
    expect(e.status).toBe(200);
  });

  it('reads "-" bytes as 0 and rejects a byte count beyond 2^53', () => {
    expect(eventOf(line({ bytes: '-' })).bytes).toBe(0);
    expect(parseApacheLogLine(line({ bytes: '9007199254740993' }))).toMatchObject({ ok: false, reason: 'bad-bytes' });
  });

  it('accepts an IPv6 client and a host name', () => {
    expect(eventOf(line({ host: '2001:db8::8a2e:370:7334' })).ip).toBe('2001:db8::8a2e:370:7334');
    expect(eventOf(line({ host: '::1' })).ip).toBe('::1');
    expect(eventOf(line({ host: 'crawler.example.org' })).ip).toBe('crawler.example.org');
  });

  it('accepts any RFC 9110 token as a method', () => {
    expect(eventOf(line({ request: 'PROPFIND /dav/ HTTP/1.1' })).method).toBe('PROPFIND');
    expect(eventOf(line({ request: 'get /lower HTTP/1.1' })).method).toBe('get');
    expect(eventOf(line({ request: 'M-SEARCH * HTTP/1.1' }))).toMatchObject({ method: 'M-SEARCH', path: '*' });
    expect(eventOf(line({ request: 'PRI * HTTP/2.0' })).protocol).toBe('HTTP/2.0');
  });

  it('honours the timezone offset', () => {
    expect(eventOf(line({ time: '17/May/2015:12:05:03 +0200' })).ts).toBe(Date.UTC(2015, 4, 17, 10, 5, 3));
    expect(eventOf(line({ time: '17/May/2015:04:35:03 -0530' })).ts).toBe(Date.UTC(2015, 4, 17, 10, 5, 3));
    expect(eventOf(line({ time: '01/Jan/2016:00:30:00 +0100' })).ts).toBe(Date.UTC(2015, 11, 31, 23, 30, 0));
    expect(eventOf(line({ time: '29/Feb/2016:23:59:59 +0000' })).ts).toBe(Date.UTC(2016, 1, 29, 23, 59, 59));
  });

  it.each([
    ['31 February', '31/Feb/2015:10:05:03 +0000'],
    ['29 February of a common year', '29/Feb/2015:10:05:03 +0000'],
    ['hour 24', '17/May/2015:24:00:00 +0000'],
    ['minute 60', '17/May/2015:10:60:00 +0000'],
    ['offset minutes 60', '17/May/2015:10:05:03 +0060'],
    ['a year before 1970', '17/May/1969:10:05:03 +0000'],
  ])('rejects a timestamp on %s', (_what, time) => {
    expect(parseApacheLogLine(line({ time }))).toMatchObject({ ok: false, reason: 'bad-timestamp' });
  });

  it.each([
    ['an unknown month', '17/Mai/2015:10:05:03 +0000'],
    ['no offset', '17/May/2015:10:05:03'],
    ['an ISO time', '2015-05-17T10:05:03Z'],
  ])('rejects a timestamp with %s', (_what, time) => {
    expect(parseApacheLogLine(line({ time }))).toMatchObject({ ok: false, reason: 'bad-timestamp' });
  });

  it.each([
    ['"-" (no request read)', '-'],
    ['a TLS handshake on the plain port', '\\x16\\x03\\x01\\x02\\x00\\x01\\x00\\x01\\xfc\\x03\\x03'],
    ['no protocol (HTTP/0.9)', 'GET /'],
    ['a space in the target', 'GET /a b HTTP/1.1'],
    ['an empty request', ''],
  ])('rejects a request line of %s', (_what, request) => {
    expect(parseApacheLogLine(line({ request }))).toMatchObject({ ok: false, reason: 'bad-request-line' });
  });

  it.each([['099'], ['600'], ['20'], ['abc']])('rejects status %s', (status) => {
    expect(parseApacheLogLine(line({ status }))).toMatchObject({ ok: false, reason: 'bad-status' });
  });

  it.each([
    ['the common format (no referrer, no agent)', '10.0.0.1 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 512'],
    ['an empty line', ''],
    ['trailing text', `${line({})} extra`],
    ['a JSON log line', '{"ip":"10.0.0.1"}'],
  ])('rejects %s as not combined format', (_what, text) => {
    expect(parseApacheLogLine(text)).toMatchObject({ ok: false, reason: 'not-combined-format' });
  });

  it('tolerates a CRLF line ending', () => {
    expect(eventOf(`${line({})}\r`).userAgent).toBe('curl/8.0');
  });

  it('keeps the details of a reject short', () => {
    const result = parseApacheLogLine(`x${'y'.repeat(10_000)}`);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.detail.length).toBeLessThan(200);
  });
});
