/** JobPage: being built. */

export function JobPage() {
  return <p>Coming in the next commit.</p>;
}
