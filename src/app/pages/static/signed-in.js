// Finishes a provider sign-in: the single-use login code arrives in the URL's fragment (which
// no server and no log sees), is taken out of the address bar, and exchanged for a session.
"use strict";

async function finish(code) {
  const status = document.getElementById("status");
  const exchanged = await fetch("/api/v1/auth/oauth/exchange", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ login_code: code }),
  });
  const session = await exchanged.json();
  if (!exchanged.ok) {
    status.textContent = `The sign-in did not finish: ${session.detail}.`;
    status.className = "error";
    status.focus();
    return;
  }
  const answer = await fetch("/api/v1/users/me", {
    headers: { Authorization: `Bearer ${session.access_token}` },
  });
  const me = await answer.json();
  document.querySelector("h1").textContent = "Signed in";
  document.title = document.title.replace("Signing in", "Signed in");
  status.textContent = `You are signed in as ${me.email}.`;
  document.getElementById("token").value = session.access_token;
  sessionStorage.setItem("app.session", session.access_token); // for the security page
  document.getElementById("expires").textContent = new Date(session.expires_at).toLocaleString();
  document.getElementById("session").hidden = false;
  status.focus();
}

const code = new URLSearchParams(window.location.hash.slice(1)).get("login_code");
if (code) {
  window.history.replaceState(null, "", window.location.pathname + window.location.search);
  finish(code);
} else if (document.getElementById("status")) {
  document.getElementById("status").textContent = "There is no sign-in to finish here.";
}
