/** RFC 3339 to the second, UTC, as Pipedrive renders times [P1]. */
const rfc3339 = (ms: number): string => `${new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19)}Z`;

/**
 * The company's activity types: an activity's `type` is an active type's `key_string` [P19].
 * A new company has call, meeting, task, deadline, email and lunch (the icon keys of the same
 * names [P19]; that these six are a new company's list is UNCONFIRMED).
 */
export interface ActivityType {
  id: number;
  name: string;
  icon_key: string;
  color: string | null;
  order_nr: number;
  key_string: string;
  active_flag: boolean;
  is_custom_flag: boolean;
  add_time: string;
  update_time: string;
}

const DEFAULTS = [
  ['Call', 'call'],
  ['Meeting', 'meeting'],
  ['Task', 'task'],
  ['Deadline', 'deadline'],
  ['Email', 'email'],
  ['Lunch', 'lunch'],
] as const;

export class ActivityTypes {
  private readonly types: ActivityType[];

  constructor(private readonly now: () => number) {
    const stamp = rfc3339(now());
    this.types = DEFAULTS.map(([name, key], index) => ({ id: index + 1, name, icon_key: key, color: null, order_nr: index + 1, key_string: key, active_flag: true, is_custom_flag: false, add_time: stamp, update_time: stamp }));
  }

  list(): ActivityType[] {
    return this.types.map((type) => ({ ...type }));
  }

  /** Whether `key` names an active type (what a write's `type` must be). */
  isActive(key: string): boolean {
    return this.types.some((type) => type.key_string === key && type.active_flag);
  }

  /**
   * A custom type, as `POST /v1/activityTypes` makes it: the API generates `key_string` from the
   * name [P19] (lower case, non-alphanumerics as `_`: UNCONFIRMED).
   */
  add(name: string, iconKey: string): ActivityType {
    const now = this.now();
    const base = name.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '') || 'type';
    let key = base;
    for (let n = 2; this.types.some((type) => type.key_string === key); n += 1) key = `${base}${n}`;
    const type: ActivityType = { id: this.types.length + 1, name, icon_key: iconKey, color: null, order_nr: this.types.length + 1, key_string: key, active_flag: true, is_custom_flag: true, add_time: rfc3339(now), update_time: rfc3339(now) };
    this.types.push(type);
    return { ...type };
  }

  /** Turns a type off (as deleting one does: `active_flag` false; activities keep it) or back on. */
  setActive(key: string, active: boolean): boolean {
    const type = this.types.find((candidate) => candidate.key_string === key);
    if (!type) return false;
    type.active_flag = active;
    return true;
  }
}
