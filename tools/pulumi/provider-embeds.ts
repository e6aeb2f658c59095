/**
 * The two files the provider's main package embeds, which upstream generates at build time
 * (`cmd/pulumi-resource-kubernetes/generate.go`) and the module zip lacks: the schema with the
 * plugin's version set, and the terraform mapping, both compact JSON.
 */

/** `schema-embed.json` from `schema.json`: `"version"` set to the plugin version. */
export function schemaEmbed(schemaJson: string, pluginVersion: string): string {
  const schema = JSON.parse(schemaJson) as Record<string, unknown>;
  return JSON.stringify({ ...schema, version: pluginVersion });
}

/** `terraform-mapping-embed.json` from `terraform-mapping.json`. */
export function terraformMappingEmbed(mappingJson: string): string {
  return JSON.stringify(JSON.parse(mappingJson));
}
