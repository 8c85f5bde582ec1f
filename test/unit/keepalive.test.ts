import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import { keptAlive } from '../../src/activities/keepalive';

describe('keptAlive', () => {
  it('heartbeats while the work runs, in an activity with a heartbeat timeout, and stops after', async () => {
    const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 30 });
    let beats = 0;
    let beaten: () => void = () => undefined;
    const threeBeats = new Promise<void>((resolve) => (beaten = resolve));
    env.on('heartbeat', () => {
      beats += 1;
      if (beats === 3) beaten();
    });
    // The work ends only once it has been kept alive by beats after the first: nothing timed.
    const result = await env.run(() => keptAlive(async () => threeBeats.then(() => 'written')));
    expect(result).toBe('written');
    const after = beats;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(beats).toBe(after);
  });

  it('runs the work as it is outside an activity, or without a heartbeat timeout', async () => {
    await expect(keptAlive(async () => 'plain')).resolves.toBe('plain');
    const env = new MockActivityEnvironment({ heartbeatTimeoutMs: undefined });
    let beats = 0;
    env.on('heartbeat', () => (beats += 1));
    await expect(env.run(() => keptAlive(async () => 'no timeout'))).resolves.toBe('no timeout');
    expect(beats).toBe(0);
  });
});
