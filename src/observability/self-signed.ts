// A self-signed serving certificate for the metrics endpoint when none is given, as controller-runtime's secure
// metrics server makes one (certutil.GenerateSelfSignedCertKey). Node can make keys and sign, but not build an X.509
// certificate, and the image has no openssl: this writes the DER of one small certificate (ECDSA P-256, SHA-256) by
// hand. Scrapers that trust it explicitly (tlsConfig.insecureSkipVerify, or its CA pinned) are the audience; give a
// real certificate (--metrics-cert-dir, e.g. from cert-manager) for verified TLS.
import { generateKeyPairSync, randomBytes, sign, X509Certificate } from 'node:crypto';

type Der = Buffer;

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

const tlv = (tag: number, content: Buffer): Der => Buffer.concat([Buffer.from([tag]), length(content.length), content]);
const sequence = (...items: Der[]): Der => tlv(0x30, Buffer.concat(items));
const set = (...items: Der[]): Der => tlv(0x31, Buffer.concat(items));
const explicit = (n: number, item: Der): Der => tlv(0xa0 + n, item);
const octetString = (content: Buffer): Der => tlv(0x04, content);
const utf8String = (s: string): Der => tlv(0x0c, Buffer.from(s, 'utf8'));
const boolean = (v: boolean): Der => tlv(0x01, Buffer.from([v ? 0xff : 0]));

function oid(dotted: string): Der {
  const [a, b, ...rest] = dotted.split('.').map(Number) as [number, number, ...number[]];
  const bytes = [40 * a + b];
  for (const n of rest) {
    const chunk = [n & 0x7f];
    for (let v = Math.floor(n / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(0x80 | (v & 0x7f));
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

function positiveInteger(bytes: Buffer): Der {
  const trimmed = bytes[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes;
  return tlv(0x02, trimmed);
}

/** UTCTime through 2049, GeneralizedTime after (RFC 5280 4.1.2.5). */
function time(date: Date): Der {
  const iso = date.toISOString().replace(/[-:T]/g, '').slice(0, 14); // YYYYMMDDHHMMSS
  return date.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(`${iso.slice(2)}Z`)) : tlv(0x18, Buffer.from(`${iso}Z`));
}

const ECDSA_WITH_SHA256 = sequence(oid('1.2.840.10045.4.3.2'));

function name(commonName: string): Der {
  return sequence(set(sequence(oid('2.5.4.3'), utf8String(commonName))));
}

function subjectAltName(hosts: string[]): Der {
  const entries = hosts.map((host) => {
    if (/^\d+\.\d+\.\d+\.\d+$/.test(host)) return tlv(0x87, Buffer.from(host.split('.').map(Number)));
    return tlv(0x82, Buffer.from(host, 'ascii')); // dNSName
  });
  return sequence(oid('2.5.29.17'), octetString(sequence(...entries)));
}

export interface SelfSignedCertificate {
  /** PEM certificate. */
  cert: string;
  /** PEM PKCS#8 private key. */
  key: string;
}

/**
 * A self-signed serving certificate for `hosts` (DNS names or IPv4 addresses), valid from an hour before `now` for
 * `validDays`, with keyUsage digitalSignature and extKeyUsage serverAuth.
 */
export function selfSignedCertificate(options: {
  hosts: string[];
  now: Date;
  validDays?: number;
}): SelfSignedCertificate {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const notBefore = new Date(options.now.getTime() - 3_600_000);
  const notAfter = new Date(options.now.getTime() + (options.validDays ?? 365) * 86_400_000);
  const serial = randomBytes(16);
  serial[0] = serial[0]! & 0x7f;
  const commonName = options.hosts[0] ?? 'tokensync-metrics';
  const extensions = sequence(
    // basicConstraints: not a CA (critical).
    sequence(oid('2.5.29.19'), boolean(true), octetString(sequence())),
    // keyUsage: digitalSignature (critical).
    sequence(oid('2.5.29.15'), boolean(true), octetString(tlv(0x03, Buffer.from([0x07, 0x80])))),
    // extKeyUsage: serverAuth.
    sequence(oid('2.5.29.37'), octetString(sequence(oid('1.3.6.1.5.5.7.3.1')))),
    subjectAltName(options.hosts),
  );
  const tbs = sequence(
    explicit(0, tlv(0x02, Buffer.from([2]))), // v3
    positiveInteger(serial),
    ECDSA_WITH_SHA256,
    name(`${commonName}@${Math.floor(options.now.getTime() / 1000)}`),
    sequence(time(notBefore), time(notAfter)),
    name(`${commonName}@${Math.floor(options.now.getTime() / 1000)}`),
    spki,
    explicit(3, extensions),
  );
  const signature = sign('sha256', tbs, privateKey); // DER-encoded ECDSA signature
  const der = sequence(tbs, ECDSA_WITH_SHA256, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
  const cert = `-----BEGIN CERTIFICATE-----\n${der
    .toString('base64')
    .replace(/.{64}/g, '$&\n')
    .replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
  const key = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  // Parse it back: a malformed encoding fails here, at start-up, not in a scraper's TLS handshake.
  const parsed = new X509Certificate(cert);
  if (!parsed.verify(publicKey)) {
    throw new Error('self-signed metrics certificate does not verify');
  }
  return { cert, key };
}
