/**
 * A directory as a JSON file describes it (e.g. `infra/demo/demo-directory.json`): the GraphQL
 * `CreateDirectoryInput` shape, except that `mapping.custom` is an object (name → attribute) and
 * the bind password is not in the file.
 */
export interface DirectoryFile {
  name: string;
  kind?: string;
  ldap: Record<string, unknown>;
  selectedGroups: string[];
  mapping?: Record<string, unknown> & { custom?: Record<string, string> | null };
  defaultRegion?: string;
  scheduleIntervalMinutes?: number;
  deltaIntervalMinutes?: number;
  restoreWindowDays?: number;
  deletionThreshold?: { maxCount?: number; maxPercent?: number };
  enabled?: boolean;
}

/**
 * The `CreateDirectoryInput` variables for a directory file: `custom` becomes the list of
 * `{ name, attribute }` pairs GraphQL takes, and the password is added.
 */
export function createDirectoryInputFromFile(
  file: DirectoryFile,
  bindPassword: string,
): Record<string, unknown> {
  const { mapping, ...rest } = file;
  const input: Record<string, unknown> = { ...rest, bindPassword };
  if (mapping) {
    const { custom, ...fields } = mapping;
    input.mapping = {
      ...fields,
      ...(custom
        ? { custom: Object.entries(custom).map(([name, attribute]) => ({ name, attribute })) }
        : {}),
    };
  }
  return input;
}
