/**
 * `spec.oauth2` of a CredentialIssuer or ClusterCredentialIssuer: any OAuth2 server that lets
 * clients register themselves (RFC 7591) and delete themselves (RFC 7592). Such servers give a
 * client one secret at a time, so Rotor rotates by client: each new secret is a newly registered
 * client, and the superseded client is deleted once no pod uses it.
 */
import { z } from "zod";
import { cel, objectName, secretKey } from "./fields.ts";

const HTTP_URL = "^https?://[^\\s/]+(/.*)?$";
const httpUrl = (what: string, description: string) =>
  z
    .string()
    .max(2048)
    .refine((value) => new RegExp(HTTP_URL).test(value), `${what} must be an http(s) URL`)
    .meta({
      description,
      ...cel({
        rule: `self.matches('${HTTP_URL.replaceAll("\\", "\\\\")}')`,
        message: `${what} must be an http(s) URL`,
      }),
    });

const initialAccessToken = z
  .object({
    secretRef: z
      .object({
        name: objectName("initialAccessToken.secretRef.name").meta({
          description:
            "The Secret holding the token: in the issuer's namespace for a CredentialIssuer, in Rotor's namespace for a ClusterCredentialIssuer.",
        }),
        key: secretKey("initialAccessToken.secretRef.key")
          .default("token")
          .meta({ description: "Default token." }),
      })
      .meta({ description: "Where the initial access token is." }),
  })
  .meta({
    description:
      "A bearer token the server demands for registering clients (RFC 7591 §3), e.g. Keycloak's initial access tokens. Absent: registration is open.",
  });

export const TOKEN_AUTH_METHODS = ["client_secret_basic", "client_secret_post"] as const;

const clientMetadata = z
  .object({
    scope: z.string().max(1000).optional().meta({
      description:
        "The scopes the clients may ask for, space-separated (RFC 7591 scope). Absent: the server's default.",
    }),
    audience: z.array(z.string().min(1).max(500)).max(20).optional().meta({
      description: "The audiences the clients may ask tokens for (Ory Hydra's audience). Absent: none.",
    }),
    tokenEndpointAuthMethod: z.enum(TOKEN_AUTH_METHODS).default("client_secret_basic").meta({
      description:
        "How workloads present the secret at the token endpoint: HTTP Basic (client_secret_basic, the default) or form fields (client_secret_post).",
    }),
  })
  .default({ tokenEndpointAuthMethod: "client_secret_basic" })
  .meta({
    description:
      "What every client Rotor registers gets, besides grant_types [client_credentials] and a client_name that carries the ClientCredential's description and Rotor's ownership marker.",
  });

export const registrationIssuer = z
  .object({
    issuerUrl: httpUrl(
      "issuerUrl",
      "The server's issuer URL: Rotor reads {issuerUrl}/.well-known/openid-configuration (else /.well-known/oauth-authorization-server) for its token and registration endpoints.",
    ),
    registrationEndpoint: httpUrl(
      "registrationEndpoint",
      "The registration endpoint, where discovery does not name it (Ory Hydra names it only when configured to). Must be on issuerUrl's origin.",
    ).optional(),
    initialAccessToken: initialAccessToken.optional(),
    client: clientMetadata,
    hydraAdminUrl: httpUrl(
      "hydraAdminUrl",
      "ClusterCredentialIssuer only: Ory Hydra's admin API. With it, a client whose registration answer was lost (a crash, a timeout) is found by its name and deleted; without it, such a client is left at the server and reported.",
    ).optional(),
  })
  .meta({ description: "An OAuth2 server with dynamic client registration (RFC 7591 and RFC 7592)." });

export type RegistrationIssuerSpec = z.output<typeof registrationIssuer>;
