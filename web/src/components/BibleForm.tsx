/**
 * The bible as a form for its common fields (characters, setting, style guide, plot threads) and
 * a JSON editor for the whole document, kept in step. The API's 422 errors appear at the field
 * their pointer names; those no form field shows appear beside the JSON editor.
 */

import { useEffect, useState } from "preact/hooks";
import type { Problem } from "../api/problem";
import { bibleErrors, elsewhere, type Bible, type FieldError } from "../bible/pointers";
import type { Json } from "../bible/reapply";
import { fieldLabel } from "./Status";
import "../styles/manage.css";

export type { Bible };

export const THREAD_STATUSES = ["active", "resolved", "abandoned"];

/** A new scene's starting canon: every required part present, the rest for the writer to fill. */
export function emptyBible(): Bible {
  return {
    characters: [{ entityId: "char_1", canonicalName: "", description: "", isActive: true }],
    setting: { primaryLocation: "", timePeriod: "" },
    timeline: { currentPoint: "The beginning", majorEvents: [] },
    plotThreads: [],
    styleGuide: { tone: "", genre: "", visualStyle: "" },
  };
}

type Errors = FieldError[];

function at(errors: Errors, pointer: string): string[] {
  return errors.filter((e) => e.pointer === pointer).map((e) => e.message);
}

/** The design pins character ids to `char_<lowercase letters and digits>`. */
function characterId(taken: (string | undefined)[]): string {
  let n = taken.length + 1;
  while (taken.includes(`char_${n}`)) n++;
  return `char_${n}`;
}

function slug(text: string, taken: string[], fallback: string): string {
  const base = text.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 48) || fallback;
  let id = base;
  for (let n = 2; taken.includes(id); n++) id = `${base}-${n}`;
  return id;
}

interface FieldProps {
  label: string;
  pointer: string;
  value: string;
  errors: Errors;
  onInput: (value: string) => void;
  long?: boolean;
  hint?: string;
}

function Field({ label, pointer, value, errors, onInput, long, hint }: FieldProps) {
  const messages = at(errors, pointer);
  const id = `bible${pointer.replace(/\//g, "-")}`;
  const describedBy = messages.length ? `${id}-error` : hint ? `${id}-hint` : undefined;
  const common = {
    id,
    value,
    "aria-invalid": messages.length > 0,
    "aria-describedby": describedBy,
    onInput: (e: Event) => onInput((e.currentTarget as HTMLInputElement).value),
  };
  return (
    <label>
      {label}
      {long ? <textarea rows={2} {...common} /> : <input type="text" {...common} />}
      {hint && !messages.length ? <small id={`${id}-hint`}>{hint}</small> : null}
      {messages.length ? (
        <small id={`${id}-error`} class="field-error">
          {messages.join(" ")}
        </small>
      ) : null}
    </label>
  );
}

function ItemErrors({ errors, pointer }: { errors: Errors; pointer: string }) {
  const messages = at(errors, pointer);
  return messages.length ? <p class="field-error">{messages.join(" ")}</p> : null;
}

interface Props {
  value: Bible;
  onChange: (bible: Bible) => void;
  problem: Problem | null;
  /** Where the bible sits in the request body: "/bible" on create, "/data" on edit. */
  prefix: string;
}

