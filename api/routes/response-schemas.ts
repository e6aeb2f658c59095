import { z } from 'zod';
import type { ApplicationDefinition } from '../../constructs';

/**
 * Stands for a stored application definition in a response schema: the OpenAPI document
 * renders it as a reference to its `ApplicationDefinition` schema instead of repeating it.
 */
export const definitionRef = z.custom<ApplicationDefinition>(() => true);

/** A list response: `{ items: [...] }`. */
export function itemsOf<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item) });
}

/** An ISO 8601 time as the store and Kubernetes give it. */
export const isoTime = z.string();
