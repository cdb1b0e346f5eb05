// A browser app's use of the API through openapi-fetch, with types generated from docs/openapi.json
// (make lint-openapi generates generated/schema.d.ts and type-checks this file with tsc).
// The @ts-expect-error lines prove the types are strict: each fails to compile if the schema loosens.
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/schema";

type Schemas = components["schemas"];
export type Session = Schemas["SessionWithCurrentOut"];
export type ErrorEnvelope = Schemas["ErrorEnvelope"];

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: Schemas["ErrorCode"], readonly requestId: string) {
    super(`${status} ${code} (${requestId})`);
  }
}

function fail(status: number, body: ErrorEnvelope): never {
  throw new ApiError(status, body.error.code, body.error.request_id);
}

export function sessionsClient(baseUrl: string, tenantId: string, publishableKey: string) {
  const client = createClient<paths>({ baseUrl });
  const tenant = { "X-Tenant-ID": tenantId };
  let accessToken: string | null = null;
  const asUser = () => ({ ...tenant, Authorization: `Bearer ${accessToken ?? ""}` });
  const asApp = { ...tenant, Authorization: `Bearer ${publishableKey}` };

  return {
    async signIn(email: string, password: string): Promise<Schemas["IssuedSessionOut"]> {
      const { data, error, response } = await client.POST("/v1/auth/sign-in", {
        params: { header: tenant }, headers: asApp, body: { email, password },
      });
      if (error) fail(response.status, error);
      accessToken = data.session.access_token;
      const expires: string = data.session.access_token_expires_at;
      void expires;
      return data.session;
    },

    async me(): Promise<{ user: Schemas["UserOut"]; session: Session }> {
      const { data, error, response } = await client.GET("/v1/auth/me", { params: { header: tenant }, headers: asUser() });
      if (error) fail(response.status, error);
      return data;
    },

    async listSessions(status: "active" | "expired" | "revoked" | "all" = "active"): Promise<Session[]> {
      const { data, error, response } = await client.GET("/v1/sessions", {
        params: { header: tenant, query: { status, limit: 100 } }, headers: asUser(),
      });
      if (error) fail(response.status, error);
      const hasMore: boolean = data.pagination.has_more;
      const cursor: string | null = data.pagination.next_cursor;
      void hasMore; void cursor;
      return data.data;
    },

    async signOutOtherDevice(sessionId: string): Promise<void> {
      const { error, response } = await client.DELETE("/v1/sessions/{id}", {
        params: { header: tenant, path: { id: sessionId } }, headers: asUser(),
      });
      if (error) fail(response.status, error);
    },

    async signOutOtherDevices(): Promise<number> {
      const { data, error, response } = await client.DELETE("/v1/sessions", {
        params: { header: tenant, query: { except_current: true } }, headers: asUser(),
      });
      if (error) fail(response.status, error);
      return data.revoked;
    },

    async signOut(): Promise<void> {
      const { error, response } = await client.POST("/v1/auth/sign-out", { params: { header: tenant }, headers: asUser(), body: {} });
      if (error) fail(response.status, error);
      accessToken = null;
    },
  };
}

// What a page shows of a session: every field the contract always sends is typed as present.
export function describe(session: Session): string {
  const id: string = session.id;
  const device: "desktop" | "mobile" | "tablet" | "bot" | "unknown" = session.device_type;
  const status: "active" | "expired" | "revoked" = session.status;
  const country: string | null = session.country;
  const reason: Schemas["RevokedReasonEnum"] | null = session.revoked_reason;
  const current: boolean | undefined = session.current;
  const createdAt: string = session.created_at;
  return [id, device, status, country ?? "??", reason ?? "-", current ? "this device" : "", createdAt].join(" ");
}

export function configBounds(config: Schemas["ConfigOut"]): number | null {
  const origins: string[] = config.allowed_origins;
  void origins;
  return config.max_sessions_per_user;
}

export function jwksKids(set: Schemas["JwkSetOut"]): string[] {
  return set.keys.map((key) => `${key.kid}:${key.kty}:${key.crv}:${key.alg}`);
}

// @ts-expect-error: device types are an enum, not free strings
export const notADevice: Session["device_type"] = "toaster";
// @ts-expect-error: revocation reasons are an enum
export const notAReason: Schemas["RevokedReasonEnum"] = "bored";
// @ts-expect-error: error codes are an enum
export const notACode: Schemas["ErrorCode"] = "oops";
// @ts-expect-error: a session's id is always present, never undefined
export const idMayBeMissing: Session["id"] = undefined;
// @ts-expect-error: revoked_reason is nullable, but never absent
export const reasonMayBeMissing: Session["revoked_reason"] = undefined;
