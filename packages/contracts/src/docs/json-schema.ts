import type Joi from 'joi';

/** A JSON Schema (2020-12, as OpenAPI 3.1 and AsyncAPI 3 use it) as plain data. */
export type JsonSchema = { [keyword: string]: unknown };

/** The parts of Joi's `describe()` output this converter reads. */
export interface JoiDescription {
  type: string;
  flags?: { presence?: string; only?: boolean; unknown?: boolean; description?: string };
  preferences?: { allowUnknown?: boolean; presence?: string };
  rules?: { name: string; args?: { limit?: unknown; regex?: string; options?: unknown } }[];
  allow?: unknown[];
  keys?: Record<string, JoiDescription>;
  items?: JoiDescription[];
  whens?: unknown[];
}

/**
 * Joi → JSON Schema for the subset the contracts use (objects, strings, numbers, booleans, arrays,
 * valid/allow lists). Anything else throws, so a schema the documents cannot express fails the build
 * instead of being documented wrongly. Limits Joi takes from a sibling (`Joi.ref`) are named in a
 * description, since JSON Schema cannot compare two fields.
 */
export function joiToJsonSchema(schema: Joi.Schema): JsonSchema {
  return describedToJsonSchema(schema.describe() as JoiDescription);
}

function regexSource(literal: string): string {
  // describe() gives the literal form `/source/flags`; the documents need the source only.
  return literal.slice(1, literal.lastIndexOf('/'));
}

function refName(limit: unknown): string | undefined {
  const ref = (limit as { ref?: { path?: string[] } } | undefined)?.ref;
  return ref?.path?.join('.');
}

export function describedToJsonSchema(desc: JoiDescription): JsonSchema {
  if (desc.whens) throw new Error('joiToJsonSchema: conditional schemas (when) are not supported');
  const out: JsonSchema = {};
  const notes: string[] = [];
  const rules = desc.rules ?? [];
  const bound = (keyword: string, limit: unknown, what: string) => {
    const ref = refName(limit);
    if (ref) notes.push(`${what} the value of \`${ref}\``);
    else out[keyword] = limit;
  };

  switch (desc.type) {
    case 'string':
      out.type = 'string';
      for (const rule of rules) {
        if (rule.name === 'min') bound('minLength', rule.args?.limit, 'at least as long as');
        else if (rule.name === 'max') bound('maxLength', rule.args?.limit, 'at most as long as');
        else if (rule.name === 'pattern') {
          // Several patterns: JSON Schema has one `pattern` per schema, so extra ones go into allOf.
          const pattern = regexSource(rule.args!.regex!);
          if (out.pattern === undefined) out.pattern = pattern;
          else out.allOf = [...((out.allOf as JsonSchema[] | undefined) ?? []), { pattern }];
        } else if (rule.name === 'guid') out.format = 'uuid';
        else if (rule.name === 'isoDate') out.format = 'date-time';
        else if (rule.name === 'custom') notes.push('well-formed Unicode (no lone surrogates)');
        else throw new Error(`joiToJsonSchema: string rule ${rule.name} is not supported`);
      }
      break;
    case 'number':
      out.type = 'number';
      for (const rule of rules) {
        if (rule.name === 'integer') out.type = 'integer';
        else if (rule.name === 'min') bound('minimum', rule.args?.limit, 'at least');
        else if (rule.name === 'max') bound('maximum', rule.args?.limit, 'at most');
        else throw new Error(`joiToJsonSchema: number rule ${rule.name} is not supported`);
      }
      break;
    case 'boolean':
      out.type = 'boolean';
      if (rules.length) throw new Error('joiToJsonSchema: boolean rules are not supported');
      break;
    case 'array':
      out.type = 'array';
      if (desc.items && desc.items.length > 1) throw new Error('joiToJsonSchema: mixed array items are not supported');
      if (desc.items?.[0]) out.items = describedToJsonSchema(desc.items[0]);
      for (const rule of rules) {
        if (rule.name === 'min') bound('minItems', rule.args?.limit, 'at least as many items as');
        else if (rule.name === 'max') bound('maxItems', rule.args?.limit, 'at most as many items as');
        else if (rule.name === 'unique') out.uniqueItems = true;
        else throw new Error(`joiToJsonSchema: array rule ${rule.name} is not supported`);
      }
      break;
    case 'object': {
      out.type = 'object';
      const properties: Record<string, JsonSchema> = {};
      const required: string[] = [];
      const presenceDefault = desc.preferences?.presence ?? 'optional';
      for (const [key, child] of Object.entries(desc.keys ?? {})) {
        properties[key] = describedToJsonSchema(child);
        const presence = child.flags?.presence ?? presenceDefault;
        if (presence === 'required') required.push(key);
      }
      out.properties = properties;
      if (required.length) out.required = required;
      // Joi refuses unknown keys unless told otherwise; the contracts say so explicitly.
      const open = desc.flags?.unknown === true || desc.preferences?.allowUnknown === true;
      out.additionalProperties = open;
      if (rules.length) throw new Error('joiToJsonSchema: object rules are not supported');
      break;
    }
    case 'any':
      break;
    default:
      throw new Error(`joiToJsonSchema: type ${desc.type} is not supported`);
  }

  const allowed = desc.allow ?? [];
  if (desc.flags?.only) {
    if (allowed.length === 1) out.const = allowed[0];
    else out.enum = allowed;
  } else if (allowed.length) {
    // `allow('')` on a string with no minimum already passes; anything else widens the type.
    const redundant = allowed.every((v) => v === '' && out.type === 'string' && out.minLength === undefined);
    if (!redundant) return { anyOf: [withNotes(out, notes), { enum: allowed }] };
  }
  if (desc.flags?.description) notes.unshift(desc.flags.description);
  return withNotes(out, notes);
}

function withNotes(schema: JsonSchema, notes: string[]): JsonSchema {
  return notes.length ? { ...schema, description: `${notes.join('; ')}.` } : schema;
}
