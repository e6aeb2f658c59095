import { ConfigError } from '../api/config';
import { readSessionMaxIdleSeconds, readSessionSweepSeconds } from '../api/session-config';

describe('HKS_SESSION_MAX_IDLE_SECONDS', () => {
  test('defaults to 3600 and takes whole seconds from 1 to 86400', () => {
    expect(readSessionMaxIdleSeconds({})).toBe(3600);
    expect(readSessionMaxIdleSeconds({ HKS_SESSION_MAX_IDLE_SECONDS: '' })).toBe(3600);
    expect(readSessionMaxIdleSeconds({ HKS_SESSION_MAX_IDLE_SECONDS: '1' })).toBe(1);
    expect(readSessionMaxIdleSeconds({ HKS_SESSION_MAX_IDLE_SECONDS: '86400' })).toBe(86_400);
  });

  test.each(['0', '86401', '1.5', '-3', 'ten', ' 60'])('refuses %j naming the variable', (raw) => {
    const read = () => readSessionMaxIdleSeconds({ HKS_SESSION_MAX_IDLE_SECONDS: raw });
    expect(read).toThrow(ConfigError);
    expect(read).toThrow(
      `HKS_SESSION_MAX_IDLE_SECONDS: given ${JSON.stringify(raw)}, expected a whole number of seconds from 1 to 86400`,
    );
  });
});

describe('HKS_SESSION_SWEEP_SECONDS', () => {
  test('defaults to 5 and takes whole seconds from 0 (no sweep) to 3600', () => {
    expect(readSessionSweepSeconds({})).toBe(5);
    expect(readSessionSweepSeconds({ HKS_SESSION_SWEEP_SECONDS: '0' })).toBe(0);
    expect(readSessionSweepSeconds({ HKS_SESSION_SWEEP_SECONDS: '3600' })).toBe(3600);
  });

  test.each(['3601', '1.5', '-1', 'soon'])('refuses %j naming the variable', (raw) => {
    expect(() => readSessionSweepSeconds({ HKS_SESSION_SWEEP_SECONDS: raw })).toThrow(
      `HKS_SESSION_SWEEP_SECONDS: given ${JSON.stringify(raw)}, expected a whole number of seconds from 0 (no sweep) to 3600`,
    );
  });
});
