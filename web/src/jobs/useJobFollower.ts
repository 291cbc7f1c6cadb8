/** A page's handle on a JobFollower: its state as component state, stopped on unmount. */

import { useEffect, useRef, useState } from "preact/hooks";
import { followJob, type Job } from "./follow";
import type { FollowState, JobFollower } from "./jobFollower";

export function useJobFollower(
  jobId: string | null,
  initial: Job | null = null,
): { state: FollowState<Job> | null; follower: JobFollower<Job> | null } {
  const [state, setState] = useState<FollowState<Job> | null>(null);
  const follower = useRef<JobFollower<Job> | null>(null);
  useEffect(() => {
    if (!jobId) {
      setState(null);
      return;
    }
    const f = followJob(jobId, initial);
    follower.current = f;
    const off = f.subscribe(setState);
    void f.run();
    return () => {
      off();
      f.stop();
    };
  }, [jobId]);
  return { state, follower: follower.current };
}
