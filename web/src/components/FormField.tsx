/** A labelled input or textarea with its API field errors under it (pointer `/name` or `/body/name`). */

import { fieldErrors, type Problem } from "../api/problem";

interface Props {
  label: string;
  name: string;
  value: string;
  set: (value: string) => void;
  problem: Problem | null;
  long?: boolean;
  hint?: string;
  required?: boolean;
}

export function FormField({ label, name, value, set, problem, long, hint, required }: Props) {
  const errors = fieldErrors(problem, `/${name}`).concat(fieldErrors(problem, `/body/${name}`));
  const describedBy = errors.length ? `${name}-error` : hint ? `${name}-hint` : undefined;
  const common = {
    id: name,
    name,
    value,
    required,
    "aria-invalid": errors.length > 0,
    "aria-describedby": describedBy,
    onInput: (e: Event) => set((e.currentTarget as HTMLInputElement).value),
  };
  return (
    <label>
      {label}
      {long ? <textarea rows={5} {...common} /> : <input type="text" {...common} />}
      {hint && !errors.length ? <small id={`${name}-hint`}>{hint}</small> : null}
      {errors.length ? (
        <small id={`${name}-error`} class="field-error">
          {errors.join(" ")}
        </small>
      ) : null}
    </label>
  );
}
