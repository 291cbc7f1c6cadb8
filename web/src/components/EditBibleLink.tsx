/** "Edit the bible" beside a scene, for its owner and moderators (the API decides; this declutters). */

import { Link } from "../app/router";
import { useSession } from "../auth/useSession";

export function EditBibleLink({ sceneId, ownerId }: { sceneId: string; ownerId: string }) {
  const { me } = useSession();
  if (!me || (me.id !== ownerId && me.role !== "moderator" && me.role !== "admin")) return null;
  return (
    <Link href={`/scenes/${sceneId}/bible/edit`} class="button secondary">
      Edit the bible
    </Link>
  );
}
