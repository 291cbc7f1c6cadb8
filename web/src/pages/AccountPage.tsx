/** AccountPage: being built. */

export function AccountPage() {
  return <p>Coming in the next commit.</p>;
}
