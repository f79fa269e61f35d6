import type Joi from 'joi';

/**
 * Hand-written checks for the hot path's request shapes. Joi's generic walk of a hold's path and body was
 * about 5 % of the seat-service's time in the storm profile (docs/performance.md, round 6). Each check
 * accepts only values its schema accepts unchanged (a subset); anything else goes to Joi, which decides and
 * explains. `fastCheckOf` is how `validate` (packages/runtime) finds a schema's check.
 */
export type FastCheck = (value: unknown) => boolean;

const checks = new WeakMap<Joi.Schema, FastCheck>();

/** Gives `schema` a hand-written check for the values it accepts as they are; returns the schema. */
export function withFastCheck<S extends Joi.Schema>(schema: S, accepts: FastCheck): S {
  checks.set(schema, accepts);
  return schema;
}

export function fastCheckOf(schema: Joi.Schema): FastCheck | undefined {
  return checks.get(schema);
}

/** A JSON object: not null, not an array. */
export const isPlainRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** An object of only these keys, each optional unless listed in `required`, each passing its field check. */
export function objectCheck(fields: Record<string, FastCheck>, required: readonly string[] = []): FastCheck {
  return (value) => {
    if (!isPlainRecord(value)) return false;
    let present = 0;
    for (const key in value) {
      if (!Object.hasOwn(fields, key) || !Object.hasOwn(value, key) || !fields[key]!(value[key])) return false;
      if (required.includes(key)) present++;
    }
    return present === required.length;
  };
}

export const matches =
  (pattern: RegExp): FastCheck =>
  (value) =>
    typeof value === 'string' && pattern.test(value);

export const integerIn =
  (min: number, max: number): FastCheck =>
  (value) =>
    Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max;

/** A string of `min` to `max` UTF-16 code units (how Joi's string min/max count). */
export const stringOfLength =
  (min: number, max: number): FastCheck =>
  (value) =>
    typeof value === 'string' && value.length >= min && value.length <= max;

/** An array of `min` to `max` items, each passing `item`. */
export const arrayCheck =
  (item: FastCheck, min: number, max: number): FastCheck =>
  (value) =>
    Array.isArray(value) && value.length >= min && value.length <= max && value.every(item);
