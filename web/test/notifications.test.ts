import { describe, expect, it } from "vitest";
import { describeNotification } from "../src/components/notificationText";

const note = (type: string, data: Record<string, unknown>) => ({ type, data });

describe("a notification in words", () => {
  it("links a finished or continued scene to it", () => {
    expect(describeNotification(note("job.final_ready", { scene_id: "s1", job_id: "j1", sequence: 3 }))).toEqual({
      text: "Your continuation is ready: it is part 3 of the scene.",
      href: "/scenes/s1",
      link: "Watch it",
    });
    expect(describeNotification(note("scene.continued", { scene_id: "s2", sequence: 2 })).href).toBe("/scenes/s2");
  });

  it("says why a job failed and links the job", () => {
    const failed = describeNotification(note("job.failed", { job_id: "j9", error_message: "The voice did not answer." }));
    expect(failed.text).toBe("Your continuation failed: The voice did not answer.");
    expect(failed.href).toBe("/jobs/j9");
  });

  it("names the moderator's action; only a scene gets a link", () => {
    expect(describeNotification(note("moderation.action", { action: "hide", target_type: "segment", target_id: "x" }))).toEqual({
      text: "A moderator hid your segment.",
      href: undefined,
      link: "See the scene",
    });
    expect(describeNotification(note("moderation.action", { action: "remove", target_type: "scene", target_id: "s3" })).href).toBe(
      "/scenes/s3",
    );
  });

  it("tells proposals, disabled webhooks and unknown types", () => {
    expect(describeNotification(note("proposal.decided", { name: "Sea tales", status: "rejected", rejection_reason: "Too close to Ocean." })).text).toBe(
      "Your topic proposal “Sea tales” was rejected. Reason: Too close to Ocean.",
    );
    expect(describeNotification(note("webhook.disabled", { url: "https://h.example/x", reason: "Every delivery failed." }))).toEqual({
      text: "Your webhook to https://h.example/x was turned off. Every delivery failed.",
      href: "/account",
      link: "Your account",
    });
    expect(describeNotification(note("something.new", {})).text).toBe("Something happened: something.new.");
  });
});
