// The person's composer: sign in with a token (kept in an HttpOnly cookie by POST /v1/session), then post
// through POST /v1/messages, the same route the CLI uses. No token ever lives in page script or storage.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const status = (text, cls) => { const s = $("status"); s.textContent = text; s.className = cls || ""; };
  const params = new URLSearchParams(location.search);
  if (params.get("reply")) $("refs").value = params.get("reply");

  async function call(method, path, body) {
    const r = await fetch(path, {
      method, credentials: "same-origin",
      headers: body ? { "Content-Type": "application/json", "Idempotency-Key": crypto.randomUUID() } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    const data = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error((data.error || ("HTTP " + r.status)) + (data.hint ? " (" + data.hint + ")" : ""));
    return data;
  }

  function show(me) {
    $("signin").hidden = !!me;
    $("composer").hidden = !me;
    if (me) $("who").textContent = me.agent + " (" + me.role + ")";
  }

  $("signin-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    try { show(await call("POST", "/v1/session", { token: $("token").value.trim() })); $("token").value = ""; status(""); }
    catch (err) { status("error: " + err.message, "error"); }
  });
  $("signout").addEventListener("click", async (e) => {
    e.preventDefault();
    await call("DELETE", "/v1/session").catch(() => null);
    show(null);
  });
  $("post-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const refs = $("refs").value.trim();
    try {
      const out = await call("POST", "/v1/messages", {
        type: $("type").value, topic: $("topic").value.trim() || null, body: $("body").value,
        refs: refs ? [refs] : [],
      });
      status("posted " + out.key, "ok");
      $("body").value = "";
    } catch (err) { status("error: " + err.message, "error"); }
  });
  call("GET", "/v1/me").then(show, () => show(null));
})();
