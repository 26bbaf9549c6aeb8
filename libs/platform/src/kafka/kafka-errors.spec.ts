import { KafkaJSError, KafkaJSNonRetriableError } from 'kafkajs';
import { TandemError } from '../errors/tandem-error';
import { fromKafkaError } from './kafka-errors';

describe('fromKafkaError', () => {
  it("keeps kafkajs' retriable judgement and the cause", () => {
    const transient = new KafkaJSError('leader not available', { retriable: true });
    const mapped = fromKafkaError(transient, 'produce to t');
    expect(mapped).toBeInstanceOf(TandemError);
    expect(mapped.retriable).toBe(true);
    expect(mapped.message).toBe('kafka: produce to t: leader not available');
    expect(mapped.cause).toBe(transient);
    expect(fromKafkaError(new KafkaJSNonRetriableError('not authorized'), 'x').retriable).toBe(false);
  });

  it('treats refused and reset sockets as transient, anything else as not', () => {
    expect(fromKafkaError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'x').retriable).toBe(true);
    expect(fromKafkaError(new Error('bad'), 'x').retriable).toBe(false);
  });

  it('passes platform errors through', () => {
    const own = new TandemError('already ours', true);
    expect(fromKafkaError(own, 'x')).toBe(own);
  });
});
