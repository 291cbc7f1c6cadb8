/** A contributor's public page: who they are, their scenes and what they wrote lately. */

import { api, unwrap } from "../api/client";
import type { PageProps } from "../app/App";
import { Link } from "../app/router";
import { formatDuration, plural, timeAgo } from "../components/format";
import { SceneCard } from "../components/SceneCard";
import { Empty, Loading, ProblemMessage } from "../components/Status";
import { useLoaded } from "../components/useLoaded";

export function ProfilePage({ params }: PageProps) {
  const username = params.username;
  const path = { params: { path: { username } } };
  // Profile, scenes and segments together: none waits for another.
  const profile = useLoaded(() => unwrap(api.GET("/v1/users/{username}", path)), [username]);
  const scenes = useLoaded(
    () => unwrap(api.GET("/v1/users/{username}/scenes", { params: { path: { username }, query: { limit: 12 } } })),
    [username],
  );
  const segments = useLoaded(
    () => unwrap(api.GET("/v1/users/{username}/segments", { params: { path: { username }, query: { limit: 10 } } })),
    [username],
  );
  if (profile.problem) return <ProblemMessage problem={profile.problem} />;
  const p = profile.data;
  return (
    <section>
      {p ? (
        <div class="profile-head">
          {p.avatar_url ? <img class="avatar" src={p.avatar_url} alt="" width={64} height={64} /> : null}
          <div>
            <h1>{p.display_name || p.username}</h1>
            <p class="meta">
              @{p.username} · {plural(p.scene_count, "scene")} · {plural(p.segment_count, "segment")} ·{" "}
              {plural(p.idea_count, "idea")}
            </p>
            {p.bio ? <p>{p.bio}</p> : null}
          </div>
        </div>
      ) : (
        <Loading what="the profile" />
      )}
      <h2>Scenes</h2>
      {scenes.problem ? (
        <ProblemMessage problem={scenes.problem} />
      ) : !scenes.data ? (
        <Loading what="scenes" />
      ) : scenes.data.items.length === 0 ? (
        <Empty>No scenes started yet.</Empty>
      ) : (
        <ul class="cards">
          {scenes.data.items.map((s) => (
            <SceneCard key={s.id} scene={s} />
          ))}
        </ul>
      )}
      <h2>Lately written</h2>
      {segments.problem ? (
        <ProblemMessage problem={segments.problem} />
      ) : !segments.data ? (
        <Loading what="segments" />
      ) : segments.data.items.length === 0 ? (
        <Empty>No segments written yet.</Empty>
      ) : (
        <ul class="hits">
          {segments.data.items.map((s) => (
            <li key={s.id} class="hit">
              <Link href={`/scenes/${s.scene_id}`}>Part {s.sequence}</Link>
              <span class="meta">
                {" "}
                · {timeAgo(s.created_at)} · {formatDuration(s.duration)}
              </span>
              <p class="snippet">{s.text}</p>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
