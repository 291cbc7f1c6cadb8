/** The layout (header, navigation, session banner) and the route table. */

import type { ComponentType } from "preact";
import { lazy, Suspense } from "preact/compat";
import { useEffect, useRef } from "preact/hooks";
import { Link, matchPath, useLocation, type Params } from "./router";
import { useSession } from "../auth/useSession";
import { Loading } from "../components/Status";
import { HomePage } from "../pages/HomePage";
import { LoginPage } from "../pages/LoginPage";
import { RegisterPage } from "../pages/RegisterPage";
import { ScenePage } from "../pages/ScenePage";
import { NotFoundPage } from "../pages/NotFoundPage";
import { NotificationBell } from "../components/NotificationBell";

// The scene page is in the main bundle: its API calls then start with the app's own, not after
// a chunk round trip (the benchmark counts that as a waterfall). Rarer pages load as chunks.
const JobPage = lazy(() => import("../pages/JobPage").then((m) => m.JobPage));
const MyJobsPage = lazy(() => import("../pages/MyJobsPage").then((m) => m.MyJobsPage));
const SearchPage = lazy(() => import("../pages/SearchPage").then((m) => m.SearchPage));
const ProfilePage = lazy(() => import("../pages/ProfilePage").then((m) => m.ProfilePage));
const AccountPage = lazy(() => import("../pages/AccountPage").then((m) => m.AccountPage));
const NewIdeaPage = lazy(() => import("../pages/NewIdeaPage").then((m) => m.NewIdeaPage));
const IdeaPage = lazy(() => import("../pages/IdeaPage").then((m) => m.IdeaPage));
const NewScenePage = lazy(() => import("../pages/NewScenePage").then((m) => m.NewScenePage));
const BibleEditPage = lazy(() => import("../pages/BibleEditPage").then((m) => m.BibleEditPage));
const ModeratePage = lazy(() => import("../pages/ModeratePage").then((m) => m.ModeratePage));
const NotificationsPage = lazy(() => import("../pages/NotificationsPage").then((m) => m.NotificationsPage));
const VerifyEmailPage = lazy(() => import("../pages/VerifyEmailPage").then((m) => m.VerifyEmailPage));
const ForgotPasswordPage = lazy(() => import("../pages/ForgotPasswordPage").then((m) => m.ForgotPasswordPage));
const ResetPasswordPage = lazy(() => import("../pages/ResetPasswordPage").then((m) => m.ResetPasswordPage));
const LoginCallbackPage = lazy(() => import("../pages/LoginCallbackPage").then((m) => m.LoginCallbackPage));
const AdminPage = lazy(() => import("../pages/AdminPage").then((m) => m.AdminPage));

export interface PageProps {
  params: Params;
  query: URLSearchParams;
}

/** Pattern -> page, first match wins. Add a page here (see web/NOTES.md). */
export const ROUTES: [string, ComponentType<PageProps>, string][] = [
  ["/", HomePage, "Discover"],
  ["/login", LoginPage, "Sign in"],
  ["/login/callback", LoginCallbackPage, "Signing in"],
  ["/forgot-password", ForgotPasswordPage, "Reset your password"],
  ["/reset-password", ResetPasswordPage, "Choose a new password"],
  ["/verify-email", VerifyEmailPage, "Verify your email"],
  ["/notifications", NotificationsPage, "Notifications"],
  ["/register", RegisterPage, "Create an account"],
  ["/account", AccountPage, "Your account"],
  ["/me/jobs", MyJobsPage, "My jobs"],
  ["/search", SearchPage, "Search"],
  ["/users/:username", ProfilePage, "Profile"],
  ["/scenes/:id", ScenePage, "Scene"],
  ["/jobs/:id", JobPage, "Job"],
  ["/ideas/new", NewIdeaPage, "New idea"],
  ["/ideas/:id/scenes/new", NewScenePage, "New scene"],
  ["/ideas/:id", IdeaPage, "Idea"],
  ["/scenes/:id/bible/edit", BibleEditPage, "Edit the bible"],
  ["/moderate", ModeratePage, "Moderation"],
  ["/admin", AdminPage, "Partitions"],
];

function resolve(path: string): [ComponentType<PageProps>, Params, string] {
  for (const [pattern, page, title] of ROUTES) {
    const params = matchPath(pattern, path);
    if (params) return [page, params, title];
  }
  return [NotFoundPage, {}, "Not found"];
}

function SessionBanner() {
  const { status } = useSession();
  if (status !== "expired") return null;
  return (
    <div class="banner" role="alert">
      Your session has ended. <Link href={`/login?next=${encodeURIComponent(location.pathname)}`}>Sign in again</Link>{" "}
      to keep writing.
    </div>
  );
}

function Header() {
  const { status, me } = useSession();
  return (
    <header class="site-header">
      <Link href="/" class="brand">
        Storyloom
      </Link>
      <nav aria-label="Main">
        <Link href="/">Discover</Link>
        {status === "signedIn" ? (
          <>
            <Link href="/ideas/new">New idea</Link>
            <Link href="/me/jobs">My jobs</Link>
            {me && (me.role === "moderator" || me.role === "admin") ? <Link href="/moderate">Moderate</Link> : null}
            {me?.role === "admin" ? <Link href="/admin">Admin</Link> : null}
            <NotificationBell />
            <Link href="/account">{me ? me.display_name || me.username : "Account"}</Link>
          </>
        ) : (
          <>
            <Link href="/login">Sign in</Link>
            <Link href="/register">Register</Link>
          </>
        )}
      </nav>
    </header>
  );
}

export function App() {
  const { path, query } = useLocation();
  const [Page, params, title] = resolve(path);
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);
  useEffect(() => {
    document.title = `${title} · Storyloom`;
    // After an in-app navigation, move focus to the new page so screen readers announce it.
    if (first.current) first.current = false;
    else main.current?.focus();
  }, [path]);
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <Header />
      <SessionBanner />
      <main id="main" ref={main} tabIndex={-1}>
        <Suspense fallback={<Loading what="the page" />}>
          <Page key={path} params={params} query={query} />
        </Suspense>
      </main>
    </>
  );
}
