// The account's security page: signs in (password, then a code when asked; or a passkey), then
// manages the authenticator app and the passkeys through the API. The session's token lives in
// this tab's sessionStorage and travels only in the Authorization header: no cookie carries it,
// so no other site can make the browser act with it.
"use strict";

const API = "/api/v1";
const STORED = "app.session";
const byId = (id) => document.getElementById(id);
const passkeysWork = Boolean(
  window.PublicKeyCredential && PublicKeyCredential.parseCreationOptionsFromJSON,
);
let token = sessionStorage.getItem(STORED);
let mfaToken = null;
let retry = null; // what to do again once a reauthentication passes

class ApiError extends Error {
  constructor(status, body) {
    super(body.detail || `The server answered ${status}`);
    this.status = status;
    this.code = body.error_code;
    this.body = body;
  }
}

async function api(method, path, body) {
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  const init = { method, headers };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const answer = await fetch(API + path, init);
  const data = answer.status === 204 ? null : await answer.json();
  if (!answer.ok) throw new ApiError(answer.status, data);
  return data;
}

function say(text, problem = false) {
  const status = byId("status");
  status.textContent = text;
  status.className = problem ? "error" : "";
  status.focus();
}

// Every button and form: errors are told in words; a stale session asks for the password.
function handle(element, event, action) {
  element.addEventListener(event, async (happened) => {
    happened.preventDefault();
    try {
      await action(happened);
    } catch (error) {
      if (error.code === "REAUTH_REQUIRED") {
        retry = () => action(happened);
        byId("reauth").hidden = false;
        byId("reauth-password").focus();
        say("Confirm it is you first: type your password below.", true);
      } else if (error.name === "NotAllowedError") {
        say("The passkey was not used (cancelled, or none is on this device).", true);
      } else {
        say(error.message, true);
      }
    }
  });
}

async function signedIn(session) {
  token = session.access_token;
  sessionStorage.setItem(STORED, token);
  mfaToken = null;
  byId("password-form").reset();
  byId("code-field").hidden = true;
  await show();
}

function signedOut(message) {
  token = null;
  sessionStorage.removeItem(STORED);
  byId("who").textContent = "";
  byId("account").hidden = true;
  byId("sign-in").hidden = false;
  byId("recovery").hidden = true;
  byId("recovery-codes").replaceChildren();
  byId("totp-enrol").hidden = true;
  if (message) say(message);
}

async function show() {
  if (!token) {
    signedOut();
    return;
  }
  let factors;
  try {
    factors = await api("GET", "/auth/2fa");
  } catch (error) {
    if (error.status === 401) return signedOut("Your session has ended: sign in again.");
    throw error;
  }
  try {
    byId("who").textContent = (await api("GET", "/users/me")).email;
  } catch (error) {
    if (error.code !== "SECOND_FACTOR_REQUIRED") throw error;
    byId("who").textContent = "an account whose role needs a second factor: set one up below";
  }
  byId("sign-in").hidden = true;
  byId("account").hidden = false;
  byId("totp-state").textContent = factors.totp_enabled
    ? `On: sign-ins ask for a code. ${factors.recovery_codes_left} recovery codes left.`
    : "Off: signing in with the password needs nothing more.";
  byId("totp-start").hidden = factors.totp_enabled;
  byId("totp-off").hidden = !factors.totp_enabled;
  await listPasskeys();
}

async function listPasskeys() {
  const list = byId("passkeys");
  list.replaceChildren();
  for (const passkey of await api("GET", "/auth/passkeys")) {
    const item = document.createElement("li");
    const name = document.createElement("strong");
    name.textContent = passkey.name;
    const when = document.createElement("span");
    when.className = "quiet";
    const used = passkey.last_used_at ? new Date(passkey.last_used_at).toLocaleString() : "never";
    when.textContent = ` added ${new Date(passkey.created_at).toLocaleDateString()}, last used ${used} `;
    const rename = button(`Rename ${passkey.name}`, "Rename");
    handle(rename, "click", async () => {
      const wanted = window.prompt("New name", passkey.name);
      if (!wanted) return;
      await api("PATCH", `/auth/passkeys/${passkey.id}`, { name: wanted });
      await listPasskeys();
      say(`Renamed to ${wanted}.`);
    });
    const remove = button(`Remove ${passkey.name}`, "Remove");
    handle(remove, "click", async () => {
      await api("DELETE", `/auth/passkeys/${passkey.id}`);
      await listPasskeys();
      say(`${passkey.name} removed: it no longer signs in.`);
    });
    item.append(name, when, rename, remove);
    list.append(item);
  }
  if (!list.children.length) {
    const none = document.createElement("li");
    none.textContent = "None yet.";
    list.append(none);
  }
}

