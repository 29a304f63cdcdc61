// A real OpenID Provider for tests/browser/test_oidc.py: the certified oidc-provider package with
// its own login and consent pages (devInteractions: any password signs in a known account).
//
//   OIDC_PORT=4000 OIDC_CLIENTS='[{"client_id": "duet", "client_secret": "s",
//     "redirect_uris": ["http://127.0.0.1:8501/oauth2callback"], "id_token_ttl": 3600}]'
//   node server.mjs
//
// Each client's ID tokens last its id_token_ttl seconds (a short one for the expiry test). The
// accounts carry a `groups` claim, released with the `groups` scope and put in the ID token
// itself (conformIdTokenClaims off), where Streamlit's st.user reads claims from.
import Provider from 'oidc-provider';

const port = Number(process.env.OIDC_PORT);
if (!port) {
  console.error('server.mjs: set OIDC_PORT');
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;

const ACCOUNTS = {
  ada: { name: 'Ada Admin', email: 'ada@example.com', groups: ['duet-admins', 'staff'] },
  fay: { name: 'Fay Facilitator', email: 'fay@example.com', groups: ['duet-facilitators'] },
  uma: { name: 'Uma User', email: 'uma@example.com', groups: ['staff'] },
  rex: { name: 'Rex Refused', email: 'rex@example.com', groups: [] },
};

const ttls = {};
const clients = JSON.parse(process.env.OIDC_CLIENTS || '[]').map(({ id_token_ttl, ...client }) => {
  ttls[client.client_id] = id_token_ttl || 3600;
  return {
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    post_logout_redirect_uris: client.redirect_uris,
    ...client,
  };
});

const provider = new Provider(issuer, {
  clients,
  cookies: { keys: ['duet-test-oidc-cookie-key'] },
  scopes: ['openid', 'profile', 'email', 'groups'],
  claims: {
    openid: ['sub'],
    profile: ['name'],
    email: ['email'],
    groups: ['groups'],
  },
  conformIdTokenClaims: false,
  ttl: {
    IdToken: (ctx, token, client) => ttls[client.clientId] ?? 3600,
  },
  async findAccount(ctx, id) {
    const account = ACCOUNTS[id];
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, ...account };
      },
    };
  },
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
