/** The signed-in person's profile, email verification, data download, deletion and signing out. */

import { useEffect, useState } from "preact/hooks";
import { api, problemOf, tokens, unwrap } from "../api/client";
import { fieldErrors, type Problem } from "../api/problem";
import { navigate } from "../app/router";
import { loadMe, useSession } from "../auth/useSession";
import { DeleteAccount, DownloadMyData, VerifyEmail } from "../components/AccountData";
import { Webhooks } from "../components/Webhooks";
import { SignInPrompt } from "../components/SignInPrompt";
import { Loading, ProblemMessage } from "../components/Status";

function errorsAt(problem: Problem | null, field: string): string {
  return fieldErrors(problem, `/${field}`).concat(fieldErrors(problem, `/body/${field}`)).join(" ");
}

export function AccountPage() {
  const { status, me } = useSession();
  const [form, setForm] = useState({ display_name: "", bio: "", avatar_url: "" });
  const [problem, setProblem] = useState<Problem | null>(null);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (me) setForm({ display_name: me.display_name ?? "", bio: me.bio ?? "", avatar_url: me.avatar_url ?? "" });
  }, [me?.id]);

  if (status !== "signedIn") return <SignInPrompt to="see your account" />;
  if (!me) return <Loading what="your account" />;

  async function save(event: Event) {
    event.preventDefault();
    setBusy(true);
    setProblem(null);
    setSaved(false);
    try {
      await unwrap(
        api.PATCH("/v1/users/me", {
          body: {
            display_name: form.display_name.trim() || null,
            bio: form.bio.trim() || null,
            avatar_url: form.avatar_url.trim() || null,
          },
        }),
      );
      await loadMe();
      setSaved(true);
    } catch (error) {
      setProblem(problemOf(error));
    } finally {
      setBusy(false);
    }
  }

  async function signOut() {
    const refresh = tokens.refreshToken;
    // Signing out always works locally; telling the server ends the refresh token's family.
    if (refresh) await api.POST("/v1/auth/logout", { body: { refresh_token: refresh } }).catch(() => undefined);
    tokens.signOut();
    navigate("/", true);
  }

  const field = (name: keyof typeof form, label: string, input: "input" | "textarea" = "input", type = "text") => {
    const error = errorsAt(problem, name);
    const props = {
      name,
      value: form[name],
      "aria-invalid": error ? true : undefined,
      "aria-describedby": error ? `${name}-error` : undefined,
      onInput: (e: Event) => setForm({ ...form, [name]: (e.currentTarget as HTMLInputElement).value }),
    };
    return (
      <label>
        {label}
        {input === "textarea" ? <textarea rows={4} {...props} /> : <input type={type} {...props} />}
        {error ? (
          <small id={`${name}-error`} class="field-error">
            {error}
          </small>
        ) : null}
      </label>
    );
  };

  return (
    <section class="narrow">
      <h1>Your account</h1>
      <p>
        Signed in as <strong>@{me.username}</strong> ({me.email}) · role: {me.role}
      </p>
      <VerifyEmail me={me} />
      <form class="stack" onSubmit={save} noValidate>
        {field("display_name", "Display name")}
        {field("bio", "About you", "textarea")}
        {field("avatar_url", "Avatar image URL", "input", "url")}
        {problem ? <ProblemMessage problem={problem} /> : null}
        {saved ? (
          <p role="status" class="ok">
            Saved.
          </p>
        ) : null}
        <button type="submit" disabled={busy}>
          {busy ? "Saving…" : "Save profile"}
        </button>
      </form>
      <h2>Your data</h2>
      <DownloadMyData />
      <h2>Webhooks</h2>
      <Webhooks />
      <h2>Sign out</h2>
      <p>Ends this session on this device.</p>
      <button type="button" class="secondary" onClick={() => void signOut()}>
        Sign out
      </button>
      <h2>Delete the account</h2>
      <DeleteAccount username={me.username} />
    </section>
  );
}
