// A real OpenID provider on loopback for the sign-in tests: node-oidc-provider with its
// development login and consent pages. Any login name signs in; the name is the account's
// `sub` and email, and a name starting with "unverified:" has `email_verified: false`.
// Settings come from the environment: PORT, ISSUER, CLIENTS and JWKS (JSON).
import Provider from "oidc-provider";

const { PORT, ISSUER, CLIENTS, JWKS } = process.env;
const UNVERIFIED = "unverified:";

function findAccount(_ctx, id) {
  const unverified = id.startsWith(UNVERIFIED);
  const email = unverified ? id.slice(UNVERIFIED.length) : id;
  return {
    accountId: id,
    async claims() {
      return { sub: id, email, email_verified: !unverified, name: `Test ${email.split("@")[0]}` };
    },
  };
}

const provider = new Provider(ISSUER, {
  clients: JSON.parse(CLIENTS),
  jwks: JSON.parse(JWKS),
  findAccount,
  claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
  // The claims of the requested scopes go in the ID token too, as Google's do.
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  cookies: { keys: ["test-only-cookie-key"] },
  features: { devInteractions: { enabled: true } },
});
// What went wrong goes to the log the tests print when a sign-in fails.
for (const event of ["server_error", "authorization.error", "grant.error"]) {
  provider.on(event, (_ctx, error) => console.error(event, error));
}
provider.listen(Number(PORT), "127.0.0.1", () => {
  console.log(`listening ${ISSUER}`);
});
