import { randomClusterId } from './kafka-broker';
import { freePorts } from './internal';
import { testEnv, uniqueName } from './test-env';

describe('uniqueName', () => {
  it('is a valid Kafka topic and unquoted PostgreSQL identifier', () => {
    for (const prefix of ['harness', 'Orders.V1', 'web-logs', '1st', '', 'x'.repeat(100)]) {
      const name = uniqueName(prefix);
      expect(name).toMatch(/^[a-z_][a-z0-9_]*$/);
      expect(name.length).toBeLessThanOrEqual(63);
    }
    expect(uniqueName('Orders.V1')).toMatch(/^orders_v1_/);
  });

  it('never repeats', () => {
    const names = new Set(Array.from({ length: 1000 }, () => uniqueName('t')));
    expect(names.size).toBe(1000);
  });
});

describe('testEnv', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('reads the servers from KAFKA_BROKERS and DATABASE_URL', () => {
    process.env['KAFKA_BROKERS'] = '127.0.0.1:9092, 127.0.0.1:9093';
    process.env['DATABASE_URL'] = 'postgres://u:p@127.0.0.1:5432/db';
    expect(testEnv()).toEqual({ brokers: ['127.0.0.1:9092', '127.0.0.1:9093'], databaseUrl: 'postgres://u:p@127.0.0.1:5432/db' });
  });

  it('names what is missing', () => {
    delete process.env['KAFKA_BROKERS'];
    process.env['DATABASE_URL'] = 'postgres://u:p@127.0.0.1:5432/db';
    expect(() => testEnv()).toThrow(/^KAFKA_BROKERS not set/);
  });
});

describe('randomClusterId', () => {
  it('is 16 bytes in unpadded base64url that does not start with a dash', () => {
    for (let i = 0; i < 200; i++) {
      const id = randomClusterId();
      expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
      expect(Buffer.from(id, 'base64url')).toHaveLength(16);
    }
  });
});

describe('freePorts', () => {
  it('returns distinct loopback ports', async () => {
    const ports = await freePorts(3);
    expect(new Set(ports).size).toBe(3);
    ports.forEach((port) => expect(port).toBeGreaterThan(0));
  });
});
