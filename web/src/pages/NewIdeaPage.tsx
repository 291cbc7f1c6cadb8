/** Own: write an idea (topic and category from the API, title, prompt, tags), then start its scene. */

import { useState } from "preact/hooks";
import { api, problemOf, unwrap } from "../api/client";
import { fieldErrors, type Problem } from "../api/problem";
import { allTopics } from "../api/topics";
import { navigate } from "../app/router";
import { FormField } from "../components/FormField";
import { Gate } from "../components/Gate";
import { Loading, ProblemMessage } from "../components/Status";
import { useLoaded } from "../components/useLoaded";

/** "Mystery, sea , fog" -> ["mystery", "sea", "fog"]. */
export function parseTags(text: string): string[] {
  return text
    .split(",")
    .map((t) => t.trim())
    .filter(Boolean);
}

function IdeaForm() {
  const topics = useLoaded(allTopics);
  const [topicSlug, setTopicSlug] = useState("");
  const topic = useLoaded(
    () =>
      topicSlug
        ? unwrap(api.GET("/v1/topics/{topic}", { params: { path: { topic: topicSlug } } }))
        : Promise.resolve(null),
    [topicSlug],
  );
  const [categoryId, setCategoryId] = useState("");
  const [title, setTitle] = useState("");
  const [prompt, setPrompt] = useState("");
  const [tags, setTags] = useState("");
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);

  const chosen = topics.data?.find((t) => t.slug === topicSlug) ?? null;
  const topicErrors = fieldErrors(problem, "/topic_id").concat(fieldErrors(problem, "/body/topic_id"));

  async function submit(event: Event) {
    event.preventDefault();
    setProblem(null);
    if (!chosen) {
      setProblem({ title: "Please check what you entered", status: 422, errors: [{ pointer: "/topic_id", message: "Choose a topic." }] });
      return;
    }
    setBusy(true);
    try {
      const idea = await unwrap(
        api.POST("/v1/ideas", {
          body: { topic_id: chosen.id, category_id: categoryId || null, title, prompt, tags: parseTags(tags) },
        }),
      );
      navigate(`/ideas/${idea.id}/scenes/new`);
    } catch (error) {
      setProblem(problemOf(error));
      setBusy(false);
    }
  }

  if (topics.problem) return <ProblemMessage problem={topics.problem} />;
  if (!topics.data) return <Loading what="the topics" />;
  return (
    <form class="stack" onSubmit={submit} noValidate>
      <label>
        Topic
        <select
          id="topic_id"
          value={topicSlug}
          required
          aria-invalid={topicErrors.length > 0}
          aria-describedby={topicErrors.length ? "topic_id-error" : undefined}
          onChange={(e) => {
            setTopicSlug(e.currentTarget.value);
            setCategoryId("");
          }}
        >
          <option value="">Choose a topic…</option>
          {topics.data.map((t) => (
            <option key={t.id} value={t.slug}>
              {t.name}
            </option>
          ))}
        </select>
        {topicErrors.length ? (
          <small id="topic_id-error" class="field-error">
            {topicErrors.join(" ")}
          </small>
        ) : null}
      </label>
      {topicSlug ? (
        topic.problem ? (
          <ProblemMessage problem={topic.problem} />
        ) : topic.data && topic.data.categories.length ? (
          <label>
            Category (optional)
            <select id="category_id" value={categoryId} onChange={(e) => setCategoryId(e.currentTarget.value)}>
              <option value="">No category</option>
              {topic.data.categories.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name}
                </option>
              ))}
            </select>
          </label>
        ) : topic.data ? null : (
          <Loading what="the categories" />
        )
      ) : null}
      <FormField label="Title" name="title" value={title} set={setTitle} problem={problem} required />
      <FormField label="Prompt" name="prompt" value={prompt} set={setPrompt} problem={problem} long required hint="What the story is about: its premise, its people, its question." />
      <FormField label="Tags" name="tags" value={tags} set={setTags} problem={problem} hint="Separated by commas, e.g. mystery, sea, fog." />
      {problem ? <ProblemMessage problem={problem} /> : null}
      <button type="submit" disabled={busy}>
        {busy ? "Creating the idea…" : "Create idea"}
      </button>
    </form>
  );
}

export function NewIdeaPage() {
  return (
    <Gate title="New idea" purpose="to write an idea">
      {() => (
        <section class="narrow">
          <h1>New idea</h1>
          <p class="meta">An idea is the seed of scenes: others can start scenes from it too.</p>
          <IdeaForm />
        </section>
      )}
    </Gate>
  );
}