function button(label, text) {
  const made = document.createElement("button");
  made.type = "button";
  made.textContent = text;
  made.setAttribute("aria-label", label);
  return made;
}

handle(byId("password-form"), "submit", async () => {
  const email = byId("email").value;
  if (mfaToken) {
    const typed = byId("code").value.trim();
    const factor = /^[0-9]{6}$/.test(typed) ? { code: typed } : { recovery_code: typed };
    return signedIn(await api("POST", "/auth/login/mfa", { mfa_token: mfaToken, ...factor }));
  }
  try {
    await signedIn(await api("POST", "/auth/login", { email, password: byId("password").value }));
  } catch (error) {
    if (error.code !== "MFA_REQUIRED") throw error;
    mfaToken = error.body.mfa_token;
    byId("code-field").hidden = false;
    byId("code").focus();
    say("The password is right. Now the code from your authenticator app.");
  }
});

handle(byId("passkey-sign-in"), "click", async () => {
  const options = await api("POST", "/auth/passkeys/login/options");
  const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(options.public_key);
  const credential = await navigator.credentials.get({ publicKey });
  const body = { challenge_id: options.challenge_id, credential: credential.toJSON() };
  await signedIn(await api("POST", "/auth/passkeys/login/verify", body));
});

handle(byId("sign-out"), "click", async () => {
  await api("POST", "/auth/logout");
  signedOut("Signed out.");
});

handle(byId("totp-start"), "click", async () => {
  const enrolment = await api("POST", "/auth/2fa/totp");
  // The server's SVG, parsed as HTML would parse it inline (no script runs in it).
  const parsed = new DOMParser().parseFromString(enrolment.qr_svg, "text/html");
  byId("totp-qr").replaceChildren(document.importNode(parsed.body.firstElementChild, true));
  byId("totp-secret").textContent = enrolment.secret;
  byId("totp-enrol").hidden = false;
  byId("totp-code").focus();
});

handle(byId("totp-confirm"), "submit", async () => {
  const answer = await api("POST", "/auth/2fa/totp/confirm", { code: byId("totp-code").value });
  byId("totp-enrol").hidden = true;
  byId("totp-confirm").reset();
  const codes = byId("recovery-codes");
  codes.replaceChildren(
    ...answer.recovery_codes.map((code) => {
      const item = document.createElement("li");
      item.textContent = code;
      return item;
    }),
  );
  byId("recovery").hidden = false;
  await show();
  say("The authenticator app is on. Save the recovery codes below now.");
});

handle(byId("totp-off"), "click", async () => {
  await api("DELETE", "/auth/2fa/totp");
  byId("recovery").hidden = true;
  await show();
  say("The authenticator app is off, and its recovery codes with it.");
});

handle(byId("passkey-add"), "submit", async () => {
  const options = await api("POST", "/auth/passkeys/register/options");
  const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(options.public_key);
  const credential = await navigator.credentials.create({ publicKey });
  const body = {
    challenge_id: options.challenge_id,
    credential: credential.toJSON(),
    name: byId("passkey-name").value,
  };
  const passkey = await api("POST", "/auth/passkeys/register/verify", body);
  await listPasskeys();
  say(`${passkey.name} added: it signs in on its own from now on.`);
});

handle(byId("reauth"), "submit", async () => {
  await api("POST", "/auth/reauth", { password: byId("reauth-password").value });
  byId("reauth").reset();
  byId("reauth").hidden = true;
  const again = retry;
  retry = null;
  if (again) await again();
});

if (!passkeysWork) {
  byId("passkey-sign-in").hidden = true;
  byId("passkey-add").hidden = true;
}
show().catch((error) => say(error.message, true));
