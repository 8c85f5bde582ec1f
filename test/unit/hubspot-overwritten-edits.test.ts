import { describe, expect, it } from 'vitest';
import { overwrittenValue } from '../../src/connectors/hubspot/overwritten-edits';

/** Versions newest first, as propertiesWithHistory lists them; times in ms after an origin. */
const at = (ms: number): string => new Date(1_800_000_000_000 + ms).toISOString();
const T = (ms: number): number => 1_800_000_000_000 + ms;

describe("overwrittenValue: a person's edit between our read (t=100) and our write (t=300)", () => {
  it('finds the edit our write replaced', () => {
    expect(overwrittenValue([{ value: 'ours', timestamp: at(300) }, { value: 'theirs', timestamp: at(200) }, { value: 'old', timestamp: at(50) }], { value: 'ours', atMs: T(300) }, T(100))).toBe('theirs');
  });

  it('finds nothing when the value before ours is what we read', () => {
    expect(overwrittenValue([{ value: 'ours', timestamp: at(300) }, { value: 'old', timestamp: at(50) }], { value: 'ours', atMs: T(300) }, T(100))).toBeUndefined();
  });

  it('leaves an edit made after our write alone (it stands)', () => {
    expect(overwrittenValue([{ value: 'later', timestamp: at(400) }, { value: 'ours', timestamp: at(300) }, { value: 'theirs', timestamp: at(200) }], { value: 'ours', atMs: T(300) }, T(100))).toBeUndefined();
  });

  it('finds nothing when our write did not change the property, or the person wrote our value', () => {
    expect(overwrittenValue([{ value: 'theirs', timestamp: at(200) }, { value: 'old', timestamp: at(50) }], { value: 'ours', atMs: T(300) }, T(100))).toBeUndefined();
    expect(overwrittenValue([{ value: 'ours', timestamp: at(300) }, { value: 'ours', timestamp: at(200) }], { value: 'ours', atMs: T(300) }, T(100))).toBeUndefined();
  });

  it('takes Date timestamps as the SDK gives them, and an empty value as an erasure to put back', () => {
    expect(overwrittenValue([{ value: 'ours', timestamp: new Date(T(300)) }, { value: '', timestamp: new Date(T(200)) }], { value: 'ours', atMs: T(300) }, T(100))).toBe('');
  });
});
