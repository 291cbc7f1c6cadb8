/** One scene in a list: cover (or a drawn placeholder), title, contributors, duration. */

import { useState } from "preact/hooks";
import type { Schemas } from "../api/client";
import { Link } from "../app/router";
import { formatDuration, plural } from "./format";

type Scene = Schemas["SceneOut"];

/** A stable hue per scene, so placeholders tell scenes apart. */
function hue(id: string): number {
  let h = 0;
  for (const c of id) h = (h * 31 + c.charCodeAt(0)) % 360;
  return h;
}

export function SceneCard({ scene }: { scene: Scene }) {
  // A cover that fails to load (a missing file, a lost connection) gives way to the placeholder.
  const [broken, setBroken] = useState(false);
  const image = broken ? null : (scene.cover_url ?? null);
  return (
    <li class="card">
      <Link href={`/scenes/${scene.id}`} class="card-link">
        {image ? (
          <img class="cover" src={image} alt="" loading="lazy" width={320} height={180} onError={() => setBroken(true)} />
        ) : (
          <div class="cover placeholder" aria-hidden="true" style={{ "--hue": hue(scene.id) }}>
            {scene.title.slice(0, 1).toUpperCase()}
          </div>
        )}
        <span class="card-title">{scene.title}</span>
      </Link>
      <p class="meta">
        {plural(scene.contributor_count, "contributor")} · {plural(scene.segment_count, "segment")} ·{" "}
        {formatDuration(scene.total_duration)}
      </p>
    </li>
  );
}
