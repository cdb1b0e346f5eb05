// A tenant's browser app on its own origin, calling HelloJohn Sessions with fetch() (tests/browser/test_browser_cors.py).
// Every call answers {status, body, requestId} so the test can read what the page could read.
(function () {
  let api = null;
  let accessToken = null;

  async function call(method, path, { credential, body } = {}) {
    const headers = { "X-Tenant-ID": api.tenantId };
    if (credential) headers.Authorization = `Bearer ${credential}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(api.baseUrl + path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null,
             requestId: response.headers.get("X-Request-ID"), retryAfter: response.headers.get("Retry-After") };
  }

  async function guarded(run) {
    try {
      return await run();
    } catch (error) {
      return { failed: String(error) };  // what a page sees when the browser withholds the answer
    }
  }

  window.app = {
    configure(baseUrl, tenantId, publishableKey) {
      api = { baseUrl, tenantId, publishableKey };
    },
    signIn: (email, password) => guarded(async () => {
      const answer = await call("POST", "/v1/auth/sign-in", { credential: api.publishableKey, body: { email, password } });
      if (answer.status === 200) {
        accessToken = answer.body.session.access_token;
        document.getElementById("status").textContent = `Signed in as ${answer.body.user.email}`;
      }
      return answer;
    }),
    me: () => guarded(() => call("GET", "/v1/auth/me", { credential: accessToken })),
    sessions: () => guarded(async () => {
      const answer = await call("GET", "/v1/sessions", { credential: accessToken });
      if (answer.status === 200) {
        const list = document.getElementById("sessions");
        list.replaceChildren(...answer.body.data.map((session) => {
          const item = document.createElement("li");
          item.textContent = `${session.id} ${session.current ? "(this device)" : ""}`;
          return item;
        }));
      }
      return answer;
    }),
    revoke: (sessionId) => guarded(() => call("DELETE", `/v1/sessions/${sessionId}`, { credential: accessToken })),
    signOut: () => guarded(() => call("POST", "/v1/auth/sign-out", { credential: accessToken, body: {} })),
    // A secret key has no business in a browser; the service never lets a page read such a call.
    withSecretKey: (secretKey, method, path, body) => guarded(() => call(method, path, { credential: secretKey, body })),
  };
})();
