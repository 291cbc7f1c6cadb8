/** "Report": flag an idea, scene or segment for the moderators, with a reason and a note. */

import { useState } from "preact/hooks";
import { api, problemOf, unwrap, type Schemas } from "../api/client";
import type { Problem } from "../api/problem";
import { useSession } from "../auth/useSession";
import { ProblemMessage } from "./Status";
import "../styles/manage.css";

type FlagIn = Schemas["FlagIn"];

export const REASONS: [FlagIn["reason"], string][] = [
  ["spam", "Spam or advertising"],
  ["harassment", "Harassment or bullying"],
  ["hate", "Hate speech"],
  ["violence", "Violence or threats"],
  ["sexual", "Sexual content"],
  ["self_harm", "Self-harm"],
  ["copyright", "Copyright infringement"],
  ["misinformation", "Misinformation"],
  ["off_topic", "Off topic"],
  ["other", "Something else"],
];

interface Props {
  targetType: "idea" | "scene" | "segment";
  targetId: string;
  /** Names the target for screen readers: "Report part 2". */
  label: string;
}

export function ReportButton({ targetType, targetId, label }: Props) {
  const { status } = useSession();
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState<FlagIn["reason"]>("spam");
  const [description, setDescription] = useState("");
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(false);
  if (status !== "signedIn") return null;
  if (done) {
    return (
      <p class="report-done" role="status">
        Thanks: your report was sent to the moderators.
      </p>
    );
  }
  const formId = `report-${targetId}`;

  async function send(event: Event) {
    event.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      const body: FlagIn = { target_type: targetType, target_id: targetId, reason };
      if (description.trim()) body.description = description.trim();
      await unwrap(api.POST("/v1/flags", { body }));
      setDone(true);
    } catch (error) {
      const p = problemOf(error);
      // One open report per person and target: say so instead of an error.
      if (p.status === 409) setDone(true);
      else setProblem(p);
    }
    setBusy(false);
  }

  return (
    <div class="report">
      <button type="button" class="secondary" aria-expanded={open} aria-controls={formId} aria-label={label} onClick={() => setOpen(!open)}>
        ⚑ Report
      </button>
      {open ? (
        <form id={formId} class="stack" onSubmit={send} aria-label={label}>
          <label>
            Reason
            <select value={reason} onChange={(e) => setReason(e.currentTarget.value as FlagIn["reason"])}>
              {REASONS.map(([value, words]) => (
                <option key={value} value={value}>
                  {words}
                </option>
              ))}
            </select>
          </label>
          <label>
            What is wrong (optional)
            <textarea rows={3} maxLength={2000} value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
          </label>
          {problem ? <ProblemMessage problem={problem} /> : null}
          <div class="row">
            <button type="submit" disabled={busy}>
              {busy ? "Sending…" : "Send report"}
            </button>
            <button type="button" class="secondary" onClick={() => setOpen(false)}>
              Cancel
            </button>
          </div>
        </form>
      ) : null}
    </div>
  );
}
