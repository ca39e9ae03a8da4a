// The one shape a parsed YAML or JSON document's settings are read from.

/** A mapping of names to values: an object, not null, not a list. */
export function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
