/** Own: start a scene from an idea, with its bible (form for the common fields, JSON for the rest). */

import { useState } from "preact/hooks";
import { api, problemOf, unwrap } from "../api/client";
import type { Problem } from "../api/problem";
import type { PageProps } from "../app/App";
import { navigate } from "../app/router";
import { BibleForm, emptyBible, type Bible } from "../components/BibleForm";
import { FormField } from "../components/FormField";
import { Gate } from "../components/Gate";
import { ReportButton } from "../components/ReportButton";
import { Loading, ProblemMessage } from "../components/Status";
import { useLoaded } from "../components/useLoaded";

function SceneForm({ ideaId }: { ideaId: string }) {
  const idea = useLoaded(() => unwrap(api.GET("/v1/ideas/{idea_id}", { params: { path: { idea_id: ideaId } } })), [ideaId]);
  const [title, setTitle] = useState("");
  const [description, setDescription] = useState("");
  const [bible, setBible] = useState<Bible>(emptyBible);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      const scene = await unwrap(
        api.POST("/v1/ideas/{idea_id}/scenes", { params: { path: { idea_id: ideaId } }, body: { title, description, bible } }),
      );
      navigate(`/scenes/${scene.id}`);
    } catch (error) {
      setProblem(problemOf(error));
      setBusy(false);
    }
  }

  return (
    <>
      <h1>New scene</h1>
      <section aria-labelledby="idea-heading" class="context">
        {idea.problem ? (
          <ProblemMessage problem={idea.problem} />
        ) : idea.data ? (
          <>
            <h2 id="idea-heading">From the idea “{idea.data.title}”</h2>
            <blockquote>{idea.data.prompt}</blockquote>
            {idea.data.tags.length ? <p class="meta">Tags: {idea.data.tags.join(", ")}</p> : null}
            {idea.data.review_status === "pending" ? (
              <p class="meta">This idea waits for a moderator's review; only you see it for now.</p>
            ) : null}
            <ReportButton targetType="idea" targetId={idea.data.id} label={`Report the idea ${idea.data.title}`} />
          </>
        ) : (
          <Loading what="the idea" />
        )}
      </section>
      <form class="stack" onSubmit={submit} noValidate>
        <h2>The scene</h2>
        <FormField label="Scene title" name="title" value={title} set={setTitle} problem={problem} required />
        <FormField label="Description" name="description" value={description} set={setDescription} problem={problem} long required />
        <h2>Its bible</h2>
        <p class="meta">The canon every continuation must respect: who is in it, where and when, its tone, its open threads.</p>
        <BibleForm value={bible} onChange={setBible} problem={problem} prefix="/bible" />
        {problem ? <ProblemMessage problem={problem} /> : null}
        <button type="submit" disabled={busy}>
          {busy ? "Creating the scene…" : "Create scene"}
        </button>
      </form>
    </>
  );
}

export function NewScenePage({ params }: PageProps) {
  return (
    <Gate title="New scene" purpose="to start a scene">
      {() => <SceneForm ideaId={params.id} />}
    </Gate>
  );
}
