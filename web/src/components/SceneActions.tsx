/** Like and download, beside a scene's title. */

import { useState } from "preact/hooks";
import { api, problemOf, unwrap } from "../api/client";
import type { Problem } from "../api/problem";
import { useSession } from "../auth/useSession";
import { ProblemMessage } from "./Status";

export function LikeButton({ sceneId, count }: { sceneId: string; count: number }) {
  const { status } = useSession();
  const [state, setState] = useState<{ liked: boolean | null; count: number }>({ liked: null, count });
  const [problem, setProblem] = useState<Problem | null>(null);
  if (status !== "signedIn") return <span class="meta">{state.count} likes</span>;
  async function toggle() {
    setProblem(null);
    const path = { params: { path: { scene_id: sceneId } } };
    try {
      const answer = await unwrap(state.liked ? api.DELETE("/v1/scenes/{scene_id}/like", path) : api.PUT("/v1/scenes/{scene_id}/like", path));
      setState({ liked: answer.liked, count: answer.like_count });
    } catch (error) {
      setProblem(problemOf(error));
    }
  }
  return (
    <>
      <button type="button" class="secondary" aria-pressed={state.liked === true} onClick={toggle}>
        {state.liked ? "♥ Liked" : "♡ Like"} · {state.count}
      </button>
      {problem ? <ProblemMessage problem={problem} /> : null}
    </>
  );
}

/** The scene as one MP4: 202 + Retry-After while it is being made, a 404 where the server has no export. */
export function DownloadButton({ url }: { url: string }) {
  const [note, setNote] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function download(attempt = 0): Promise<void> {
    setBusy(true);
    const abort = new AbortController();
    try {
      const response = await fetch(url, { signal: abort.signal, redirect: "follow" });
      abort.abort(); // only the status matters here; the browser downloads it below
      if (response.status === 202) {
        const wait = Math.min(30, Number(response.headers.get("Retry-After")) || 3);
        setNote(`Preparing the video file… trying again in ${wait} s.`);
        if (attempt < 20) {
          setTimeout(() => void download(attempt + 1), wait * 1000);
          return;
        }
        setNote("The video file is taking long to prepare; try again later.");
      } else if (response.ok) {
        setNote(null);
        location.assign(url);
      } else if (response.status === 404) {
        setNote("Downloading isn't available for this scene yet.");
      } else {
        setNote(`The download failed (${response.status}).`);
      }
    } catch (error) {
      setNote(problemOf(error).detail ?? "The download failed.");
    }
    setBusy(false);
  }

  return (
    <>
      <button type="button" class="secondary" disabled={busy} onClick={() => void download()}>
        Download MP4
      </button>
      {note ? (
        <span class="meta" role="status">
          {note}
        </span>
      ) : null}
    </>
  );
}
