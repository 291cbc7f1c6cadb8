/** One job, followed live: its stage and progress, cancel, and the result when it is ready. */

import type { PageProps } from "../app/App";
import { Link } from "../app/router";
import { useSession } from "../auth/useSession";
import { JobProgress } from "../components/JobProgress";
import { SignInPrompt } from "../components/SignInPrompt";
import { Loading } from "../components/Status";
import { useJobFollower } from "../jobs/useJobFollower";

export function JobPage({ params }: PageProps) {
  const { status } = useSession();
  const signedIn = status === "signedIn";
  const { state, follower } = useJobFollower(signedIn ? params.id : null);
  if (!signedIn) return <SignInPrompt to="follow your continuation" />;
  const job = state?.job;
  return (
    <section class="narrow-wide">
      <h1>Your continuation</h1>
      {job ? (
        <p>
          For <Link href={`/scenes/${job.scene_id}`}>this scene</Link> · sent {new Date(job.created_at).toLocaleString()}
        </p>
      ) : null}
      {state ? <JobProgress state={state} follower={follower} /> : <Loading what="the job" />}
      {job?.status === "final_ready" ? (
        <p>
          <Link class="button" href={`/scenes/${job.scene_id}`}>
            Watch it in the scene
          </Link>
        </p>
      ) : null}
      <p>
        <Link href="/me/jobs">All my jobs</Link>
      </p>
    </section>
  );
}
