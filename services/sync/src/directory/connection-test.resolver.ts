import { Arg, Ctx, ID, Mutation, Resolver } from 'type-graphql';
import { Permission } from '@dirsync/kit/auth';
import { Guard } from '@dirsync/kit/graphql';
import type { SyncContext, SyncServices } from '../services.js';
import { ConnectionTestObject, TestDirectorySettingsInput } from './connection-test.type.js';

/**
 * `testDirectory` / `testDirectorySettings`. Mutations, not queries: each makes the connector
 * connect and bind to the source (an AD domain controller counts a failed bind towards the
 * account's lockout, and logs it), and every mutation is audited.
 *
 * Guarded by `directory:manage`, like createDirectory/updateDirectory: `testDirectorySettings`
 * with a `directoryId` sends the STORED credential to whatever host the input names, so anyone
 * allowed to call it could read the password with a server of their own — exactly what
 * updateDirectory allows and nothing below it may. `testDirectory` uses only the stored
 * settings, but it belongs to configuring a directory (the console's "test connection" sits on
 * the directory form) and triggers binds on demand, so it takes the same permission rather than
 * `read`.
 */
@Resolver()
export class ConnectionTestResolver {
  constructor(private readonly s: SyncServices) {}

  @Guard(Permission.DIRECTORY_MANAGE)
  @Mutation(() => ConnectionTestObject, {
    description:
      "Test a saved directory's connection: the connector reaches the source and checks the credential, base DNs, each selected group and a sample search (LDAP), or the token, Graph, its permissions and each group (Entra). Imports nothing. CONNECTOR_UNAVAILABLE when no connector of its kind answers.",
  })
  async testDirectory(
    @Arg('id', () => ID) id: string,
    @Ctx() ctx: SyncContext,
  ): Promise<ConnectionTestObject> {
    return this.s.connectionTests.testSaved(ctx.em, id);
  }

  @Guard(Permission.DIRECTORY_MANAGE)
  @Mutation(() => ConnectionTestObject, {
    description:
      'Test settings before saving them (a new directory, or changes to `input.directoryId`, whose stored credential is used when the input has none). Invalid input answers BAD_USER_INPUT like createDirectory. Stores nothing.',
  })
  async testDirectorySettings(
    @Arg('input', () => TestDirectorySettingsInput) input: TestDirectorySettingsInput,
    @Ctx() ctx: SyncContext,
  ): Promise<ConnectionTestObject> {
    return this.s.connectionTests.testSettings(ctx.em, input);
  }
}
