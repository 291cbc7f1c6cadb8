/** MyJobsPage: being built. */

export function MyJobsPage() {
  return <p>Coming in the next commit.</p>;
}