export function BibleForm({ value, onChange, problem, prefix }: Props) {
  const errors = bibleErrors(problem, prefix);
  const others = elsewhere(errors, value);
  const [text, setText] = useState(() => JSON.stringify(value, null, 2));
  const [jsonProblem, setJsonProblem] = useState<string | null>(null);

  // The form changed the document: show it in the JSON editor (unless the editor is the source).
  useEffect(() => {
    let parsed: Json | undefined;
    try {
      parsed = JSON.parse(text) as Json;
    } catch {
      parsed = undefined;
    }
    if (JSON.stringify(parsed) !== JSON.stringify(value)) {
      setText(JSON.stringify(value, null, 2));
      setJsonProblem(null);
    }
  }, [value]);

  const set = (path: (string | number)[], v: unknown) => {
    const copy: Bible = JSON.parse(JSON.stringify(value));
    let node = copy;
    for (const key of path.slice(0, -1)) {
      if (node[key] === undefined || node[key] === null) node[key] = {};
      node = node[key];
    }
    node[path[path.length - 1]] = v;
    onChange(copy);
  };
  const characters: Bible[] = value.characters ?? [];
  const threads: Bible[] = value.plotThreads ?? [];

  function editJson(next: string) {
    setText(next);
    try {
      const parsed = JSON.parse(next);
      if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("The bible must be a JSON object ({ … }).");
      setJsonProblem(null);
      onChange(parsed as Bible);
    } catch (error) {
      setJsonProblem(error instanceof Error ? error.message : String(error));
    }
  }

  return (
    <div class="stack">
      <fieldset>
        <legend>Characters</legend>
        <ItemErrors errors={errors} pointer="/characters" />
        {characters.map((c, i) => (
          <div class="item-row" key={c.entityId ?? i} role="group" aria-label={`Character ${i + 1}`}>
            <ItemErrors errors={errors} pointer={`/characters/${i}`} />
            <Field
              label={`Character ${i + 1} name`}
              pointer={`/characters/${i}/canonicalName`}
              value={c.canonicalName ?? ""}
              errors={errors}
              onInput={(v) => set(["characters", i, "canonicalName"], v)}
            />
            <Field
              label={`Character ${i + 1} description`}
              pointer={`/characters/${i}/description`}
              value={c.description ?? ""}
              errors={errors}
              long
              onInput={(v) => set(["characters", i, "description"], v)}
            />
            <div class="row">
              <label class="check">
                <input type="checkbox" checked={c.isActive !== false} onChange={(e) => set(["characters", i, "isActive"], e.currentTarget.checked)} />
                Active in the story
              </label>
              <button
                type="button"
                class="secondary"
                onClick={() => onChange({ ...value, characters: characters.filter((_, j) => j !== i) })}
              >
                Remove character {i + 1}
              </button>
            </div>
          </div>
        ))}
        <button
          type="button"
          class="secondary"
          onClick={() => {
            const id = characterId(characters.map((c) => c.entityId));
            onChange({ ...value, characters: [...characters, { entityId: id, canonicalName: "", description: "", isActive: true }] });
          }}
        >
          Add a character
        </button>
      </fieldset>
      <fieldset>
        <legend>Setting</legend>
        <Field label="Location" pointer="/setting/primaryLocation" value={value.setting?.primaryLocation ?? ""} errors={errors} onInput={(v) => set(["setting", "primaryLocation"], v)} />
        <Field label="Time period" pointer="/setting/timePeriod" value={value.setting?.timePeriod ?? ""} errors={errors} onInput={(v) => set(["setting", "timePeriod"], v)} />
      </fieldset>
      <fieldset>
        <legend>Style guide</legend>
        <Field label="Tone" pointer="/styleGuide/tone" value={value.styleGuide?.tone ?? ""} errors={errors} onInput={(v) => set(["styleGuide", "tone"], v)} hint="e.g. melancholic, wry, tense" />
        <Field label="Genre" pointer="/styleGuide/genre" value={value.styleGuide?.genre ?? ""} errors={errors} onInput={(v) => set(["styleGuide", "genre"], v)} />
        <Field label="Visual style" pointer="/styleGuide/visualStyle" value={value.styleGuide?.visualStyle ?? ""} errors={errors} onInput={(v) => set(["styleGuide", "visualStyle"], v)} />
      </fieldset>
      <fieldset>
        <legend>Plot threads</legend>
        {threads.map((t, i) => (
          <div class="item-row" key={t.id ?? i} role="group" aria-label={`Plot thread ${i + 1}`}>
            <ItemErrors errors={errors} pointer={`/plotThreads/${i}`} />
            <Field label={`Thread ${i + 1}`} pointer={`/plotThreads/${i}/description`} value={t.description ?? ""} errors={errors} long onInput={(v) => set(["plotThreads", i, "description"], v)} />
            <div class="row">
              <label>
                Status of thread {i + 1}
                <select value={t.status ?? "active"} onChange={(e) => set(["plotThreads", i, "status"], e.currentTarget.value)}>
                  {THREAD_STATUSES.map((s) => (
                    <option key={s} value={s}>
                      {s}
                    </option>
                  ))}
                </select>
              </label>
              <button type="button" class="secondary" onClick={() => onChange({ ...value, plotThreads: threads.filter((_, j) => j !== i) })}>
                Remove thread {i + 1}
              </button>
            </div>
          </div>
        ))}
        <button
          type="button"
          class="secondary"
          onClick={() => {
            const id = slug(`thread-${threads.length + 1}`, threads.map((t) => t.id), "thread");
            onChange({ ...value, plotThreads: [...threads, { id, description: "", status: "active" }] });
          }}
        >
          Add a plot thread
        </button>
      </fieldset>
      <fieldset>
        <legend>Everything else (JSON)</legend>
        <label>
          The whole bible as JSON: timeline, world rules, places, aliases, traits, relationships…
          <textarea
            class="json-editor"
            spellcheck={false}
            value={text}
            aria-invalid={jsonProblem !== null || others.length > 0}
            aria-describedby="bible-json-errors"
            onInput={(e) => editJson(e.currentTarget.value)}
          />
        </label>
        <div id="bible-json-errors">
          {jsonProblem ? <p class="field-error">Not valid JSON yet: {jsonProblem}</p> : null}
          {others.length ? (
            <ul class="pointer-errors field-error">
              {others.map((e) => (
                <li key={e.pointer + e.message}>
                  <code>{e.pointer}</code> ({fieldLabel(e.pointer)}): {e.message}
                </li>
              ))}
            </ul>
          ) : null}
        </div>
      </fieldset>
    </div>
  );
}
