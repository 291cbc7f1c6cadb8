/** ScenePage: being built. */

export function ScenePage() {
  return <p>Coming in the next commit.</p>;
}
