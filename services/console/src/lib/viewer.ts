import { createContext, useContext } from 'react';

/**
 * The signed-in principal (`viewer`): what its role may do decides what the console offers.
 * The gateway enforces the same permissions (docs/security.md); hiding what a role may not do
 * is for the operator's sake, not a security boundary.
 */
export interface Viewer {
  id: string;
  name: string;
  kind: 'API_KEY' | 'OIDC' | 'SYSTEM';
  role: string;
  permissions: string[];
}

/** The permission names of `ROLE_PERMISSIONS` (services/kit/src/auth/roles.ts). */
export const Permission = {
  READ: 'read',
  SYNC_USER: 'sync:user',
  SYNC_RUN: 'sync:run',
  USER_RESTORE: 'user:restore',
  USER_PURGE: 'user:purge',
  USER_MANAGE: 'user:manage',
  DIRECTORY_MANAGE: 'directory:manage',
  ADMIN_MANAGE: 'admin:manage',
  RUN_APPROVE: 'run:approve',
} as const;
export type Permission = (typeof Permission)[keyof typeof Permission];

export const ViewerContext = createContext<Viewer | undefined>(undefined);

export function useViewer(): Viewer {
  const v = useContext(ViewerContext);
  if (!v) throw new Error('useViewer outside the signed-in app');
  return v;
}

export function useCan(permission: Permission): boolean {
  return useViewer().permissions.includes(permission);
}
